import http from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { storeConformance } from '../../test/support/store-conformance';
import { dynamoClient, openDynamoStore, parseDynamoUrl } from './dynamodb';
import { migrateDynamo } from './dynamodb-migrate';
import { startDynalite } from '../../test/support/dynalite';

const dynamo = await startDynalite();
afterAll(() => dynamo.close());

const target = parseDynamoUrl(dynamo.url);
const endpoint = target.endpoint!;
const urlFor = (table: string) => `dynamodb://${table}?region=local&endpoint=${endpoint}`;

storeConformance('dynamodb', () => openDynamoStore(dynamo.url), {
  // The item as the previous code wrote it: leaseUntil, no beat, failures nor retryAt.
  async writeOldRow(key, row) {
    const client = dynamoClient(target);
    const item = { ...row, refreshedAt: 0, leaseUntil: Date.now() + 10_000, forcedAt: 0, blockedUntil: 0 };
    await client.send(
      new PutItemCommand({
        TableName: target.table,
        Item: {
          pk: { S: `cred#${key}` },
          sk: { S: 'cred' },
          ...Object.fromEntries(
            Object.entries(item).map(([k, v]) => [k, typeof v === 'string' ? { S: v } : { N: String(v) }]),
          ),
        },
      }),
    );
    client.destroy();
  },
});

describe('dynamodb store: URL', () => {
  it('parses table, region and endpoint', () => {
    expect(parseDynamoUrl('dynamodb://wecred')).toEqual({ table: 'wecred' });
    expect(parseDynamoUrl('dynamodb://My_Table.v2/?region=eu-west-1&endpoint=http://localhost:8000')).toEqual({
      table: 'My_Table.v2',
      region: 'eu-west-1',
      endpoint: 'http://localhost:8000',
    });
  });

  it('rejects a bad table name or parameter in one line that echoes no value', () => {
    expect(() => parseDynamoUrl('dynamodb://')).toThrow(/table name/);
    expect(() => parseDynamoUrl('dynamodb://a')).toThrow(/table name/);
    expect(() => parseDynamoUrl('dynamodb://bad/name')).toThrow(/dynamodb:\/\/TABLE/);
    expect(() => parseDynamoUrl('dynamodb://wecred?regoin=x')).toThrow('invalid parameter "regoin"');
    expect(() => parseDynamoUrl('dynamodb://wecred?endpoint=secret-host')).toThrow(
      /^(?!.*secret-host).*invalid parameter "endpoint"/,
    );
  });
});

describe('dynamodb store: migrate', () => {
  it('two migrations racing on a new table both succeed, and exactly one created it', async () => {
    const table = `wecred-race-${randomUUID().slice(0, 8)}`;
    const both = await Promise.all([migrateDynamo(urlFor(table)), migrateDynamo(urlFor(table))]);
    expect(both.map((r) => r.table)).toEqual([table, table]);
    expect(both.filter((r) => r.created)).toHaveLength(1);
  });

  it('creates the table from db/dynamodb/table.json once, then leaves it alone', async () => {
    const table = `wecred-migrate-${randomUUID().slice(0, 8)}`;
    expect(await migrateDynamo(urlFor(table))).toEqual({ table, created: true });
    expect(await migrateDynamo(urlFor(table))).toEqual({ table, created: false });
    expect(await migrateDynamo(dynamo.url)).toEqual({ table: target.table, created: false });

    const client = dynamoClient(parseDynamoUrl(urlFor(table)));
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    client.destroy();
    expect(Table).toMatchObject({
      TableStatus: 'ACTIVE',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
    });
  });
});

describe('dynamodb store: missing table', () => {
  it('fails every operation with one clear line, and opening costs no round trip', async () => {
    const store = await openDynamoStore(urlFor('wecred-missing'));
    const line = 'DynamoDB table "wecred-missing" does not exist: run npm run db:migrate';
    const now = Date.now();
    await expect(store.read('k')).rejects.toThrow(line);
    await expect(store.acquireLease('k', 'a')).rejects.toThrow(line);
    await expect(store.renewLease('k', 'a')).rejects.toThrow(line);
    await expect(
      store.commit('k', 'a', 0, { value: 'v', expiresAt: now, refreshedAt: now, forcedAt: 0 }),
    ).rejects.toThrow(line);
    await expect(store.releaseLease('k', 'a')).rejects.toThrow(line);
    await expect(store.releaseLease('k', 'a', { blockedUntil: now })).rejects.toThrow(line);
    await expect(store.insertIfAbsent('k', now + 1_000, now)).rejects.toThrow(line);
    await expect(store.increment('k', 1, now + 1_000, now)).rejects.toThrow(line);
    await expect(store.increment('k', 0, now + 1_000, now)).rejects.toThrow(line);
    await expect(store.putRecord('k', 'v', now + 1_000, now)).rejects.toThrow(line);
    await expect(store.getRecord('k', now)).rejects.toThrow(line);
    await expect(store.deleteRecord('k')).rejects.toThrow(line);
    await store.close();
  });
});

describe('dynamodb store: items', () => {
  const spec = async () =>
    (
      JSON.parse(await readFile(new URL('../../db/dynamodb/table.json', import.meta.url), 'utf8')) as {
        TimeToLiveSpecification: { AttributeName: string };
      }
    ).TimeToLiveSpecification.AttributeName;
  const rawItem = async (pk: string, sk: string) => {
    const client = dynamoClient(target);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: target.table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
    );
    client.destroy();
    return Item;
  };

  it('nonces and counters carry the TTL attribute in epoch seconds (rounded up), counters from creation', async () => {
    const ttl = await spec();
    const store = await openDynamoStore(dynamo.url);
    const key = `ttl:${randomUUID()}`;
    const now = Date.now();
    const expiresAt = now + 60_000 + 1; // not a whole second
    const seconds = Math.ceil(expiresAt / 1000);

    expect(await store.insertIfAbsent(key, expiresAt, now)).toBe(true);
    const nonce = await rawItem(`nonce#${key}`, 'nonce');
    expect(nonce?.[ttl]).toEqual({ N: String(seconds) });
    expect(nonce?.expiresAt).toEqual({ N: String(expiresAt) });

    expect(await store.increment(key, 1, expiresAt, now)).toBe(1);
    expect(await store.increment(key, 1, expiresAt + 60_000, now)).toBe(2);
    expect((await rawItem(`count#${key}`, 'count'))?.[ttl]).toEqual({ N: String(seconds) });
    // restarted after expiry: the new expiry
    expect(await store.increment(key, 1, expiresAt + 120_000, expiresAt)).toBe(1);
    expect((await rawItem(`count#${key}`, 'count'))?.[ttl]).toEqual({
      N: String(Math.ceil((expiresAt + 120_000) / 1000)),
    });

    await store.acquireLease(key, 'a');
    expect((await rawItem(`cred#${key}`, 'cred'))?.[ttl]).toBeUndefined(); // credentials never expire
    await store.close();
  });

  it('a record is item rec#<key> / rec with the TTL attribute in epoch seconds (rounded up), replaced by each put', async () => {
    const ttl = await spec();
    const store = await openDynamoStore(dynamo.url);
    const key = `rec:${randomUUID()}`;
    const now = Date.now();
    const expiresAt = now + 60_000 + 1;
    await store.putRecord(key, 'token', expiresAt, now);
    expect(await rawItem(`rec#${key}`, 'rec')).toEqual({
      pk: { S: `rec#${key}` },
      sk: { S: 'rec' },
      value: { S: 'token' },
      expiresAt: { N: String(expiresAt) },
      [ttl]: { N: String(Math.ceil(expiresAt / 1000)) },
    });
    await store.putRecord(key, 'token-2', expiresAt + 60_000, now);
    expect((await rawItem(`rec#${key}`, 'rec'))?.[ttl]).toEqual({ N: String(Math.ceil((expiresAt + 60_000) / 1000)) });
    await store.deleteRecord(key);
    expect(await rawItem(`rec#${key}`, 'rec')).toBeUndefined();
    await store.close();
  });

  it('50 concurrent increments of an expired counter restart it once: every value 1..50 exactly once', async () => {
    const store = await openDynamoStore(dynamo.url);
    const key = `restart:${randomUUID()}`;
    const now = Date.now();
    expect(await store.increment(key, 7, now + 1_000, now)).toBe(7);
    const later = now + 1_000;
    const values = await Promise.all(Array.from({ length: 50 }, () => store.increment(key, 1, later + 60_000, later)));
    expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await store.increment(key, 0, later + 60_000, later)).toBe(50);
    await store.close();
  });
});

describe('dynamodb store: an answer that comes too late', () => {
  /**
   * An HTTP proxy in front of dynalite that forwards every request at once but holds the answer of
   * the first `late` ones past the SDK's attempt timeout: the write has happened when the caller
   * gives up on it.
   */
  async function lateAnswers(late: number) {
    const upstream = new URL(endpoint);
    let held = 0;
    const server = http.createServer((req, res) => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const send = () => {
              if (res.destroyed) return;
              res.writeHead(answer.statusCode ?? 500, answer.headers);
              res.end(Buffer.concat(chunks));
            };
            if (held++ < late) setTimeout(send, 2_500);
            else send();
          });
        },
      );
      req.pipe(out);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const store = await openDynamoStore(`dynamodb://${target.table}?region=local&endpoint=http://127.0.0.1:${port}`);
    return {
      store,
      close: async () => {
        await store.close();
        server.closeAllConnections();
        server.close();
      },
    };
  }

  it('a write whose answer was lost is never sent again: a nonce is not its own replay, a count not doubled', async () => {
    const now = Date.now();
    const late = await lateAnswers(1);
    try {
      const nonce = `late-${randomUUID()}`;
      // The answer is lost: the call may fail (the store was slow), but never call its own write a replay.
      expect(await late.store.insertIfAbsent(nonce, now + 60_000, now).catch(() => 'failed')).not.toBe(false);
      const direct = await openDynamoStore(dynamo.url);
      expect(await direct.insertIfAbsent(nonce, now + 60_000, now)).toBe(false); // the first write did land
      const counter = `late-count-${randomUUID()}`;
      const late2 = await lateAnswers(1);
      await late2.store.increment(counter, 1, now + 60_000, now).catch(() => 'failed');
      expect(await direct.increment(counter, 0, now + 60_000, now)).toBe(1);
      await late2.close();
      await direct.close();
    } finally {
      await late.close();
    }
  });
});
