import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simOpenid, simUnionid, WechatSim } from '../../sim';
import { UpstreamUnavailable, WechatError } from './errors';
import { createSnsClient } from './sns';

const MP = { appid: 'wx1234567890abcdef', secret: 'secret-of-the-mp-app-000000000000' };
const WEB = { appid: 'wxaaaabbbbccccdddd', secret: 'secret-of-the-web-app-00000000000' };
let sim: WechatSim;
beforeAll(async () => {
  sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
  sim.addApp(WEB.appid, WEB.secret, { type: 'web' });
});
afterAll(() => sim.close());

const errcodeOf = (p: Promise<unknown>) =>
  p.then(
    () => 0,
    (e: unknown) => (e instanceof WechatError ? e.errcode : String(e)),
  );

describe('sns client (against the simulator)', () => {
  it('exchanges a code and fetches userinfo', async () => {
    const sns = createSnsClient(sim.url);
    const t = await sns.exchangeCode(MP.appid, MP.secret, sim.oauthCode(MP.appid, 'snsapi_userinfo', 'ann'), 1000);
    expect(t).toMatchObject({
      expiresIn: 7200,
      openid: simOpenid(MP.appid, 'ann'),
      scope: 'snsapi_userinfo',
      unionid: simUnionid('ann'),
      snapshotUser: false,
    });
    expect(t.refreshToken).toEqual(expect.any(String));
    const user = await sns.userinfo(t.accessToken, t.openid, 1000);
    expect(user).toEqual(sim.oauthUser(MP.appid, 'ann'));
  });

  it('reads is_snapshotuser: 1 as a 快照页 user', async () => {
    const sns = createSnsClient(sim.url);
    const t = await sns.exchangeCode(
      MP.appid,
      MP.secret,
      sim.oauthCode(MP.appid, 'snsapi_userinfo', 'snapshot1'),
      1000,
    );
    expect(t).toMatchObject({ openid: simOpenid(MP.appid, 'snapshot1'), snapshotUser: true });
    expect(await errcodeOf(sns.userinfo(t.accessToken, t.openid, 1000))).toBe(48001);
  });

  it('passes WeChat errcodes through, and calls a body without the token fields unavailable', async () => {
    const sns = createSnsClient(sim.url);
    const code = sim.oauthCode(MP.appid, 'snsapi_base');
    const base = await sns.exchangeCode(MP.appid, MP.secret, code, 1000);
    expect(base).not.toHaveProperty('unionid');
    expect(await errcodeOf(sns.exchangeCode(MP.appid, MP.secret, code, 1000))).toBe(40163);
    expect(await errcodeOf(sns.exchangeCode(MP.appid, 'wrong', sim.oauthCode(MP.appid, 'snsapi_base'), 1000))).toBe(
      40125,
    );
    expect(await errcodeOf(sns.userinfo(base.accessToken, base.openid, 1000))).toBe(48001);
    sim.fault('sns_access_token', { errcode: 0 });
    await expect(sns.exchangeCode(WEB.appid, WEB.secret, 'x', 1000)).rejects.toBeInstanceOf(UpstreamUnavailable);
  });
});
