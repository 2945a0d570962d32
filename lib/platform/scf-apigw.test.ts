import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../test/support/events';
import { matches, toRequest, toResult } from './scf-apigw';

const BODY = '{"url":"https://www.example.com/page?x=1#top","jsApiList":["scanQRCode"]}';

describe('scf-apigw adapter', () => {
  it('converts the recorded API-gateway event to the neutral request', () => {
    const event = loadEvent('scf-apigw');
    expect(matches(event)).toBe(true);
    expect(toRequest(event)).toEqual({
      method: 'POST',
      path: '/jsapi/wx123/config',
      query: { debug: '1', lang: 'zh_CN' },
      headers: {
        accept: 'application/json, text/plain, */*',
        'accept-language': 'zh-CN,zh;q=0.9',
        'content-type': 'application/json;charset=UTF-8',
        'content-length': '73',
        host: 'service-f94sy04v-1250000000.gz.apigw.tencentcs.com',
        origin: 'https://www.example.com',
        'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47',
        'x-forwarded-for': '58.60.230.12',
        'x-anonymous-consumer': 'true',
        'x-api-requestid': '3c1b3c8c1f2a9e0d7b6a5c4d3e2f1a0b',
        'x-b3-traceid': '3c1b3c8c1f2a9e0d7b6a5c4d3e2f1a0b',
        'x-qualifier': '$DEFAULT',
      },
      body: BODY,
      sourceIp: '58.60.230.12',
    });
  });

  it('decodes a base64 body, lower-cases the method, takes the last of repeated query values', () => {
    const event = loadEvent('scf-apigw');
    event.httpMethod = 'post';
    event.isBase64Encoded = true;
    event.body = Buffer.from('{"a":"中文"}').toString('base64');
    event.queryString = { lang: ['zh_CN', 'en'], n: 3 };
    event.headers = { 'X-Tag': 'a', 'x-tag': 'b' };
    const req = toRequest(event);
    expect(req.method).toBe('POST');
    expect(req.body).toBe('{"a":"中文"}');
    expect(req.query).toEqual({ lang: 'en', n: '3' });
    expect(req.headers).toEqual({ 'x-tag': 'a, b' });
  });

  it('copes with missing body, query and headers', () => {
    const event = { requestContext: { serviceId: 'service-x' }, httpMethod: 'GET', path: 'ping' };
    expect(matches(event)).toBe(true);
    expect(toRequest(event)).toEqual({ method: 'GET', path: '/ping', query: {}, headers: {}, body: '' });
  });

  it('does not match other events', () => {
    expect(matches(loadEvent('scf-url'))).toBe(false);
    expect(matches(loadEvent('aws-v1'))).toBe(false);
    expect(matches({ requestContext: { serviceId: 1 }, httpMethod: 'GET' })).toBe(false);
  });

  it('answers in the integration-response shape', () => {
    expect(
      toResult({ status: 201, headers: { 'content-type': 'application/json', 'x-a': '1' }, body: '{"ok":true}' }),
    ).toEqual({
      isBase64Encoded: false,
      statusCode: 201,
      headers: { 'content-type': 'application/json', 'x-a': '1' },
      body: '{"ok":true}',
    });
  });
});
