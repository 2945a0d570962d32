/**
 * The timer function: SCF timer triggers and EventBridge schedules refresh every credential
 * inside its window. The one serverless handler tells timer events from HTTP ones, so this
 * function deploys the gateway's handler under its own name. docs/design.md §4, §5.9.
 */
export { handler, main_handler } from './gateway';
