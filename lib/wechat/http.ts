/**
 * The one transport every upstream client uses: a single JSON call on node:http(s) with a
 * timeout; success is `errcode` absent or 0, errors name the endpoint, never the URL, and
 * retries belong to the credential layer. docs/design.md §7.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { MetricsSink } from '../metrics/sink';
import { UpstreamUnavailable, WechatError } from './errors';

/** WeChat's answers are a few hundred bytes; anything this large is not one. */
const MAX_BODY_BYTES = 1 << 20;

export interface CallInit {
  method?: 'GET' | 'POST';
  /** Sent as the JSON request body (POST). */
  json?: unknown;
  /** Bound on the whole call: connect, headers and body. */
  timeoutMs: number;
}

/** Where each upstream call's outcome is reported (metrics): per process, as the circuits are. */
const sinks = new Set<Pick<MetricsSink, 'upstream'>>();

/** Report every upstream call to `sink` until the returned function is called. */
export function observeUpstream(sink: Pick<MetricsSink, 'upstream'>): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

/** One upstream call: the answer's JSON object; a WechatError for a non-zero errcode, UpstreamUnavailable for no usable answer. */
export function callJson(endpoint: string, url: string, init: CallInit): Promise<Record<string, unknown>> {
  return reported(endpoint, () => exchange(endpoint, url, init));
}

/** POST `json` to a webhook that is not WeChat's: any 2xx answer is success, whatever its body. */
export function postJson(endpoint: string, url: string, json: unknown, timeoutMs: number): Promise<void> {
  return reported(endpoint, async () => {
    await send(endpoint, url, 'POST', JSON.stringify(json), Math.max(1, timeoutMs), true);
  });
}

/** `call`, its outcome reported to every sink: '0', the errcode, or why nothing usable came back. */
async function reported<T>(endpoint: string, call: () => Promise<T>): Promise<T> {
  let outcome = 'network';
  try {
    const out = await call();
    outcome = '0';
    return out;
  } catch (err) {
    if (err instanceof WechatError) outcome = String(err.errcode);
    else if (err instanceof UpstreamUnavailable) outcome = err.reason;
    throw err;
  } finally {
    for (const sink of sinks) sink.upstream(endpoint, outcome);
  }
}

/** The call itself: the host's circuit, one exchange, the body as a JSON object and its errcode. */
async function exchange(endpoint: string, url: string, init: CallInit): Promise<Record<string, unknown>> {
  const method = init.method ?? (init.json === undefined ? 'GET' : 'POST');
  const body = init.json === undefined ? undefined : JSON.stringify(init.json);
  const circuit = circuitOf(url);
  circuit.before(endpoint);
  let text: string;
  try {
    text = await send(endpoint, url, method, body, Math.max(1, init.timeoutMs));
    circuit.answered();
  } catch (err) {
    circuit.failed((err as UpstreamUnavailable).reason);
    throw err;
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UpstreamUnavailable(endpoint, 'body');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UpstreamUnavailable(endpoint, 'body');
  }
  const obj = parsed as Record<string, unknown>;

  const errcode = readErrcode(obj.errcode);
  if (errcode === 'invalid') throw new UpstreamUnavailable(endpoint, 'body');
  if (errcode !== undefined && errcode !== 0) {
    throw new WechatError(endpoint, errcode, typeof obj.errmsg === 'string' ? obj.errmsg : '');
  }
  return obj;
}

/**
 * One HTTP exchange on node:http(s) (keep-alive by default since Node 19): the body text of a
 * 200 answer. node:http rather than fetch: fetch's parser is WebAssembly whose compilation alone
 * costs a 128 MB function a quarter of its memory. Errors never carry the URL.
 */
function send(
  endpoint: string,
  url: string,
  method: 'GET' | 'POST',
  body: string | undefined,
  timeoutMs: number,
  /** Any 2xx status is an answer (webhooks), not only 200. */
  any2xx = false,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const fail = (err: UpstreamUnavailable) => {
      clearTimeout(timer);
      req.destroy();
      reject(err); // after a settle, a no-op
    };
    let req: ReturnType<typeof httpRequest>;
    try {
      req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method, headers });
    } catch {
      return reject(new UpstreamUnavailable(endpoint, 'network')); // an unusable URL; its text may hold a secret
    }
    // Bounds the whole exchange: connect, headers and body.
    const timer = setTimeout(() => fail(new UpstreamUnavailable(endpoint, 'timeout')), timeoutMs);
    req.on('error', () => fail(new UpstreamUnavailable(endpoint, 'network')));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (any2xx ? status < 200 || status > 299 : status !== 200) {
        res.resume();
        return fail(new UpstreamUnavailable(endpoint, 'http', res.statusCode));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) return fail(new UpstreamUnavailable(endpoint, 'body'));
        chunks.push(chunk);
      });
      res.on('error', () => fail(new UpstreamUnavailable(endpoint, 'network')));
      res.on('close', () => {
        if (!res.complete) return fail(new UpstreamUnavailable(endpoint, 'network')); // cut off mid-body
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
    req.end(body);
  });
}

/** A host that failed to answer this many times in a row is not asked again for a while. */
const OPEN_AFTER = 3;
const MIN_OPEN_MS = 1_000;
const MAX_OPEN_MS = 10_000;

/**
 * Per upstream host, in this process: after OPEN_AFTER connection failures or timeouts in a row,
 * calls fail at once for 1 s, then one call is let through (half-open); its failure doubles the
 * wait (at most 10 s), its answer closes the circuit (docs/design.md §7).
 */
class HostCircuit {
  private failures = 0;
  private openUntil = 0;
  private openMs = MIN_OPEN_MS;
  private trial = false;

  before(endpoint: string): void {
    if (this.failures < OPEN_AFTER) return;
    if (this.trial || performance.now() < this.openUntil) throw new UpstreamUnavailable(endpoint, 'circuit');
    this.trial = true; // half-open: this call decides
  }

  answered(): void {
    this.failures = 0;
    this.openMs = MIN_OPEN_MS;
    this.trial = false;
  }

  failed(reason: UpstreamUnavailable['reason'] | undefined): void {
    if (reason !== 'network' && reason !== 'timeout') {
      // the host answered (an HTTP error, a bad body): it is reachable
      if (reason !== 'circuit') this.answered();
      return;
    }
    if (this.trial) this.openMs = Math.min(MAX_OPEN_MS, this.openMs * 2);
    this.trial = false;
    if (++this.failures >= OPEN_AFTER) this.openUntil = performance.now() + this.openMs;
  }
}

const circuits = new Map<string, HostCircuit>();

/** Close every circuit (tests that fail one host on purpose, then use it again). */
export function forgetCircuits(): void {
  circuits.clear();
}

function circuitOf(url: string): HostCircuit {
  const host = /^[a-z]+:\/\/([^/?#]+)/i.exec(url)?.[1] ?? '';
  let c = circuits.get(host);
  if (!c) {
    c = new HostCircuit();
    circuits.set(host, c);
  }
  return c;
}

/** `errcode` as a number; undefined when absent (or null); 'invalid' when it is not an integer. */
function readErrcode(v: unknown): number | undefined | 'invalid' {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return Number.isInteger(v) ? v : 'invalid';
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return 'invalid';
}

/**
 * `base` + `path` + `?query`, with one '/' between base and path whether or not base ends with one,
 * and every query value percent-encoded (encodeURIComponent).
 */
export function upstreamUrl(base: string, path: string, query?: Record<string, string>): string {
  const root = base.replace(/\/+$/, '');
  const rel = path.startsWith('/') ? path : `/${path}`;
  if (!query) return root + rel;
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return qs ? `${root}${rel}?${qs}` : root + rel;
}
