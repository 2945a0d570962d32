/**
 * Small helpers every event adapter uses to build the neutral request, plus the result
 * shapes the adapters share. Nothing here knows which platform produced an event. docs/design.md §4.
 */
import type { HttpRequest, HttpResponse, RefreshReport } from '../gateway/http';

export type Json = Record<string, unknown>;

/** Logs platform-level failures; `lib/log`'s Logger fits. */
export interface PlatformLogger {
  log(level: 'error' | 'warn', event: string, fields?: Record<string, unknown>): void;
}

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A header or query value as platforms send it: a string, a list, sometimes a number. */
function valueList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(valueList);
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  return [];
}

/**
 * Header names lower-cased; values of names that repeat (as a list, or spelled in two
 * cases) joined with ', '.
 */
export function lowerHeaders(...sources: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const source of sources) {
    if (!isRecord(source)) continue;
    for (const [name, raw] of Object.entries(source)) {
      const values = valueList(raw);
      if (values.length === 0) continue;
      const key = name.toLowerCase();
      const joined = values.join(', ');
      const prev = out[key];
      out[key] = prev === undefined ? joined : `${prev}, ${joined}`;
    }
  }
  return out;
}

/** Already-decoded query parameters; for a repeated key (a list) the last value wins. */
export function lastValues(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(query)) return out;
  for (const [key, raw] of Object.entries(query)) {
    const values = valueList(raw);
    const last = values[values.length - 1];
    if (last !== undefined) out[key] = last;
  }
  return out;
}

/** A raw query string (`a=1&b=%20x`) decoded; the last value wins. */
export function parseQueryString(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) out[key] = value;
  return out;
}

/** The body as text ('' when absent), and its bytes when the platform sent it base64-encoded. */
export function bodyOf(body: unknown, isBase64Encoded: unknown): { body: string; bytes?: Buffer } {
  if (body === undefined || body === null) return { body: '' };
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (isBase64Encoded !== true) return { body: text };
  const bytes = Buffer.from(text, 'base64');
  return { body: bytes.toString('utf8'), bytes };
}

export function leadingSlash(path: unknown): string {
  const p = typeof path === 'string' ? path : '';
  return p.startsWith('/') ? p : `/${p}`;
}

export function upperMethod(method: unknown): string {
  return typeof method === 'string' && method !== '' ? method.toUpperCase() : 'GET';
}

export function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The neutral request from the fields every API-gateway style event carries in its own places. */
export function proxyRequest(f: {
  method: unknown;
  path: unknown;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  isBase64Encoded: unknown;
  sourceIp: unknown;
}): HttpRequest {
  const req: HttpRequest = {
    method: upperMethod(f.method),
    path: leadingSlash(f.path),
    query: f.query,
    headers: f.headers,
    ...bodyOf(f.body, f.isBase64Encoded),
  };
  const ip = stringOrUndefined(f.sourceIp);
  if (ip !== undefined) req.sourceIp = ip;
  return req;
}

/** What API-gateway style platforms (SCF, API Gateway v1/v2, Function URLs) expect back. */
export interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

export function proxyResult(res: HttpResponse): ProxyResult {
  return { statusCode: res.status, headers: { ...res.headers }, body: res.body, isBase64Encoded: false };
}

/** What a timer invocation returns: the refresh report, JSON-able, with an overall flag. */
export interface TimerResult extends RefreshReport {
  ok: boolean;
}

export function timerResult(report: RefreshReport): TimerResult {
  return {
    ok: report.failed.length === 0,
    checked: report.checked,
    refreshed: report.refreshed,
    failed: report.failed.map((f) => ({ key: f.key, reason: f.reason })),
  };
}

/** A platform-level JSON error response (the app never produced it). */
export function errorResponse(status: number, code: string, message: string): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { code, message } }),
  };
}
