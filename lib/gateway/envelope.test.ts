import { describe, expect, it } from 'vitest';
import { ApiError } from '../interfaces/errors';
import {
  envelopeError,
  envelopeOk,
  jsonResponse,
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  parseEnvelope,
  routeError,
} from './envelope';

const refusal = (body: string) => {
  try {
    parseEnvelope(body);
  } catch (err) {
    const e = err as ApiError;
    return `${e.code}: ${e.message}`;
  }
  return 'accepted';
};
const wrap = (iface: unknown) => JSON.stringify({ version: 1, componentName: 'MA', interface: iface });

describe('parseEnvelope', () => {
  it('says what is missing or wrong, in the order a client would fix it', () => {
    expect(refusal('{"interface":')).toBe('not_json: the request body is not JSON');
    expect(refusal('[1]')).toBe('not_json: the request body must be a JSON object');
    expect(refusal('{}')).toBe('no_interface: interface.interfaceName is missing');
    expect(refusal(wrap({ interfaceName: '', para: {} }))).toBe('no_interface: interface.interfaceName is missing');
    expect(refusal(wrap({ interfaceName: 7, para: {} }))).toBe('no_interface: interface.interfaceName is missing');
    expect(refusal(wrap({ interfaceName: 'x' }))).toBe('no_para: interface.para is missing');
    expect(refusal(wrap({ interfaceName: 'x', para: null }))).toBe('no_para: interface.para is missing');
    expect(refusal(wrap({ interfaceName: 'x', para: [] }))).toBe('bad_para: interface.para must be a JSON object');
  });

  it('takes an appid beside para when para has none, and adds nothing otherwise', () => {
    expect(parseEnvelope(wrap({ interfaceName: 'x', para: { a: 1 }, appid: 'wx1' }))).toStrictEqual({
      interfaceName: 'x',
      para: { a: 1, appid: 'wx1' },
    });
    expect(parseEnvelope(wrap({ interfaceName: 'x', para: { appid: 'wx2' }, appid: 'wx1' })).para).toStrictEqual({
      appid: 'wx2',
    });
    expect(parseEnvelope(wrap({ interfaceName: 'x', para: { a: 1 } })).para).toStrictEqual({ a: 1 });
  });

  it(`takes para nested ${MAX_JSON_DEPTH} levels deep, values at the deepest level included, and refuses one level more`, () => {
    const nest = (levels: number): unknown => (levels <= 1 ? { leaf: 'text', n: 1 } : { a: nest(levels - 1) });
    expect(nestedDeeperThan(nest(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(refusal(wrap({ interfaceName: 'x', para: nest(MAX_JSON_DEPTH) }))).toBe('accepted');
    expect(refusal(wrap({ interfaceName: 'x', para: { deeper: nest(MAX_JSON_DEPTH) } }))).toBe(
      `bad_para: interface.para is nested more than ${MAX_JSON_DEPTH} levels deep`,
    );
  });
});

describe('answers', () => {
  it('are JSON, each with its own headers object', () => {
    const err = new ApiError('not_found', 'nothing here');
    const answers = [envelopeOk({ a: 1 }), envelopeError(err), routeError(err), jsonResponse([1])];
    for (const res of answers) expect(res.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
    answers[0]!.headers.allow = 'POST';
    expect(envelopeOk({}).headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
    expect(JSON.parse(envelopeOk({ a: 1 }).body)).toEqual({
      version: 1,
      componentName: 'MA',
      returnCode: 0,
      returnMessage: 'OK',
      returnData: { a: 1 },
    });
    expect(routeError(err)).toMatchObject({
      status: 404,
      body: '{"error":{"code":"not_found","message":"nothing here"}}',
    });
  });
});
