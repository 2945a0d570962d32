/**
 * dynalite, an in-process DynamoDB-compatible server, for the DynamoDB store tests (docs/design.md §9). It checks no
 * signature, but the SDK will not send unsigned requests: fake AWS credentials and region are set here when unset
 * (`env` hands them to child processes; real ones only sign requests to 127.0.0.1). The SDK's NodeVersionSupportWarning
 * (it warns below Node 22) is switched off, in tests only.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { migrateDynamo } from '../../lib/store/dynamodb-migrate';
import type { TestStore } from './services';

// dynalite is CommonJS without type declarations.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

const ENV = {
  AWS_ACCESS_KEY_ID: 'dynalite',
  AWS_SECRET_ACCESS_KEY: 'dynalite',
  AWS_REGION: 'local',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export async function startDynalite(): Promise<TestStore> {
  for (const [name, value] of Object.entries(ENV)) process.env[name] ??= value;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `dynamodb://wecred-test-${randomUUID().slice(0, 8)}?region=local&endpoint=http://127.0.0.1:${port}`;
  try {
    await migrateDynamo(url);
  } catch (err) {
    server.close();
    throw err;
  }
  return {
    url,
    env: { ...ENV },
    // The table lives in dynalite's memory: closing the server drops it.
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
