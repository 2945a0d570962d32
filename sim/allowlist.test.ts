/** An app's IP allow-list (IP白名单) in the simulator: docs/protocol.md §5 (40164), §8. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WechatSim } from './index';
import { classic, stable, type Json } from './testkit';

const APPID = 'wx1234567890abcdef';
const SECRET = 'secret-of-app-one-000000000000000';
const APPID2 = 'wxfedcba0987654321';
const SECRET2 = 'secret-of-app-two-000000000000000';

let sim: WechatSim;
beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addApp(APPID, SECRET);
  sim.addApp(APPID2, SECRET2);
});
afterEach(() => sim.close());

const stableBody = () => ({ grant_type: 'client_credential', appid: APPID, secret: SECRET });
const tokenOf = (r: Json) => {
  expect(typeof r.access_token).toBe('string');
  return r.access_token as string;
};

describe('the IP allow-list (IP白名单)', () => {
  it("answers 40164 naming the caller's address to token requests from elsewhere, before the secret is checked; lifted, tokens flow again", async () => {
    sim.allowIps(APPID, ['203.0.113.10']);
    for (const r of [
      await classic(sim, APPID, SECRET),
      await stable(sim, stableBody()),
      await classic(sim, APPID, 'wrong'),
    ]) {
      expect(r.errcode).toBe(40164);
      expect(r.errmsg).toMatch(/^invalid ip 127\.0\.0\.1 ipv6 ::ffff:127\.0\.0\.1, not in whitelist, rid: /);
    }
    tokenOf(await classic(sim, APPID2, SECRET2)); // other apps are not affected
    sim.allowIps(APPID, ['203.0.113.10', '127.0.0.1']);
    tokenOf(await classic(sim, APPID, SECRET));
    sim.allowIps(APPID, undefined);
    tokenOf(await stable(sim, stableBody()));
  });
});
