/** The Wafer-compatible JSON envelope (docs/design.md §3.1). */
import { ApiError } from '../interfaces/errors';
import type { HttpResponse } from './http';

export interface Envelope {
  interfaceName: string;
  para: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON nested deeper than this is refused (1003) before anything walks it: no interface takes more than a few levels. */
export const MAX_JSON_DEPTH = 32;

/** True when `value` nests objects or arrays more than `max` levels deep; a loop, so no stack to overflow. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [v, depth] = next;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) pending.push([child, depth + 1]);
  }
  return false;
}

/** `{"version":1,"componentName":"MA","interface":{"interfaceName","para"}}`; only interfaceName and para are read. */
export function parseEnvelope(body: string): Envelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ApiError('not_json', 'the request body is not JSON');
  }
  if (!isObject(parsed)) throw new ApiError('not_json', 'the request body must be a JSON object');
  const iface = parsed.interface;
  if (!isObject(iface)) throw new ApiError('no_interface', 'interface.interfaceName is missing');
  const { interfaceName, para, appid } = iface;
  if (typeof interfaceName !== 'string' || interfaceName === '')
    throw new ApiError('no_interface', 'interface.interfaceName is missing');
  if (para === undefined || para === null) throw new ApiError('no_para', 'interface.para is missing');
  if (!isObject(para)) throw new ApiError('bad_para', 'interface.para must be a JSON object');
  if (nestedDeeperThan(para, MAX_JSON_DEPTH))
    throw new ApiError('bad_para', `interface.para is nested more than ${MAX_JSON_DEPTH} levels deep`);
  // Wafer clients may put the appid beside para rather than in it.
  const merged = appid !== undefined && para.appid === undefined ? { ...para, appid } : para;
  return { interfaceName, para: merged };
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function envelopeOk(returnData: Record<string, unknown>): HttpResponse {
  return {
    status: 200,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({ version: 1, componentName: 'MA', returnCode: 0, returnMessage: 'OK', returnData }),
  };
}

/** Always HTTP 200 for an envelope answer, except when the request was not an envelope at all. */
export function envelopeError(err: ApiError, status = 200): HttpResponse {
  return {
    status,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({
      version: 1,
      componentName: 'MA',
      returnCode: err.returnCode,
      returnMessage: err.message,
      returnData: '',
      error: err.toJSON(),
    }),
  };
}

/** Routes answer `{"error":{code,message}}` with the error's HTTP status. */
export function routeError(err: ApiError): HttpResponse {
  return { status: err.httpStatus, headers: { ...JSON_HEADERS }, body: JSON.stringify({ error: err.toJSON() }) };
}

export function jsonResponse(data: unknown, status = 200): HttpResponse {
  return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify(data) };
}
