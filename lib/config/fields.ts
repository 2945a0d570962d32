/**
 * The field kinds the configuration is built from (valibot schemas), and how a valibot issue
 * becomes a ConfigError: `config: <field path>: <problem>` in one line, never echoing a value.
 * Every schema here carries its own message; see docs/design.md §3.5.
 */
import * as v from 'valibot';
import { ConfigError } from './errors';
import { parseMasterKey } from './master-key';
import { parseEndpoint, SecretProblem } from './secret-source';
import { referencePrefix } from './secrets';

type Obj = Record<string, unknown>;

export function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

// ---------------------------------------------------------------------------------------------
// Problems and paths.

class FieldProblem extends Error {
  constructor(
    readonly keys: readonly (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** Report `message` at `keys` below the value a rule() is looking at ([] for that value itself). */
export function fail(keys: readonly (string | number)[], message: string): never {
  throw new FieldProblem(keys, message);
}

type Path = [v.IssuePathItem, ...v.IssuePathItem[]];

function at(keys: readonly (string | number)[]): Path | undefined {
  const path = keys.map((key) => ({
    type: 'unknown' as const,
    origin: 'value' as const,
    input: undefined,
    key,
    value: undefined,
  }));
  return path.length > 0 ? (path as Path) : undefined;
}

/** A transformation that may fail() at the value or at fields below it: the cross-field rules. */
export function rule<I, O>(fn: (value: I) => O) {
  return v.rawTransform<I, O>(({ dataset, addIssue, NEVER }) => {
    try {
      return fn(dataset.value);
    } catch (err) {
      if (!(err instanceof FieldProblem)) throw err;
      addIssue({ message: err.message, path: at(err.keys) });
      return NEVER;
    }
  });
}

/** `value` through `schema`, else fail() at `keys` with its message: a field whose bounds depend on another. */
export function within<S extends v.GenericSchema>(
  keys: readonly (string | number)[],
  schema: S,
  value: unknown,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  return result.success ? result.output : fail(keys, result.issues[0].message);
}

/** Calls `duplicate(i, first)` for an entry whose id (when it has one) entry `first` had already. */
export function unique<T>(
  entries: readonly T[],
  id: (entry: T) => string | undefined,
  duplicate: (i: number, first: number) => void,
): void {
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    const key = id(entry);
    if (key === undefined) return;
    const first = seen.get(key);
    if (first !== undefined) duplicate(i, first);
    else seen.set(key, i);
  });
}

/** The first problem valibot found, as a ConfigError naming the field (`apps[1].secret`). */
export function configError(issue: v.BaseIssue<unknown>): ConfigError {
  let field = '';
  for (const { key } of issue.path ?? []) {
    field = typeof key === 'number' ? `${field}[${key}]` : field ? `${field}.${String(key)}` : String(key);
  }
  return new ConfigError(field, issue.message);
}

/** `input` through `schema`, or the ConfigError of its first problem. */
export function check<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  // The fallback message is never meant to show: every schema here has its own.
  const result = v.safeParse(schema, input, { abortEarly: true, message: 'is not valid' });
  if (!result.success) throw configError(result.issues[0]);
  return result.output;
}

// ---------------------------------------------------------------------------------------------
// Objects: strict, with a hint for a mistyped key.

/**
 * An object with exactly these entries. An unknown key is reported before anything else, with
 * the known key it most resembles; a missing one says what its entry says of `undefined`.
 */
export function strict<const E extends v.ObjectEntries>(entries: E, notObject = 'must be an object') {
  const known = Object.keys(entries);
  return v.pipe(
    v.custom<Obj>(isObj, notObject),
    v.rawCheck<Obj>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const unknown = Object.keys(dataset.value).filter((k) => !known.includes(k));
      const first = unknown[0];
      if (first === undefined) return;
      const guess = known.find((k) => similar(first, k));
      const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`;
      const more = unknown.length > 1 ? ` (also unknown: ${unknown.slice(1).join(', ')})` : '';
      addIssue({ message: `unknown key${hint}${more}`, path: at([first]) });
    }),
    v.strictObject(entries, (issue) => {
      const entry = entries[String(issue.path?.at(-1)?.key)];
      return (entry && v.safeParse(entry, undefined).issues?.[0].message) ?? 'is required';
    }),
  );
}

/** Edit distance ≤ 2, case-insensitive: enough to catch "realm", "secert", "tokenmode". */
function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (Math.abs(x.length - y.length) > 2) return false;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length]! <= 2;
}

// ---------------------------------------------------------------------------------------------
// Scalars and lists.

const NON_EMPTY = 'must be a non-empty string';
export const nonEmptyString = v.pipe(v.string(NON_EMPTY), v.minLength(1, NON_EMPTY));

/** A non-empty string matching `re`. */
export const matching = (re: RegExp, message: string) => v.pipe(nonEmptyString, v.regex(re, message));

export const bool = (fallback: boolean) => v.optional(v.boolean('must be true or false'), fallback);

export const integer = (min: number, max: number, note = '') =>
  v.custom<number>(
    (n) => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max,
    `must be an integer between ${min} and ${max}${note}`,
  );

export function oneOf<const T extends readonly [string, ...string[]]>(options: T, fallback: T[number]) {
  const quoted = options.map((o) => `"${o}"`);
  const listed = quoted.length > 2 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted.join(' or ');
  return v.optional(v.picklist(options, `must be ${listed}`), fallback);
}

/** An optional array, [] when absent. */
export const list = <S extends v.GenericSchema>(item: S) => v.optional(v.array(item, 'must be an array'), []);

/** A regular expression that must compile (the gateway matches them case-insensitively); `*` where allowed. */
export const pattern = (allowStar: boolean) =>
  v.pipe(
    nonEmptyString,
    rule((p: string) => {
      if (allowStar && p === '*') return p;
      try {
        new RegExp(p, 'i');
      } catch (err) {
        const reason = err instanceof Error ? (err.message.split(': ').pop() ?? err.message) : String(err);
        fail([], `not a valid regular expression (${reason})`);
      }
      return p;
    }),
  );

/** An http(s) base URL, returned without trailing '/'. */
export const baseUrl = v.pipe(
  v.string('must be an http(s) URL'),
  rule((s: string) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      fail([], 'must be an http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail([], 'must be an http(s) URL');
    if (url.search || url.hash) fail([], 'must be an http(s) URL without query or fragment');
    return s.replace(/\/+$/, '');
  }),
);

/** `host[:port]` (https) or `http(s)://host[:port]`, in the parts the Tencent SDKs take. */
export const endpoint = v.pipe(
  nonEmptyString,
  rule((s: string) => parseEndpoint(s) ?? fail([], 'must be host[:port] or http(s)://host[:port]')),
);

/** An environment flag. */
export const flag = v.pipe(
  v.string(),
  rule((s: string) => {
    const f = s.trim().toLowerCase();
    if (f === 'true' || f === '1') return true;
    if (f === 'false' || f === '0') return false;
    return fail([], 'must be true, false, 1 or 0');
  }),
);

/** A path prefix, normalised: leading '/', no trailing '/', '' for the root. */
export const basePath = v.pipe(
  v.custom<string>((p) => typeof p === 'string' && !/[\s?#]/.test(p), 'must be a path such as "/release"'),
  v.transform((p) => {
    const trimmed = p.replace(/^\/+|\/+$/g, '');
    return trimmed === '' ? '' : `/${trimmed}`;
  }),
);

// ---------------------------------------------------------------------------------------------
// Secrets.

/**
 * How a secret field's text becomes its value: a function resolving references (secrets.ts;
 * it throws SecretProblem), or 'report', which marks every secret field with a SECRET_FIELD
 * issue instead, so that secretFields() can list them with their paths.
 */
export type Secrets = ((text: string) => string) | 'report';
export const SECRET_FIELD = 'is a secret field';

/**
 * A secret: a non-empty literal or a reference such as env:NAME, resolved. `problem` checks the
 * value; its message then says which reference the value came from, never the value.
 */
export function secret(secrets: Secrets, problem: (value: string) => string | undefined = () => undefined) {
  return v.pipe(
    nonEmptyString,
    v.rawTransform<string, string>(({ dataset, addIssue, NEVER }) => {
      const text = dataset.value;
      if (secrets === 'report') {
        addIssue({ message: SECRET_FIELD });
        return NEVER;
      }
      let value: string;
      try {
        value = secrets(text);
      } catch (err) {
        if (!(err instanceof SecretProblem)) throw err;
        addIssue({ message: err.message });
        return NEVER;
      }
      // A value of spaces or a trailing newline only (a pasted secret, an echoed file) is no secret.
      const found = value.trim() === '' ? 'is empty after trimming whitespace' : problem(value);
      if (found === undefined) return value;
      addIssue({ message: `${found}${referencePrefix(text) === undefined ? '' : ` (the value of ${text})`}` });
      return NEVER;
    }),
  );
}

export const minLength = (min: number) => (s: string) =>
  s.length < min ? `must be at least ${min} characters` : undefined;

/** A webhook URL (http or https, a query allowed): a secret, as its key authorises posting. */
export const webhookUrl = (secrets: Secrets) =>
  secret(secrets, (text) => {
    try {
      const url = new URL(text);
      if (url.protocol === 'https:' || url.protocol === 'http:') return undefined;
    } catch {
      // said below
    }
    return 'must be an http(s) URL';
  });

const STORE_PREFIXES = ['memory:', 'file:', 'mysql://', 'dynamodb://', 'redis://'];

/** A store URL (memory:, file:DIR, mysql://…, dynamodb://…, redis://…) or, as it may hold a password, a reference. */
export const storeUrl = (secrets: Secrets) =>
  secret(secrets, (url) => {
    const prefix = STORE_PREFIXES.find((p) => url.startsWith(p));
    if (prefix === undefined)
      return `must start with ${STORE_PREFIXES.slice(0, -1).join(', ')} or ${STORE_PREFIXES.at(-1)}`;
    if (prefix !== 'memory:' && url.length === prefix.length) return `needs a location after "${prefix}"`;
    return undefined;
  });

/** A master key (master-key.ts), or a reference to one. */
export const masterKey = (secrets: Secrets) =>
  v.pipe(
    secret(secrets, (text) => {
      try {
        parseMasterKey(text);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    }),
    v.transform(parseMasterKey),
  );
