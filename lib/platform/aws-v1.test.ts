import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../test/support/events';
import { matches, toRequest, toResult } from './aws-v1';

const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47';

describe('aws-v1 adapter (API Gateway REST proxy)', () => {
  it('converts the recorded REST event to the neutral request', () => {
    const event = loadEvent('aws-v1');
    expect(matches(event)).toBe(true);
    expect(toRequest(event)).toEqual({
      method: 'POST',
      // requestContext.path: the path the client sent, stage included
      path: '/jsapi/wx123/config',
      query: { debug: '1', lang: 'en' },
      headers: {
        accept: 'application/json',
        'accept-encoding': 'gzip, deflate, br',
        'cloudfront-forwarded-proto': 'https',
        'cloudfront-viewer-country': 'HK',
        'content-type': 'application/json',
        host: 'puhdx84jy9.execute-api.ap-east-1.amazonaws.com',
        origin: 'https://www.example.com',
        'user-agent': UA,
        via: '1.1 49c0c4776e390b983c9f9f5365e3140c.cloudfront.net (CloudFront)',
        'x-amz-cf-id': 'x9VncJ8IMo4X5UQEL8-Xg94vWwwuokofx236RgW1CrFCTh9DnPrgJA==',
        'x-amzn-trace-id': 'Root=1-66704cad-0fbaf1491365339d168b2a7d',
        'x-forwarded-for': '203.0.113.7, 130.176.209.21',
        'x-forwarded-port': '443',
        'x-forwarded-proto': 'https',
        'x-wecred-tag': 'a, b',
      },
      body: '{"url":"https://www.example.com/page?x=1#top","jsApiList":["scanQRCode"]}',
      sourceIp: '203.0.113.7',
    });
  });

  it('falls back to headers / queryStringParameters when the multi-value maps are null', () => {
    const event = loadEvent('aws-v1');
    event.multiValueHeaders = null;
    event.multiValueQueryStringParameters = null;
    const req = toRequest(event);
    expect(req.headers['x-wecred-tag']).toBe('b');
    expect(req.query).toEqual({ debug: '1', lang: 'en' });
  });

  it('handles a console test invocation (null maps, null body, no stage in the path)', () => {
    const event = {
      resource: '/ping',
      path: '/ping',
      httpMethod: 'GET',
      headers: null,
      multiValueHeaders: null,
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      requestContext: {
        path: '/ping',
        stage: 'test-invoke-stage',
        apiId: 'puhdx84jy9',
        identity: { sourceIp: 'test-invoke-source-ip' },
      },
      body: null,
      isBase64Encoded: false,
    };
    expect(matches(event)).toBe(true);
    expect(toRequest(event)).toEqual({
      method: 'GET',
      path: '/ping',
      query: {},
      headers: {},
      body: '',
      sourceIp: 'test-invoke-source-ip',
    });
  });

  it('uses the path below the stage, however the API is reached', () => {
    const event = loadEvent('aws-v1');
    (event.requestContext as Record<string, unknown>).path = '/v1/jsapi/wx123/config/';
    event.path = '/jsapi/wx123/config/';
    expect(toRequest(event).path).toBe('/jsapi/wx123/config/');
  });

  it('decodes a base64 body', () => {
    const event = loadEvent('aws-v1');
    event.body = Buffer.from('a=1&b=中').toString('base64');
    event.isBase64Encoded = true;
    expect(toRequest(event).body).toBe('a=1&b=中');
  });

  it('does not match SCF, v2, ALB or timer events', () => {
    for (const name of ['scf-apigw', 'scf-url', 'aws-v2', 'aws-v2-base64', 'scf-timer', 'aws-schedule'] as const) {
      expect(matches(loadEvent(name))).toBe(false);
    }
    const alb = {
      requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:...' } },
      httpMethod: 'GET',
      path: '/',
      headers: {},
    };
    expect(matches(alb)).toBe(false);
  });

  it('answers in the proxy-integration shape', () => {
    expect(toResult({ status: 200, headers: { 'content-type': 'application/json' }, body: '{}' })).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{}',
      isBase64Encoded: false,
    });
  });
});
