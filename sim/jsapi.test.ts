import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WechatSim, jsapiSignature, jsapiString1 } from './index';
import { stable, ticket } from './testkit';

// Official vector, docs/protocol.md §1.4.
const VECTOR = {
  nonceStr: 'Wm3WZYTPz0wzccnW',
  ticket: 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
  timestamp: 1414587457,
  url: 'http://mp.weixin.qq.com?params=value',
  string1:
    'jsapi_ticket=sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg&noncestr=Wm3WZYTPz0wzccnW&timestamp=1414587457&url=http://mp.weixin.qq.com?params=value',
  signature: '0f9de62fce790f9a083d5c99e95740ceb90c27ed',
};
const APPID = 'wx1234567890abcdef';
const SECRET = 'secret-of-app-one-000000000000000';

let sim: WechatSim;
beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addApp(APPID, SECRET);
});
afterEach(async () => {
  await sim.close();
});

describe('jsapi signature', () => {
  it('computes the official vector', () => {
    expect(jsapiString1(VECTOR)).toBe(VECTOR.string1);
    expect(jsapiSignature(VECTOR)).toBe(VECTOR.signature);
  });

  it('verifyJsapiSignature accepts the official vector with a seeded ticket, and only while it is valid', () => {
    const p = {
      appid: APPID,
      url: VECTOR.url,
      nonceStr: VECTOR.nonceStr,
      timestamp: VECTOR.timestamp,
      signature: VECTOR.signature,
    };
    expect(sim.verifyJsapiSignature(p)).toBe(false); // no such ticket issued
    sim.seedTicket(APPID, 'jsapi', VECTOR.ticket, sim.now() + 7200_000);
    expect(sim.verifyJsapiSignature(p)).toBe(true);
    expect(sim.verifyJsapiSignature({ ...p, appid: 'wxother' })).toBe(false);
    expect(sim.verifyJsapiSignature({ ...p, signature: VECTOR.signature.toUpperCase() })).toBe(false);
    expect(sim.verifyJsapiSignature({ ...p, timestamp: p.timestamp + 1 })).toBe(false);
    expect(sim.verifyJsapiSignature({ ...p, nonceStr: 'other' })).toBe(false);
    expect(sim.verifyJsapiSignature({ ...p, url: `${VECTOR.url}&x=1` })).toBe(false);
    sim.advance(7200_000);
    expect(sim.verifyJsapiSignature(p)).toBe(false);
  });

  it('a url with # never verifies', () => {
    sim.seedTicket(APPID, 'jsapi', VECTOR.ticket, sim.now() + 7200_000);
    const url = `${VECTOR.url}#frag`;
    const signature = jsapiSignature({ ...VECTOR, url });
    expect(
      sim.verifyJsapiSignature({
        appid: APPID,
        url,
        nonceStr: VECTOR.nonceStr,
        timestamp: VECTOR.timestamp,
        signature,
      }),
    ).toBe(false);
  });

  it('a seeded ticket is what getticket returns; wx_card tickets do not verify wx.config', async () => {
    sim.seedTicket(APPID, 'jsapi', VECTOR.ticket, sim.now() + 1000_000);
    const t = (await stable(sim, { grant_type: 'client_credential', appid: APPID, secret: SECRET }))
      .access_token as string;
    expect(await ticket(sim, t)).toMatchObject({ errcode: 0, ticket: VECTOR.ticket, expires_in: 1000 });
    const card = (await ticket(sim, t, 'wx_card')).ticket as string;
    const p = { appid: APPID, url: 'https://example.com/page?a=1', nonceStr: 'abc', timestamp: 1700000000 };
    expect(sim.verifyJsapiSignature({ ...p, signature: jsapiSignature({ ...p, ticket: card }) })).toBe(false);
  });

  it('verifies against every still-valid jsapi ticket the sim issued', async () => {
    const t = (await stable(sim, { grant_type: 'client_credential', appid: APPID, secret: SECRET }))
      .access_token as string;
    const first = (await ticket(sim, t)).ticket as string;
    const p = {
      appid: APPID,
      url: 'https://example.com/page?a=1&b=中文',
      nonceStr: 'n0nce',
      timestamp: Math.floor(sim.now() / 1000),
    };
    const sig1 = jsapiSignature({ ...p, ticket: first });
    expect(sim.verifyJsapiSignature({ ...p, signature: sig1 })).toBe(true);
    // A seeded newer ticket: both verify while both are valid.
    sim.seedTicket(APPID, 'jsapi', 'seeded-ticket', sim.now() + 10_000_000);
    expect(sim.verifyJsapiSignature({ ...p, signature: jsapiSignature({ ...p, ticket: 'seeded-ticket' }) })).toBe(true);
    expect(sim.verifyJsapiSignature({ ...p, signature: sig1 })).toBe(true);
    sim.advance(7200_000);
    expect(sim.verifyJsapiSignature({ ...p, signature: sig1 })).toBe(false);
    expect(sim.verifyJsapiSignature({ ...p, signature: jsapiSignature({ ...p, ticket: 'seeded-ticket' }) })).toBe(true);
  });
});
