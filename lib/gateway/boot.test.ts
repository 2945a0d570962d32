import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { bootApp } from './boot';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe('bootApp', () => {
  it('takes the parsed config as it is, changing nothing in it', async () => {
    const raw = {
      apps: [{ appid: 'wx1111111111111111', secret: 's' }],
      store: 'memory:',
      realms: [{ key: 'r', secret: 'a-realm-secret-0123', interfaces: ['qcloud.mimi.access_token'] }],
    };
    const config = deepFreeze(parseConfig(raw, {}));
    const before = structuredClone(config);
    const app = await bootApp(config, { store: createMemoryStore(), log: silentLogger });
    await app.close();
    expect(config).toEqual(before);
    expect(config.realms[0]?.interfaces).toEqual(['access_token']);
  });
});
