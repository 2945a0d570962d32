/**
 * dynalite (an in-process, in-memory DynamoDB-compatible server) for the DynamoDB store tests.
 *
 * Credentials: dynalite does not check signatures, but the SDK will not send unsigned
 * requests, so this sets fake AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION in this
 * process when they are unset (real ones, when set, are left alone and only sign requests to
 * 127.0.0.1); `env` hands the fake ones to child processes. It also switches off the SDK's
 * NodeVersionSupportWarning (the SDK warns on every Node below 22), in tests only.
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
