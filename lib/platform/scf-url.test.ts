import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../test/support/events';
import * as apigw from './scf-apigw';
import { matches, toRequest, toResult } from './scf-url';

describe('scf-url adapter (SCF Function URL)', () => {
  it('converts the recorded Function-URL event to the neutral request', () => {
    const event = loadEvent('scf-url');
    expect(matches(event)).toBe(true);
    expect(toRequest(event)).toEqual({
      method: 'POST',
      path: '/jsapi/wx123/config',
      query: { a: '1', b: '2' },
      headers: {
        accept: '*/*',
        'accept-encoding': 'gzip, deflate, br',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'content-length': '85',
        'content-type': 'application/json',
        host: '1250000000-abcd1234ef.ap-guangzhou.tencentscf.com',
        origin: 'https://www.example.com',
        'user-agent': 'Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.49',
        'x-scf-remote-addr': '111.206.96.145',
      },
      body: '{"url":"https://www.example.com/page?x=1","jsApiList":["chooseImage","previewImage"]}',
      sourceIp: '111.206.96.145',
    });
  });

  it('has no sourceIp when the header is missing, and no query when queryString is missing', () => {
    const event = loadEvent('scf-url');
    event.headers = { host: 'h' };
    delete event.queryString;
    delete event.body;
    event.httpMethod = 'get';
    expect(toRequest(event)).toEqual({
      method: 'GET',
      path: '/jsapi/wx123/config',
      query: {},
      headers: { host: 'h' },
      body: '',
    });
  });

  it('does not match API-gateway, AWS or timer events', () => {
    for (const name of ['scf-apigw', 'aws-v1', 'aws-v2', 'scf-timer', 'aws-schedule'] as const) {
      expect(matches(loadEvent(name))).toBe(false);
    }
  });

  it('answers with the structured response shared with the API-gateway trigger', () => {
    expect(toResult).toBe(apigw.toResult);
    expect(toResult({ status: 404, headers: { 'content-type': 'text/plain' }, body: 'nope' })).toEqual({
      isBase64Encoded: false,
      statusCode: 404,
      headers: { 'content-type': 'text/plain' },
      body: 'nope',
    });
  });
});
