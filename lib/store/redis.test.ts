import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { storeConformance } from '../../test/support/store-conformance';
import { connectRedis, openRedisStore } from './redis';
import { freshRedis } from '../../test/support/redis';

const redis = await freshRedis();
const extra = redis && (await freshRedis()); // a second prefix on the same server
afterAll(async () => {
  await redis?.close();
  await extra?.close();
});

/** Everything a caller could log of `err`: message, stack and own properties. */
const everything = (err: unknown) => `${String(err)}\n${(err as Error).stack}\n${inspect(err, { depth: 10 })}`;

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(!redis)('redis store', () => {
  storeConformance('redis', () => openRedisStore(redis!.url), {
    // The hash as the previous code wrote it: leaseUntil, no beat, failures nor retryAt.
    async writeOldRow(key, row) {
      const { client, prefix } = await connectRedis(redis!.url);
      await client.hset(`${prefix}cred:${key}`, { ...row, refreshedAt: 0, leaseUntil: Date.now() + 10_000 });
      await client.quit();
    },
  });

  const MIN = 60_000;
  const update = (value: string, at: number) => ({ value, expiresAt: at + 120 * MIN, refreshedAt: at, forcedAt: 0 });

  it('names the operation that failed, once the connection is gone', async () => {
    const store = await openRedisStore(redis!.url);
    await store.close();
    const failed = (p: Promise<unknown>) =>
      p.then(
        () => 'succeeded',
        (err: Error) => err.message,
      );
    const where = new URL(redis!.url);
    const u = update('v', 1);
    // each outcome read at once: the store refuses at once, before the loop awaits them in turn
    const ops: [string, Promise<string>][] = [
      ['read', failed(store.read('k'))],
      ['acquireLease', failed(store.acquireLease('k', 'o'))],
      ['renewLease', failed(store.renewLease('k', 'o'))],
      ['commit', failed(store.commit('k', 'o', 0, u))],
      ['releaseLease', failed(store.releaseLease('k', 'o'))],
      ['insertIfAbsent', failed(store.insertIfAbsent('k', 2, 1))],
      ['increment', failed(store.increment('k', 1, 2, 1))],
      ['putRecord', failed(store.putRecord('k', 'v', 2, 1))],
      ['getRecord', failed(store.getRecord('k', 1))],
      ['deleteRecord', failed(store.deleteRecord('k'))],
    ];
    for (const [op, p] of ops) {
      expect(await p).toMatch(
        new RegExp(`^redis store \\(${where.hostname}:${where.port || 6379}/0\\): ${op} failed: `),
      );
    }
    await expect(store.close()).resolves.toBeUndefined(); // closing twice is fine
  });

  it('keeps stores with different prefixes apart, with their keys under their prefix', async () => {
    const a = await openRedisStore(redis!.url);
    const b = await openRedisStore(extra!.url);
    const now = Date.now();
    expect(await a.acquireLease('mp:wx1:token', 'o')).not.toBeNull();
    expect(await a.commit('mp:wx1:token', 'o', 0, update('token-a', now))).toBe(true);
    expect(await a.insertIfAbsent('nonce-1', now + MIN, now)).toBe(true);
    expect(await a.increment('count-1', 5, now + MIN, now)).toBe(5);
    await a.putRecord('rec-1', 'record-a', now + MIN, now);

    expect(await b.read('mp:wx1:token')).toBeNull();
    expect(await b.acquireLease('mp:wx1:token', 'o')).toMatchObject({ value: '', version: 0 });
    expect(await b.insertIfAbsent('nonce-1', now + MIN, now)).toBe(true);
    expect(await b.increment('count-1', 0, now + MIN, now)).toBe(0);
    expect(await b.getRecord('rec-1', now)).toBeNull();
    expect(await a.getRecord('rec-1', now)).toBe('record-a');
    expect(await a.read('mp:wx1:token')).toMatchObject({ value: 'token-a', version: 1, leaseOwner: '' });

    const { client, prefix } = await connectRedis(redis!.url);
    expect(
      await client.exists(
        `${prefix}cred:mp:wx1:token`,
        `${prefix}nonce:nonce-1`,
        `${prefix}count:count-1`,
        `${prefix}rec:rec-1`,
      ),
    ).toBe(4);
    await Promise.all([a.close(), b.close(), client.quit()]);
  });

  it('gives nonces and counters a real Redis expiry that follows the caller clock, and credentials none', async () => {
    const store = await openRedisStore(redis!.url);
    const { client, prefix } = await connectRedis(redis!.url);
    const key = randomUUID();
    const now = Date.now() - 86_400_000; // the caller's clock is a day behind Redis's: the expiry must not shrink
    expect(await store.insertIfAbsent(key, now + MIN, now)).toBe(true);
    expect(await store.increment(key, 1, now + 2 * MIN, now)).toBe(1);
    expect(await store.increment(key, 1, now + 9 * MIN, now + 1)).toBe(2);
    await store.acquireLease(key, 'o');
    expect(await store.commit(key, 'o', 0, update('v', now))).toBe(true);

    const nonceTtl = await client.pttl(`${prefix}nonce:${key}`);
    expect(nonceTtl).toBeGreaterThan(MIN - 5_000);
    expect(nonceTtl).toBeLessThanOrEqual(MIN);
    const counterTtl = await client.pttl(`${prefix}count:${key}`);
    expect(counterTtl).toBeGreaterThan(2 * MIN - 5_000); // set on creation only
    expect(counterTtl).toBeLessThanOrEqual(2 * MIN);
    expect(await client.pttl(`${prefix}cred:${key}`)).toBe(-1);

    // born expired (by the caller's clock): inserted, and nothing is left behind
    const gone = randomUUID();
    expect(await store.insertIfAbsent(gone, now - 1, now)).toBe(true);
    expect(await store.increment(gone, 3, now - 1, now)).toBe(3);
    expect(await client.exists(`${prefix}nonce:${gone}`, `${prefix}count:${gone}`)).toBe(0);
    await Promise.all([store.close(), client.quit()]);
  });

  it("gives records a real Redis expiry relative to this host's clock; one put expired leaves nothing behind", async () => {
    const store = await openRedisStore(redis!.url);
    const { client, prefix } = await connectRedis(redis!.url);
    const key = randomUUID();
    const now = Date.now();
    await store.putRecord(key, 'v', now + MIN, now);
    const recordTtl = await client.pttl(`${prefix}rec:${key}`);
    expect(recordTtl).toBeGreaterThan(MIN - 5_000);
    expect(recordTtl).toBeLessThanOrEqual(MIN);
    await store.putRecord(key, 'v2', now + 5 * MIN, now); // a put renews the expiry
    expect(await client.pttl(`${prefix}rec:${key}`)).toBeGreaterThan(4 * MIN);
    await store.putRecord(key, 'v3', now - 1, now);
    expect(await client.exists(`${prefix}rec:${key}`)).toBe(0);
    await Promise.all([store.close(), client.quit()]);
  });

  it('reads a record that is not `<expiresAt>:<value>` as absent', async () => {
    const store = await openRedisStore(redis!.url);
    const { client, prefix } = await connectRedis(redis!.url);
    const key = randomUUID();
    for (const garbage of ['no-colon', ':no-expiry', 'abc:not-a-number', '99999999999999']) {
      await client.set(`${prefix}rec:${key}`, garbage);
      expect(await store.getRecord(key, 0), garbage).toBeNull();
    }
    await Promise.all([store.close(), client.quit()]);
  });

  it('refuses a failed login with a clear error that holds no password', async () => {
    const url = new URL(redis!.url);
    url.username = 'wecred-no-such-user';
    url.password = 'pw-must-not-leak-7c1f';
    const t0 = Date.now();
    const err = await openRedisStore(url.href).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/WRONGPASS|NOAUTH|invalid username-password/);
    expect(everything(err)).not.toContain('pw-must-not-leak-7c1f');
  });

  it('errors carry no command arguments (no token reaches a log line)', async () => {
    const store = await openRedisStore(redis!.url);
    const { client, prefix } = await connectRedis(redis!.url);
    const key = randomUUID();
    await client.set(`${prefix}cred:${key}`, 'not a hash'); // WRONGTYPE inside the commit script
    const err = await store
      .commit(key, 'o', 0, update('token-must-not-leak-91ab', Date.now()))
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/redis store .*commit failed: .*WRONGTYPE/);
    expect(everything(err)).not.toContain('token-must-not-leak-91ab');
    await client.hset(`${prefix}rec:${key}`, 'v', 'token-must-not-leak-91ab'); // WRONGTYPE for GET
    const recErr = await store.getRecord(key, Date.now()).catch((e: unknown) => e);
    expect((recErr as Error).message).toMatch(/redis store .*getRecord failed: .*WRONGTYPE/);
    expect(everything(recErr)).not.toContain('token-must-not-leak-91ab');
    await Promise.all([store.close(), client.quit()]);
  });
});

describe('redis store: connection and URL errors', () => {
  it('fails fast on a dead server, naming host and port, never the password', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    const err = await openRedisStore(`redis://:pw-must-not-leak-3d2e@127.0.0.1:${port}/0?prefix=x:`).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(everything(err)).not.toContain('pw-must-not-leak-3d2e');
  });

  it('rejects bad URLs without quoting them', async () => {
    for (const [url, reason] of [
      ['redis://:pw-must-not-leak-5a0b@host:6379/db1', /database number/],
      ['redis://:pw-must-not-leak-5a0b@host:6379/0?keyPrefix=x', /unknown URL parameter "keyPrefix"/],
      ['redis://:pw-must-not-leak-5a0b@host:notaport', /invalid URL/],
      ['http://:pw-must-not-leak-5a0b@host:6379', /unsupported scheme "http:"/],
    ] as const) {
      const err = await openRedisStore(url).catch((e: unknown) => e);
      expect((err as Error).message, url).toMatch(reason);
      expect(everything(err), url).not.toContain('pw-must-not-leak-5a0b');
    }
  });
});
