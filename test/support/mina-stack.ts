/**
 * A stack with a Mini Program and a master key (sessions need one): test/session-decrypt.test.ts,
 * test/login-limit.test.ts. docs/design.md §9, §11.1.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../../lib/store/port';
import type { WechatSim } from '../../sim';
import { MP, startStack, type Stack } from './stack';

export const MINA = { appid: 'wx5555555555555555', secret: 'mina-secret-5555' };
const ENV = { WECRED_MASTER_KEY: randomBytes(32).toString('base64') };

/** MP (default) and MINA, one master key for every stack of the test file; `shared` as in startStack. */
export function startMinaStack(
  config: Record<string, unknown> = {},
  shared: { store?: Store; sim?: WechatSim } = {},
): Promise<Stack> {
  return startStack({
    ...shared,
    env: ENV,
    config: {
      apps: [
        { ...MP, type: 'mp', default: true },
        { ...MINA, type: 'mina' },
      ],
      ...config,
    },
  });
}
