/**
 * Test access to Redis (REDIS_URL, default redis://127.0.0.1:6379): each call hands out the
 * server under a key prefix of its own, and close() deletes every key under it. docs/design.md §9.
 */
import { randomUUID } from 'node:crypto';
import { connectRedis, type RedisConnection } from '../../lib/store/redis';
import { serviceUnavailable, type TestStore } from './services';

export async function freshRedis(): Promise<TestStore | null> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `wecred-t-${randomUUID().slice(0, 12)}:`; // no glob characters: it is a SCAN pattern below
  url.searchParams.set('prefix', prefix);
  let conn: RedisConnection;
  try {
    conn = await connectRedis(url.href);
  } catch (err) {
    return serviceUnavailable('Redis', err);
  }
  const { client } = conn;
  return {
    url: url.href,
    env: {},
    async close() {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await client.quit();
    },
  };
}
