/**
 * The SDK recipes of examples/ with the real packages (co-wechat-api, wechat-api,
 * node-easywechat) against a wecred backed by the simulator, each SDK pointed at the simulator
 * by its one-line base-URL override: a real QR code from a token wecred handed out, then, after
 * WeChat (the simulator) ends that token early, recovery with exactly one rotation and no token
 * fetched by the SDK itself.
 */
import { promisify } from 'node:util';
import { WecredClient } from 'wecred-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coWechatApi } from '../examples/co-wechat-api';
import { officialAccount, wechatCall } from '../examples/node-easywechat';
import { wechatApi } from '../examples/wechat-api';
import { MP, REALM, startStack, type Stack } from './stack';

let stack: Stack;
let wecred: WecredClient;
beforeEach(async () => {
  stack = await startStack();
  wecred = new WecredClient({ url: stack.url, realm: REALM.key, secret: REALM.secret });
});
afterEach(() => stack.close());

/**
 * `createQrcode` twice, the token wecred handed out killed by WeChat in between: both codes are
 * real, the second costs one rejected call, one stable_token rotation and one retry.
 */
async function survivesTokenDeath(createQrcode: (scene: number) => Promise<{ ticket: string }>): Promise<void> {
  const first = await createQrcode(1001);
  expect(stack.sim.qrcode(first.ticket)).toMatchObject({ appid: MP.appid, scene: 1001 });
  expect(stack.sim.calls('stable_token', MP.appid)).toBe(1);

  const dead = (await wecred.accessToken(MP.appid)).access_token;
  stack.sim.invalidateToken(dead);
  const second = await createQrcode(1002);
  expect(stack.sim.qrcode(second.ticket)).toMatchObject({ appid: MP.appid, scene: 1002 });

  expect(stack.sim.calls('stable_token', MP.appid)).toBe(2);
  expect(stack.sim.calls('qrcode_create')).toBe(3); // the rejected call and its one retry
  expect(stack.sim.calls('token')).toBe(0); // the SDK never fetched a token of its own
  const now = (await wecred.accessToken(MP.appid)).access_token;
  expect(now).not.toBe(dead);
  expect(stack.sim.tokenState(MP.appid, now)).toBe('valid');
}

describe('SDK recipes: a real call with a token from wecred, and one rotation after WeChat kills it', () => {
  it('co-wechat-api: getToken from wecred, tokenFromCustom, calls wrapped in withAccessToken', async () => {
    const api = coWechatApi(wecred, MP.appid);
    api.prefix = `${stack.sim.url}/cgi-bin/`;
    await survivesTokenDeath((scene) => wecred.withAccessToken(MP.appid, () => api.createTmpQRCode(scene, 600)));
  });

  it('co-wechat-api without withAccessToken: the 40001 reaches the caller and the SDK fetches no token', async () => {
    const api = coWechatApi(wecred, MP.appid);
    api.prefix = `${stack.sim.url}/cgi-bin/`;
    await api.createTmpQRCode(1, 600);
    stack.sim.invalidateToken((await wecred.accessToken(MP.appid)).access_token);
    await expect(api.createTmpQRCode(2, 600)).rejects.toMatchObject({ name: 'WeChatAPIError', code: 40001 });
    expect(stack.sim.calls('token')).toBe(0);
    expect(stack.sim.calls('stable_token', MP.appid)).toBe(1);
  });

  it('wechat-api: its getToken hook, called again after 40001, reports the rejected token as stale', async () => {
    const api = wechatApi(wecred, MP.appid);
    api.endpoint = stack.sim.url;
    const create = promisify(api.createTmpQRCode.bind(api)) as (scene: number, expire: number) => Promise<any>;
    await survivesTokenDeath((scene) => create(scene, 600));
  });

  it('node-easywechat: a wecred access-token handler, wechatCall inside withAccessToken', async () => {
    const app = officialAccount(wecred, MP.appid, { http: { baseURL: `${stack.sim.url}/` } });
    await survivesTokenDeath(
      (scene) =>
        wecred.withAccessToken(MP.appid, () =>
          wechatCall(app, 'cgi-bin/qrcode/create', {
            expire_seconds: 600,
            action_name: 'QR_SCENE',
            action_info: { scene: { scene_id: scene } },
          }),
        ) as Promise<{ ticket: string }>,
    );
  });
});
