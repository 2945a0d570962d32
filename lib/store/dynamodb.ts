/**
 * The DynamoDB Store (`dynamodb://TABLE?region=…&endpoint=…`), in one table (db/dynamodb/table.json): every
 * operation is one write, conditional where it decides something, or one consistent read (two in rare cases);
 * TTL only cleans up, expiry is judged by `expiresAt` against the caller's `now` (docs/design.md §6.3).
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  type ReturnValue,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CredentialRow, ReleaseOutcome, Store } from './port';

export interface DynamoTarget {
  table: string;
  region?: string;
  endpoint?: string;
}

/** Per attempt: DynamoDB answers in milliseconds; a silent endpoint fails the call in time (docs/design.md §6.3). */
const CONNECT_TIMEOUT_MS = 1_000;
const ATTEMPT_TIMEOUT_MS = 800;
/** A write's one attempt: as long as a read's two. */
const WRITE_TIMEOUT_MS = 2 * ATTEMPT_TIMEOUT_MS;

/** DynamoDB's own rule for table names. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** The parts of a `dynamodb://` URL. Errors never echo parameter values. */
export function parseDynamoUrl(url: string): DynamoTarget {
  const m = /^dynamodb:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m) throw new Error('store URL must look like dynamodb://TABLE?region=REGION&endpoint=http://host:port');
  const table = m[1]!;
  if (!TABLE_NAME.test(table))
    throw new Error('store URL dynamodb://TABLE needs a table name of 3-255 characters from A-Z a-z 0-9 _ . -');
  const target: DynamoTarget = { table };
  for (const [name, value] of new URLSearchParams(m[2] ?? '')) {
    if (name === 'region' && value !== '') target.region = value;
    else if (name === 'endpoint' && /^https?:\/\/[^/?#]+/i.test(value)) target.endpoint = value;
    else
      throw new Error(
        `store URL dynamodb://${table} has an invalid parameter "${name}"; supported: region=REGION, endpoint=http(s)://host:port`,
      );
  }
  return target;
}

/**
 * The SDK's default is no timeout at all and 3 attempts: an endpoint that does not answer would hold a request (and a
 * serverless invocation) until the platform kills it. Here a call that gets no answer fails within ~2 s, inside the
 * lifecycle's store timeout. `writes`: one attempt, never resent, since a conditional write whose answer was lost has
 * happened, and sent again it would find itself (a nonce its own replay, a count doubled).
 */
export function dynamoClient(target: DynamoTarget, use: 'reads' | 'writes' = 'reads'): DynamoDBClient {
  return new DynamoDBClient({
    region: target.region,
    endpoint: target.endpoint,
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: use === 'writes' ? WRITE_TIMEOUT_MS : ATTEMPT_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
    maxAttempts: use === 'writes' ? 1 : 2,
  });
}

function missingTableError(table: string): Error {
  return new Error(`DynamoDB table "${table}" does not exist: run npm run db:migrate`);
}

const CRED = 'cred';
const NONCE = 'nonce';
const COUNT = 'count';
const REC = 'rec';

/** An increment that keeps meeting counters expired by other callers gives up after this. */
const MAX_INCREMENT_ATTEMPTS = 5;

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const num = (a: AttributeValue | undefined): number => Number(a?.N ?? 0);
const text = (a: AttributeValue | undefined): string => a?.S ?? '';
/** DynamoDB TTL wants epoch seconds; rounded up so an item never vanishes before it expires. */
const ttlSeconds = (ms: number): number => Math.ceil(ms / 1000);

const itemKey = (kind: string, key: string): Record<string, AttributeValue> => ({
  pk: S(`${kind}#${key}`),
  sk: S(kind),
});

/**
 * Every attribute is written `#name` in expressions (value, ttl and count are reserved words);
 * DynamoDB rejects unused placeholders, so the map holds exactly those the expressions use.
 */
function namesIn(...expressions: string[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const e of expressions) for (const [alias] of e.matchAll(/#\w+/g)) names[alias] = alias.slice(1);
  return names;
}

/** The credential fields and their empty-row values. */
const FIELDS = {
  value: ':empty',
  expiresAt: ':zero',
  refreshedAt: ':zero',
  version: ':zero',
  leaseOwner: ':empty',
  leaseBeat: ':zero',
  forcedAt: ':zero',
  blockedUntil: ':zero',
  failures: ':zero',
  retryAt: ':zero',
} as const;
const FILL_VALUES = { ':empty': S(''), ':zero': N(0) };
type Field = keyof typeof FIELDS;

/** SET clauses giving each field not `written` its empty-row value when absent, for writes that may create the row. */
function fillMissing(...written: Field[]): string {
  return Object.entries(FIELDS)
    .filter(([f]) => !written.includes(f as Field))
    .map(([f, v]) => `#${f} = if_not_exists(#${f}, ${v})`)
    .join(', ');
}

interface UpdateSpec {
  expression: string;
  condition?: string;
  values: Record<string, AttributeValue>;
  returnValues?: ReturnValue;
}

function toRow(key: string, item: Record<string, AttributeValue>): CredentialRow {
  return {
    key,
    value: text(item.value),
    expiresAt: num(item.expiresAt),
    refreshedAt: num(item.refreshedAt),
    version: num(item.version),
    leaseOwner: text(item.leaseOwner),
    leaseBeat: num(item.leaseBeat),
    forcedAt: num(item.forcedAt),
    blockedUntil: num(item.blockedUntil),
    failures: num(item.failures),
    retryAt: num(item.retryAt),
  };
}

export async function openDynamoStore(url: string): Promise<Store> {
  const target = parseDynamoUrl(url);
  const { table } = target;
  // One client per use per store: its connections outlive warm Lambda invocations.
  const reader = dynamoClient(target, 'reads');
  const client = dynamoClient(target, 'writes');

  // No DescribeTable at open (it would cost every cold start): a missing table shows on first use.
  const guard = <T>(request: Promise<T>): Promise<T> =>
    request.catch((err: unknown) => {
      throw err instanceof ResourceNotFoundException ? missingTableError(table) : err;
    });
  /** A write whose failed condition resolves to null. */
  const conditional = <T>(request: Promise<T>): Promise<T | null> =>
    guard(request).catch((err: unknown) => {
      if (err instanceof ConditionalCheckFailedException) return null;
      throw err;
    });

  const get = (kind: string, key: string) =>
    guard(reader.send(new GetItemCommand({ TableName: table, Key: itemKey(kind, key), ConsistentRead: true })));

  const update = (kind: string, key: string, u: UpdateSpec) =>
    client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: itemKey(kind, key),
        UpdateExpression: u.expression,
        ConditionExpression: u.condition,
        ExpressionAttributeNames: namesIn(u.expression, u.condition ?? ''),
        ExpressionAttributeValues: u.values,
        ReturnValues: u.returnValues,
      }),
    );

  return {
    kind: 'dynamodb',

    async read(key) {
      const { Item } = await get(CRED, key);
      return Item ? toRow(key, Item) : null;
    },

    async acquireLease(key, owner, seen) {
      // A beat of 0 is also an item written before beats existed (no leaseBeat attribute).
      const seenBeat =
        seen?.beat === 0 ? '(attribute_not_exists(#leaseBeat) OR #leaseBeat = :seenBeat)' : '#leaseBeat = :seenBeat';
      const out = await conditional(
        update(CRED, key, {
          expression: `SET #leaseOwner = :owner, #leaseBeat = if_not_exists(#leaseBeat, :zero) + :one, ${fillMissing('leaseOwner', 'leaseBeat')}`,
          condition: `attribute_not_exists(#pk) OR #leaseOwner = :empty${seen ? ` OR (#leaseOwner = :seenOwner AND ${seenBeat})` : ''}`,
          values: {
            ':owner': S(owner),
            ':one': N(1),
            ...(seen && { ':seenOwner': S(seen.owner), ':seenBeat': N(seen.beat) }),
            ...FILL_VALUES,
          },
          returnValues: 'ALL_NEW',
        }),
      );
      return out?.Attributes ? toRow(key, out.Attributes) : null;
    },

    async renewLease(key, owner) {
      if (owner === '') return false;
      const out = await conditional(
        update(CRED, key, {
          expression: 'SET #leaseBeat = if_not_exists(#leaseBeat, :zero) + :one',
          condition: '#leaseOwner = :owner',
          values: { ':owner': S(owner), ':zero': N(0), ':one': N(1) },
        }),
      );
      return out !== null;
    },

    async commit(key, owner, expectedVersion, u) {
      if (owner === '') return false; // '' means "nobody": it must not match a free row
      const out = await conditional(
        update(CRED, key, {
          expression:
            'SET #value = :value, #expiresAt = :expiresAt, #refreshedAt = :refreshedAt, #forcedAt = :forcedAt, #version = :next, #leaseOwner = :empty, #failures = :zero, #retryAt = :zero',
          condition: '#version = :expected AND #leaseOwner = :owner',
          values: {
            ':value': S(u.value),
            ':expiresAt': N(u.expiresAt),
            ':refreshedAt': N(u.refreshedAt),
            ':forcedAt': N(u.forcedAt),
            ':next': N(expectedVersion + 1),
            ':expected': N(expectedVersion),
            ':owner': S(owner),
            ...FILL_VALUES,
          },
        }),
      );
      return out !== null;
    },

    async releaseLease(key, owner, outcome = {}) {
      const given = (Object.keys(outcome) as (keyof ReleaseOutcome)[]).filter((f) => outcome[f] !== undefined);
      const set = given.map((f) => `#${f} = :${f}`);
      const values = Object.fromEntries(given.map((f) => [`:${f}`, N(outcome[f]!)]));
      if (owner !== '') {
        const released = await conditional(
          update(CRED, key, {
            expression: `SET ${['#leaseOwner = :empty', ...set].join(', ')}`,
            condition: '#leaseOwner = :owner',
            values: { ':owner': S(owner), ':empty': S(''), ...values },
          }),
        );
        if (released) return;
      }
      if (given.length === 0) return;
      // Not the holder: the outcome alone, creating the row when absent.
      await guard(
        update(CRED, key, {
          expression: `SET ${[...set, fillMissing(...given)].join(', ')}`,
          values: { ...values, ...FILL_VALUES },
        }),
      );
    },

    async insertIfAbsent(key, expiresAt, now) {
      const condition = 'attribute_not_exists(#pk) OR #expiresAt <= :now';
      const out = await conditional(
        client.send(
          new PutItemCommand({
            TableName: table,
            Item: { ...itemKey(NONCE, key), expiresAt: N(expiresAt), ttl: N(ttlSeconds(expiresAt)) },
            ConditionExpression: condition,
            ExpressionAttributeNames: namesIn(condition),
            ExpressionAttributeValues: { ':now': N(now) },
          }),
        ),
      );
      return out !== null;
    },

    async increment(key, by, expiresAt, now) {
      if (by === 0) {
        const { Item } = await get(COUNT, key);
        return Item && num(Item.expiresAt) > now ? num(Item.count) : 0;
      }
      if (by < 0) {
        // A take-back touches a live counter only, and stops at 0; an absent or expired one
        // fails both conditions and stays so (a take-back racing an increment may take back
        // nothing: the counter then errs high, never low).
        const live = 'attribute_exists(#pk) AND #expiresAt > :now';
        const taken = await conditional(
          update(COUNT, key, {
            expression: 'ADD #count :by',
            condition: `${live} AND #count >= :least`,
            values: { ':by': N(by), ':now': N(now), ':least': N(-by) },
            returnValues: 'UPDATED_NEW',
          }),
        );
        if (taken) return num(taken.Attributes?.count);
        await conditional(
          update(COUNT, key, {
            expression: 'SET #count = :zero',
            condition: `${live} AND #count < :least`,
            values: { ':zero': N(0), ':now': N(now), ':least': N(-by) },
          }),
        );
        return 0;
      }
      const values = { ':by': N(by), ':expiresAt': N(expiresAt), ':ttl': N(ttlSeconds(expiresAt)), ':now': N(now) };
      for (let attempt = 0; attempt < MAX_INCREMENT_ATTEMPTS; attempt++) {
        // Add to a live counter, or create it...
        const added = await conditional(
          update(COUNT, key, {
            expression:
              'ADD #count :by SET #expiresAt = if_not_exists(#expiresAt, :expiresAt), #ttl = if_not_exists(#ttl, :ttl)',
            condition: 'attribute_not_exists(#pk) OR #expiresAt > :now',
            values,
            returnValues: 'UPDATED_NEW',
          }),
        );
        if (added) return num(added.Attributes?.count);
        // ...or restart an expired one. When another caller restarted it first, this condition
        // fails and the next round adds to theirs.
        const restarted = await conditional(
          update(COUNT, key, {
            expression: 'SET #count = :by, #expiresAt = :expiresAt, #ttl = :ttl',
            condition: '#expiresAt <= :now',
            values,
          }),
        );
        if (restarted) return by;
      }
      throw new Error(
        `DynamoDB table "${table}": a counter kept expiring under concurrent increments (${MAX_INCREMENT_ATTEMPTS} attempts)`,
      );
    },

    async putRecord(key, value, expiresAt) {
      await guard(
        client.send(
          new PutItemCommand({
            TableName: table,
            Item: { ...itemKey(REC, key), value: S(value), expiresAt: N(expiresAt), ttl: N(ttlSeconds(expiresAt)) },
          }),
        ),
      );
    },

    async getRecord(key, now) {
      const { Item } = await get(REC, key);
      return Item && num(Item.expiresAt) > now ? text(Item.value) : null;
    },

    async deleteRecord(key) {
      await guard(client.send(new DeleteItemCommand({ TableName: table, Key: itemKey(REC, key) })));
    },

    async close() {
      reader.destroy();
      client.destroy();
    },
  };
}
