import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, beijingNoon, MP, startStack, type Stack } from './support/stack';

let stack: Stack;
afterEach(() => stack?.close());

describe('POST /jsapi/:appid/config', () => {
  it('300 concurrent cold requests cause exactly one token and one ticket fetch, and every signature is valid', async () => {
    stack = await startStack();
    const url = 'https://example.com/page?x=1';
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => stack.post(`/jsapi/${MP.appid}/config`, { url })),
    );
    expect(stack.sim.calls('stable_token')).toBe(1);
    expect(stack.sim.calls('getticket')).toBe(1);
    for (const { status, json } of answers) {
      expect(status).toBe(200);
      expect(
        stack.sim.verifyJsapiSignature({
          appid: MP.appid,
          url,
          nonceStr: json.nonceStr,
          timestamp: json.timestamp,
          signature: json.signature,
        }),
      ).toBe(true);
    }
    expect(new Set(answers.map((a) => a.json.nonceStr)).size).toBe(300);
  });

  it("signs the url without its #fragment, echoes the body's other keys, and gives the timestamp in seconds", async () => {
    stack = await startStack();
    const page = 'https://example.com/app/?from=share#/orders/7?tab=2';
    const { status, json } = await stack.post(`/jsapi/${MP.appid}/config`, {
      url: page,
      jsApiList: ['updateTimelineShareData'],
      debug: true,
      any: 'echo any',
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({
      appId: MP.appid,
      url: page,
      jsApiList: ['updateTimelineShareData'],
      debug: true,
      any: 'echo any',
    });
    expect(Math.abs(json.timestamp - stack.sim.now() / 1000)).toBeLessThan(5);
    expect(Number.isInteger(json.timestamp)).toBe(true);
    const signed = { appid: MP.appid, nonceStr: json.nonceStr, timestamp: json.timestamp, signature: json.signature };
    expect(stack.sim.verifyJsapiSignature({ ...signed, url: 'https://example.com/app/?from=share' })).toBe(true);
  });

  it("answers jsdkd's spelling of the route, form bodies, CORS for allowed origins only, and the envelope interface alike", async () => {
    stack = await startStack({ config: { cors: ['example\\.com'] } });
    const jsdkd = await stack.post(
      `/jsapi/config/${MP.appid}`,
      { url: 'http://example.com' },
      { origin: 'https://example.com' },
    );
    expect(jsdkd.status).toBe(200);
    expect(jsdkd.headers.get('access-control-allow-origin')).toBe('https://example.com');
    const evil = await stack.post(
      `/jsapi/${MP.appid}/config`,
      { url: 'http://example.com' },
      { origin: 'https://example.com.evil.net' },
    );
    expect(evil.status).toBe(200);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const form = await stack.post(`/jsapi/${MP.appid}/config`, 'url=https%3A%2F%2Fexample.com%2Fp', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.json.url).toBe('https://example.com/p');
    const env = await stack.envelope('jsapi.config', { url: 'https://example.com/q' }, null);
    expect(env.json.returnCode).toBe(0);
    expect(env.json.returnData).toMatchObject({ appId: MP.appid, url: 'https://example.com/q', jsApiList: [] });
    expect(
      stack.sim.verifyJsapiSignature({ appid: MP.appid, url: 'https://example.com/q', ...pick(env.json.returnData) }),
    ).toBe(true);
    expect(stack.sim.calls('getticket')).toBe(1);
  });

  it('a ticket WeChat answers 45009 for is not asked for again before Beijing midnight; the token is not blocked', async () => {
    stack = await startStack({ simOptions: { now: beijingNoon() } });
    stack.sim.fault('getticket', { errcode: 45009, errmsg: 'reach max api daily quota limit' });
    const refused = await stack.post(`/jsapi/${MP.appid}/config`, { url: 'https://example.com/' });
    expect(refused.json).toMatchObject({ error: { code: 'quota_exhausted', errcode: 45009 } });
    expect(stack.sim.calls('getticket')).toBe(1);
    expect((await stack.post(`/jsapi/${MP.appid}/config`, { url: 'https://example.com/' })).json).toMatchObject({
      error: { code: 'quota_exhausted' },
    });
    expect(stack.sim.calls('getticket')).toBe(1);
    const status = await stack.envelope('status', {}, ADMIN);
    const byKey = (key: string) => status.json.returnData.credentials.find((c: any) => c.key === key);
    const midnight = (beijingNoon() + 12 * 3600_000) / 1000;
    expect(byKey(`mp:${MP.appid}:ticket:jsapi`).blockedUntil).toBe(midnight);
    expect(byKey(`mp:${MP.appid}:token`).blockedUntil).toBeNull();
    expect((await stack.envelope('access_token', { appid: MP.appid })).json.returnCode).toBe(0);
  });

  it('refuses unknown apps, Mini Programs, missing or non-http urls with a JSON error', async () => {
    stack = await startStack({
      config: {
        apps: [
          { ...MP, default: true },
          { appid: 'wx3333333333333333', secret: 'm', type: 'mina' },
        ],
      },
    });
    const cases: [string, unknown, number, string][] = [
      ['/jsapi/wx0000000000000000/config', { url: 'https://a.b/' }, 404, 'unknown_app'],
      ['/jsapi/wx3333333333333333/config', { url: 'https://a.b/' }, 400, 'bad_para'],
      [`/jsapi/${MP.appid}/config`, {}, 400, 'bad_para'],
      [`/jsapi/${MP.appid}/config`, { url: 'javascript:alert(1)' }, 400, 'bad_para'],
      [`/jsapi/${MP.appid}/config`, { url: 'https://a.b/', jsApiList: 'x' }, 400, 'bad_para'],
      [`/jsapi/${MP.appid}/config`, '[1,2]', 400, 'not_json'],
      [`/jsapi/${MP.appid}/config`, '{"url":', 400, 'not_json'],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await stack.post(path, body);
      expect([path, res.status, res.json.error?.code]).toEqual([path, status, code]);
    }
    expect(stack.sim.calls()).toBe(0);
  });
});

function pick(d: { nonceStr: string; timestamp: number; signature: string }) {
  return { nonceStr: d.nonceStr, timestamp: d.timestamp, signature: d.signature };
}
