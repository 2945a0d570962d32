import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../test/support/events';
import { matches, toRequest, toResult } from './aws-v2';

describe('aws-v2 adapter (HTTP API / Lambda Function URL, payload 2.0)', () => {
  it('converts the recorded HTTP API event to the neutral request', () => {
    const event = loadEvent('aws-v2');
    expect(matches(event)).toBe(true);
    expect(toRequest(event)).toEqual({
      method: 'POST',
      path: '/jsapi/wx123/config',
      query: { debug: '1', lang: 'en', next: '/home?a=1' },
      headers: {
        accept: 'application/json',
        'accept-encoding': 'gzip, deflate, br',
        'content-length': '73',
        'content-type': 'application/json',
        cookie: 'sid=abc123; theme=dark',
        host: 'lsw1ro4ipb.execute-api.ap-east-1.amazonaws.com',
        origin: 'https://www.example.com',
        'user-agent': 'Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.49',
        'x-amzn-trace-id': 'Root=1-66705bc7-2b4257df30cbee696ef2cf28',
        'x-forwarded-for': '198.51.100.23',
        'x-forwarded-port': '443',
        'x-forwarded-proto': 'https',
        'x-wecred-tag': 'a,b',
      },
      body: '{"url":"https://www.example.com/page?x=1#top","jsApiList":["scanQRCode"]}',
      sourceIp: '198.51.100.23',
    });
  });

  it('converts the recorded base64 Function-URL event, decoding the body to UTF-8', () => {
    const event = loadEvent('aws-v2-base64');
    expect(matches(event)).toBe(true);
    expect(toRequest(event)).toEqual({
      method: 'POST',
      path: '/jsapi/wx123/config',
      query: { lang: 'zh_CN' },
      headers: {
        'content-length': '71',
        'content-type': 'application/json',
        host: 'abcdefghijklmnopqrstuvwxyz0123.lambda-url.ap-east-1.on.aws',
        origin: 'https://www.example.com',
        'user-agent': 'curl/8.5.0',
        'x-amzn-tls-cipher-suite': 'TLS_AES_128_GCM_SHA256',
        'x-amzn-tls-version': 'TLSv1.3',
        'x-amzn-trace-id': 'Root=1-62ecd163-5f302e550dcde3b12402207d',
        'x-forwarded-for': '2001:db8::1',
        'x-forwarded-port': '443',
        'x-forwarded-proto': 'https',
      },
      body: '{"url":"https://www.example.com/页面?x=1","jsApiList":["scanQRCode"]}',
      sourceIp: '2001:db8::1',
    });
  });

  it('keeps a non-default stage in rawPath, merges cookies into an existing cookie header', () => {
    const event = loadEvent('aws-v2');
    event.rawPath = '/prod/jsapi/wx123/config';
    (event.headers as Record<string, string>).cookie = 'a=1';
    event.rawQueryString = '';
    delete event.body;
    const req = toRequest(event);
    expect(req.path).toBe('/prod/jsapi/wx123/config');
    expect(req.headers.cookie).toBe('a=1; sid=abc123; theme=dark');
    expect(req.query).toEqual({ debug: '1', lang: 'zh_CN,en', next: '/home?a=1' });
    expect(req.body).toBe('');
  });

  it('does not match v1, SCF or timer events', () => {
    for (const name of ['aws-v1', 'scf-apigw', 'scf-url', 'scf-timer', 'aws-schedule'] as const) {
      expect(matches(loadEvent(name))).toBe(false);
    }
    expect(matches({ version: '1.0', rawPath: '/', requestContext: { http: {} } })).toBe(false);
  });

  it('answers in the 2.0 response shape', () => {
    expect(toResult({ status: 302, headers: { location: 'https://example.com/' }, body: '' })).toEqual({
      statusCode: 302,
      headers: { location: 'https://example.com/' },
      body: '',
      isBase64Encoded: false,
    });
  });

  it('sets a cookie through `cookies`, as the 2.0 format wants', () => {
    const cookie = 'wecred_oauth=x; Path=/oauth/wx1/; HttpOnly; SameSite=Lax';
    expect(
      toResult({ status: 302, headers: { location: 'https://open.example/', 'set-cookie': cookie }, body: '' }),
    ).toEqual({
      statusCode: 302,
      headers: { location: 'https://open.example/' },
      cookies: [cookie],
      body: '',
      isBase64Encoded: false,
    });
  });
});
