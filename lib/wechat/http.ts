/**
 * The one transport every upstream client uses: a single JSON call on node:http(s) with a
 * timeout; success is `errcode` absent or 0, errors name the endpoint, never the URL, and
 * retries belong to the credential layer. docs/design.md §7.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

export async function callJson(endpoint: string, url: string, init: CallInit): Promise<Record<string, unknown>> {
  const method = init.method ?? (init.json === undefined ? 'GET' : 'POST');
  const body = init.json === undefined ? undefined : JSON.stringify(init.json);
  const text = await send(endpoint, url, method, body, Math.max(1, init.timeoutMs));

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
      if (res.statusCode !== 200) {
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
