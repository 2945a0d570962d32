import { describe, expect, it } from 'vitest';
import { loadEvent, sampleNames, samples } from '../../test/support/events';
import { adaptEvent, adapters } from './events';

describe('adaptEvent', () => {
  it.each(sampleNames)('classifies %s, and exactly one adapter matches it', (name) => {
    const event = loadEvent(name);
    const expected = samples[name];
    expect(adapters.filter((a) => a.matches(event)).map((a) => a.name)).toEqual([expected]);
    const adapted = adaptEvent(event);
    expect(adapted.kind).toBe(expected === 'scf-timer' || expected === 'aws-schedule' ? 'timer' : 'http');
    expect(adapted.kind !== 'unknown' && adapted.source).toBe(expected);
  });

  it('gives every HTTP sample the same neutral request for the same call', () => {
    for (const name of ['scf-apigw', 'scf-url', 'aws-v1', 'aws-v2', 'aws-v2-base64'] as const) {
      const adapted = adaptEvent(loadEvent(name));
      if (adapted.kind !== 'http') throw new Error(`${name} not http`);
      expect(adapted.request.method).toBe('POST');
      expect(adapted.request.path).toMatch(/^(\/prod)?\/jsapi\/wx123\/config$/);
      expect(JSON.parse(adapted.request.body)).toHaveProperty('url');
      expect(adapted.request.sourceIp).toBeTruthy();
      expect(adapted.toResult({ status: 200, headers: { a: 'b' }, body: 'x' })).toEqual({
        statusCode: 200,
        headers: { a: 'b' },
        body: 'x',
        isBase64Encoded: false,
      });
    }
  });

  it.each([
    ['{}', {}],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'GET /'],
    ['a number', 42],
    ['an array', [loadEvent('aws-v2')]],
    ['an SQS batch', { Records: [{ eventSource: 'aws:sqs', body: '{}' }] }],
    ['an ALB event', { requestContext: { elb: { targetGroupArn: 'arn' } }, httpMethod: 'GET', path: '/', headers: {} }],
    ['a direct invoke payload', { interfaceName: 'access_token', para: { appid: 'wx123' } }],
    ['a COS trigger', { Records: [{ cos: {}, event: { eventName: 'cos:ObjectCreated:*' } }] }],
  ])('returns unknown for %s', (_label, event) => {
    expect(adaptEvent(event)).toEqual({ kind: 'unknown' });
  });

  it('returns unknown rather than throwing on a hostile event', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        has() {
          throw new Error('boom');
        },
      },
    );
    expect(adaptEvent(hostile)).toEqual({ kind: 'unknown' });
  });
});
