/**
 * The Tencent SCF bundle's entry (index.js): `main_handler` for API-gateway, Function-URL and timer
 * events, and `serve()`, which scf_bootstrap runs in web-function mode on 0.0.0.0:9000 (PORT
 * overrides). docs/design.md §4.
 */
import { ConfigError } from '../lib/config/errors';
import { createNodeServer, listen } from '../lib/platform/node-http';
import { getApp } from './cold-start';

export { main_handler } from './gateway';

/**
 * Bodies are read up to the largest `maxBodyBytes` the config schema allows; the app itself
 * refuses anything above the configured limit with the same 413.
 */
const READ_LIMIT_BYTES = 10 * 1024 * 1024;

/**
 * Boots the app before listening, so a bad configuration fails the instance at start (one line
 * on stderr, exit 1) instead of failing every request.
 */
export async function serve(): Promise<void> {
  try {
    const app = await getApp();
    const server = createNodeServer(app, { maxBodyBytes: READ_LIMIT_BYTES });
    // SCF forwards to port 9000 from outside the instance: loopback would not be reached.
    const url = await listen(server, Number(process.env.PORT || 9000), '0.0.0.0');
    process.stderr.write(
      `wecred listening on ${url} (all interfaces, 0.0.0.0:${new URL(url).port}: SCF web function)\n`,
    );
    process.once('SIGTERM', () => {
      server.close();
      server.closeAllConnections();
      void app.close().finally(() => process.exit(0));
    });
  } catch (err) {
    process.stderr.write(
      `${err instanceof ConfigError ? err.message : `wecred failed to start: ${(err as Error).message}`}\n`,
    );
    process.exit(1);
  }
}
