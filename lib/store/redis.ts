/**
 * The Redis Store (`redis://[user:password@]host:port[/db][?prefix=wecred:]`, `rediss://` for TLS): each write is one
 * Lua script or one command on one key, one atomic round trip. Expiry follows the caller's `now`, never Redis's time;
 * errors carry the message only, as ioredis attaches command arguments (tokens, passwords). docs/design.md §6.3.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { CredentialRow, Store } from './port';

/**
 * Time limits (ms), inside the lifecycle's store timeout (lib/store/guard.ts), so that a Redis gone
 * silent is reported here. Redis answers in a millisecond or two: a connection that has owed a reply
 * for half a second is dropped and made again, so that service is back within a second of Redis.
 */
const CONNECT_TIMEOUT_MS = 1_000;
const SOCKET_TIMEOUT_MS = 500;
const COMMAND_TIMEOUT_MS = 1_000;
const RECONNECT_MAX_DELAY_MS = 100;

const USAGE = 'expected redis://[user:password@]host:port[/db][?prefix=wecred:]';

/** Connection options and key prefix from a store URL; errors never quote the URL. */
export function parseRedisUrl(url: string): { options: RedisOptions; prefix: string; where: string } {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new Error(`redis store: invalid URL; ${USAGE}`); // the URL may hold a password: never quoted
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new Error(`redis store: unsupported scheme "${u.protocol}"; ${USAGE}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  if (host === '') throw new Error(`redis store: the URL has no host; ${USAGE}`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname === '' || u.pathname === '/' ? 0 : Number(u.pathname.slice(1));
  if (!Number.isSafeInteger(db) || db < 0)
    throw new Error(`redis store: the URL path must be a database number; ${USAGE}`);
  for (const name of u.searchParams.keys()) {
    if (name !== 'prefix') throw new Error(`redis store: unknown URL parameter "${name}"; supported: prefix`);
  }
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
  } catch {
    throw new Error('redis store: the user or password in the URL is not valid percent-encoding');
  }
  return {
    options: {
      host,
      port,
      db,
      ...(username && { username }),
      ...(password && { password }),
      ...(u.protocol === 'rediss:' && { tls: {} }),
    },
    prefix: u.searchParams.get('prefix') ?? 'wecred:',
    where: `${host}:${port}/${db}`,
  };
}

/** ioredis's words for a connection that is not there, in ours. */
function plain(message: string): string {
  if (message.startsWith('Reached the max retries per request limit'))
    return 'the connection dropped before Redis answered';
  if (message.startsWith("Stream isn't writeable")) return 'not connected (reconnecting)';
  return message;
}

export interface RedisConnection {
  client: Redis;
  /** Prepended to every key of the store. */
  prefix: string;
  /** A clean error for a failed `op`: no command arguments, no password, plus the last connection error. */
  error(op: string, err: unknown): Error;
}

/**
 * A connected client for a store URL (also used by the tests to look behind the store).
 * Fails within seconds, with a clear message, when Redis does not answer or refuses the login.
 */
export async function connectRedis(url: string): Promise<RedisConnection> {
  const { options, prefix, where } = parseRedisUrl(url);
  const client = new Redis({
    ...options,
    lazyConnect: true,
    // A server that does not answer fails the call in time, and the connection is dropped and made
    // again at once (docs/design.md §6.3): a reply that comes late on a connection that is kept
    // would hold every later command behind it until TCP gives up, minutes after the server is back.
    connectTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS, // no reply this long after a command: the connection is dropped
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0, // a dropped connection fails the commands it carried...
    autoResendUnfulfilledCommands: false, // ...which are not sent again (an increment would count twice)
    enableOfflineQueue: false, // while reconnecting, commands fail at once instead of queueing
    retryStrategy: (attempt) => Math.min(attempt * 20, RECONNECT_MAX_DELAY_MS),
  });
  const clean = (err: unknown): string => {
    const message = err instanceof Error ? err.message : String(err);
    return options.password ? message.split(options.password).join('***') : message;
  };
  // Connection errors arrive as events while ioredis reconnects by itself; failed commands report them.
  let lastError = '';
  client.on('error', (err: unknown) => (lastError = clean(err)));
  client.on('ready', () => (lastError = ''));
  const error = (op: string, err: unknown): Error => {
    const message = plain(clean(err));
    return new Error(
      `redis store (${where}): ${op} failed: ${message}${lastError && lastError !== message ? ` (last connection error: ${lastError})` : ''}`,
    );
  };
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw error('connect', lastError ? new Error(lastError) : err);
  }
  return { client, prefix, error };
}

// Scripts: KEYS[1] is the one key; numbers arrive as decimal strings, '' stands for "not given".
// A lease is taken when free, or when it is still exactly the (owner, beat) the caller saw.
const ACQUIRE = `
local row = redis.call('HMGET', KEYS[1], 'leaseOwner', 'leaseBeat')
local holder, beat = row[1] or '', tonumber(row[2]) or 0
if holder ~= '' and not (ARGV[2] ~= '' and holder == ARGV[2] and beat == tonumber(ARGV[3])) then return false end
redis.call('HSET', KEYS[1], 'leaseOwner', ARGV[1], 'leaseBeat', beat + 1)
return redis.call('HGETALL', KEYS[1])`;

const RENEW = `
if ARGV[1] == '' or redis.call('HGET', KEYS[1], 'leaseOwner') ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], 'leaseBeat', 1)
return 1`;

const COMMIT = `
local row = redis.call('HMGET', KEYS[1], 'leaseOwner', 'version')
if ARGV[1] == '' or row[1] ~= ARGV[1] or (tonumber(row[2]) or 0) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'value', ARGV[3], 'expiresAt', ARGV[4], 'refreshedAt', ARGV[5], 'forcedAt', ARGV[6], 'leaseOwner', '', 'failures', '0', 'retryAt', '0')
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1`;

const RELEASE = `
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'leaseOwner') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'leaseOwner', '')
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'blockedUntil', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'failures', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'retryAt', ARGV[4]) end
return 0`;

// The value is the entry's expiresAt. PEXPIRE with a TTL <= 0 deletes the key: an entry born
// expired is inserted and gone at once, as the port's `now` would see it.
const INSERT = `
if (tonumber(redis.call('GET', KEYS[1])) or 0) > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// A hash {n, expiresAt}; an expired counter (by the caller's `now`) starts again from 0. A take-back
// (by < 0) leaves an absent or expired counter alone and stops at 0.
const INCREMENT = `
local exp = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
local live = exp ~= nil and exp > tonumber(ARGV[3])
local by = tonumber(ARGV[1])
if by <= 0 then
  if not live then return 0 end
  local n = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
  if by == 0 then return n end
  n = math.max(0, n + by)
  redis.call('HSET', KEYS[1], 'n', n)
  return n
end
if not live then redis.call('DEL', KEYS[1]) end
local n = redis.call('HINCRBY', KEYS[1], 'n', ARGV[1])
if not live then
  redis.call('HSET', KEYS[1], 'expiresAt', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return n`;

type Scripted = Redis & {
  acquireLease(key: string, owner: string, seenOwner: string, seenBeat: number | ''): Promise<string[] | null>;
  renewLease(key: string, owner: string): Promise<number>;
  commitRow(
    key: string,
    owner: string,
    expectedVersion: number,
    value: string,
    expiresAt: number,
    refreshedAt: number,
    forcedAt: number,
  ): Promise<number>;
  releaseLease(
    key: string,
    owner: string,
    blockedUntil: number | '',
    failures: number | '',
    retryAt: number | '',
  ): Promise<number>;
  insertNonce(key: string, expiresAt: number, now: number, ttl: number): Promise<number>;
  incrementCounter(key: string, by: number, expiresAt: number, now: number, ttl: number): Promise<number>;
};

/** The row in hash `h`, or null when the hash is absent (empty). Missing or corrupt fields read as empty. */
function rowFromHash(key: string, h: Record<string, string>): CredentialRow | null {
  if (Object.keys(h).length === 0) return null;
  const num = (s: string | undefined): number => {
    const n = Number(s);
    return Number.isFinite(n) ? n : 0;
  };
  return {
    key,
    value: h.value ?? '',
    expiresAt: num(h.expiresAt),
    refreshedAt: num(h.refreshedAt),
    version: num(h.version),
    leaseOwner: h.leaseOwner ?? '',
    leaseBeat: num(h.leaseBeat),
    forcedAt: num(h.forcedAt),
    blockedUntil: num(h.blockedUntil),
    failures: num(h.failures),
    retryAt: num(h.retryAt),
  };
}

/** Redis keeps a nonce, counter or record this long (ms): as long as the caller's clock says it lives. */
const ttl = (expiresAt: number, now: number): number => Math.ceil(expiresAt - now);

/** The value of a stored record if it lives at `now`; null when absent, expired or not a record. */
function liveRecord(stored: string | null, now: number): string | null {
  if (stored === null) return null;
  const colon = stored.indexOf(':');
  // Without a number before the colon, expiresAt reads NaN, and NaN > now is false.
  return colon >= 0 && Number(stored.slice(0, colon)) > now ? stored.slice(colon + 1) : null;
}

export async function openRedisStore(url: string): Promise<Store> {
  const { client, prefix, error } = await connectRedis(url);
  const redis = client as Scripted;
  redis.defineCommand('acquireLease', { numberOfKeys: 1, lua: ACQUIRE });
  redis.defineCommand('renewLease', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('commitRow', { numberOfKeys: 1, lua: COMMIT });
  redis.defineCommand('releaseLease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('insertNonce', { numberOfKeys: 1, lua: INSERT });
  redis.defineCommand('incrementCounter', { numberOfKeys: 1, lua: INCREMENT });

  const cred = (key: string) => `${prefix}cred:${key}`;
  const nonce = (key: string) => `${prefix}nonce:${key}`;
  const counter = (key: string) => `${prefix}count:${key}`;
  const record = (key: string) => `${prefix}rec:${key}`;
  const run = async <T>(op: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw error(op, err);
    }
  };

  return {
    kind: 'redis',

    read: (key) => run('read', async () => rowFromHash(key, await redis.hgetall(cred(key)))),

    acquireLease: (key, owner, seen) =>
      run('acquireLease', async () => {
        // Stryker disable next-line StringLiteral: without `seen`, the script takes only a free row whatever stands for "not given" (a held lease matches owner and numeric beat both)
        const flat = await redis.acquireLease(cred(key), owner, seen?.owner ?? '', seen?.beat ?? '');
        if (!flat) return null;
        const h: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
        return rowFromHash(key, h);
      }),

    renewLease: (key, owner) => run('renewLease', async () => (await redis.renewLease(cred(key), owner)) === 1),

    commit: (key, owner, expectedVersion, u) =>
      run(
        'commit',
        async () =>
          (await redis.commitRow(
            cred(key),
            owner,
            expectedVersion,
            u.value,
            u.expiresAt,
            u.refreshedAt,
            u.forcedAt,
          )) === 1,
      ),

    releaseLease: (key, owner, outcome = {}) =>
      run('releaseLease', async () => {
        const { blockedUntil = '', failures = '', retryAt = '' } = outcome;
        await redis.releaseLease(cred(key), owner, blockedUntil, failures, retryAt);
      }),

    insertIfAbsent: (key, expiresAt, now) =>
      run(
        'insertIfAbsent',
        async () => (await redis.insertNonce(nonce(key), expiresAt, now, ttl(expiresAt, now))) === 1,
      ),

    increment: (key, by, expiresAt, now) =>
      run('increment', () => redis.incrementCounter(counter(key), by, expiresAt, now, ttl(expiresAt, now))),

    putRecord: (key, value, expiresAt, now) =>
      run('putRecord', async () => {
        const ms = ttl(expiresAt, now);
        if (ms > 0) await redis.set(record(key), `${expiresAt}:${value}`, 'PX', ms);
        else await redis.del(record(key)); // expired already: replaces the record with nothing
      }),

    getRecord: (key, now) => run('getRecord', async () => liveRecord(await redis.get(record(key)), now)),

    deleteRecord: (key) =>
      run('deleteRecord', async () => {
        await redis.del(record(key));
      }),

    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect(); // already closed or unreachable: drop the socket and stop reconnecting
      }
    },
  };
}
