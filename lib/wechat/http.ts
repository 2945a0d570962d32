/**
 * The one transport every upstream client uses (DESIGN §7): a single JSON call with a timeout.
 *
 * - The body text is parsed as JSON whatever the Content-Type (jscode2session answers text/plain).
 * - Success is `errcode` absent or 0; anything else is a {@link WechatError} carrying the errcode.
 * - Errors name the endpoint only (e.g. 'cgi-bin/token'), never the URL: it carries secrets and tokens.
 * - One attempt: retries and backoff belong to the credential layer.
 */
import { UpstreamUnavailable, WechatError } from './errors';

export interface CallInit {
  method?: 'GET' | 'POST';
  /** Sent as the JSON request body (POST). */
  json?: unknown;
  /** Bound on the whole call: connect, headers and body. */
  timeoutMs: number;
}

export async function callJson(endpoint: string, url: string, init: CallInit): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(Math.max(1, Math.ceil(init.timeoutMs))); // it takes whole milliseconds only
  const method = init.method ?? (init.json === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  }

  let text: string;
  try {
    const res = await fetch(url, { method, headers, body, signal, redirect: 'manual' });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamUnavailable(endpoint, 'http', res.status);
    }
    text = await res.text();
  } catch (err) {
    if (err instanceof UpstreamUnavailable) throw err;
    // Never wrap or rethrow the fetch error itself: its message or cause may include the URL.
    if (signal.aborted || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
      throw new UpstreamUnavailable(endpoint, 'timeout');
    }
    throw new UpstreamUnavailable(endpoint, 'network');
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
