/**
 * The deployed entry points (functions/gateway, functions/refresher) answer recorded sample
 * events of every platform, booted from WECRED_CONFIG_JSON as on SCF / Lambda, against the simulator.
 * docs/design.md §4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatSim } from '../sim';
import { loadEvent, type SampleName } from './support/events';
import { MP } from './support/stack';

let sim: WechatSim;
let gateway: (event: unknown, context: unknown) => Promise<any>;
let refresher: (event: unknown, context: unknown) => Promise<any>;
const context = () => ({
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 10_000,
  functionName: 'wecred',
});

beforeAll(async () => {
  sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
  process.env.WECRED_CONFIG_JSON = JSON.stringify({
    apps: [{ ...MP, type: 'mp' }],
    store: 'memory:',
    upstream: { mp: sim.url },
  });
  // One test process is one instance: its memory store is what the operator means.
  process.env.WECRED_ALLOW_LOCAL_STORE = '1';
  gateway = (await import('../functions/gateway')).handler as never;
  refresher = (await import('../functions/refresher')).handler as never;
});
afterAll(async () => {
  delete process.env.WECRED_CONFIG_JSON;
  delete process.env.WECRED_ALLOW_LOCAL_STORE;
  await sim.close();
});

const withOurApp = (name: SampleName) => JSON.parse(JSON.stringify(loadEvent(name)).replaceAll('wx123', MP.appid));

describe('platform events through the deployed handlers', () => {
  it.each(['scf-apigw', 'scf-url', 'aws-v1', 'aws-v2', 'aws-v2-base64'] as const)(
    '%s: wx.config parameters in the platform response shape',
    async (name) => {
      const event = withOurApp(name);
      const result = await gateway(event, context());
      expect(result).toMatchObject({ statusCode: 200, isBase64Encoded: false });
      expect(result.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(result.body);
      expect(body.appId).toBe(MP.appid);
      const sentUrl: string = JSON.parse(
        name === 'aws-v2-base64' ? Buffer.from(event.body, 'base64').toString() : event.body,
      ).url;
      expect(body.url).toBe(sentUrl);
      expect(
        sim.verifyJsapiSignature({
          appid: MP.appid,
          url: sentUrl.split('#')[0]!,
          nonceStr: body.nonceStr,
          timestamp: body.timestamp,
          signature: body.signature,
        }),
      ).toBe(true);
    },
  );

  it.each(['scf-timer', 'aws-schedule'] as const)('%s: the refresher refreshes and reports', async (name) => {
    const result = await refresher(loadEvent(name), context());
    expect(result).toMatchObject({ checked: 3, failed: [] });
  });

  it('an unknown event gets a structured 400, not a throw', async () => {
    const result = await gateway({ hello: 'world' }, context());
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).error.code).toBe('unknown_event');
  });

  it('one warm instance fetched the token and the ticket once for all of the above', () => {
    expect(sim.calls('stable_token')).toBe(1);
    expect(sim.calls('getticket')).toBe(1);
  });
});
