/**
 * The SDK recipes of examples/ with the real packages (co-wechat-api, wechat-api,
 * node-easywechat) against a wecred backed by the simulator, each SDK pointed at the simulator
 * by its one-line base-URL override: a real QR code from a token wecred handed out, then, after
 * WeChat (the simulator) ends that token early, recovery with exactly one rotation and no token
 * fetched by the SDK itself. docs/design.md §9.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WecredClient } from 'wecred-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coWechatApi } from '../examples/co-wechat-api';
import { officialAccount, wechatCall } from '../examples/node-easywechat';
import { wechatApi } from '../examples/wechat-api';
import { VECTOR } from '../client/test/vector';
import { serviceUnavailable } from './support/services';
import { MP, REALM, startStack, type Stack } from './support/stack';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
/** Runs `command` with the realm's environment; never rejects. */
function runExample(command: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(command, args, { env: { PATH: process.env.PATH, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout, stderr }),
    ),
  );
}
const installed = (tool: string, args = ['--version']) =>
  spawnSync(tool, args).status === 0 || (serviceUnavailable(tool, new Error(`${tool} is not installed`)) ?? false);

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

describe('other languages: the signing examples against a live wecred', () => {
  const realmEnv = () => ({ WECRED_URL: stack.url, WECRED_REALM: REALM.key, WECRED_REALM_SECRET: REALM.secret });
  const para = JSON.stringify({ appid: MP.appid });

  it.skipIf(!installed('python3'))('Python, standard library only: the README vector, a call, a refusal', async () => {
    const script = `${examples}python/wecred_call.py`;
    const vector = await runExample(
      'python3',
      [
        '-c',
        'import sys, runpy; w = runpy.run_path(sys.argv[1]); print(w["sign"](*sys.argv[2:6], sys.argv[6].encode(), *sys.argv[7:])["X-Wecred-Signature"])',
        script,
        VECTOR.realm,
        VECTOR.secret,
        VECTOR.method,
        VECTOR.path,
        VECTOR.body,
        VECTOR.timestamp,
        VECTOR.nonce,
      ],
      {},
    );
    expect(vector.stdout.trim()).toBe(VECTOR.signature);

    const ok = await runExample('python3', [script, 'access_token', para], realmEnv());
    expect(ok.code).toBe(0);
    expect(stack.sim.tokenState(MP.appid, JSON.parse(ok.stdout).access_token)).toBe('valid');
    const refused = await runExample('python3', [script, 'qrcode.create', '{"scene":1}'], realmEnv());
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^qrcode\.create: realm biz may not call qrcode\.create \(returnCode 7006\)\n$/);
  });

  it.skipIf(!installed('curl') || !installed('openssl', ['version']))(
    'curl + openssl: a call, a wrong secret',
    async () => {
      const script = `${examples}curl/wecred-call.sh`;
      const ok = await runExample('bash', [script, 'access_token', para], realmEnv());
      expect(ok.code).toBe(0);
      const answer = JSON.parse(ok.stdout);
      expect(answer.returnCode).toBe(0);
      expect(stack.sim.tokenState(MP.appid, answer.returnData.access_token)).toBe('valid');
      const wrong = await runExample('bash', [script, 'access_token', para], {
        ...realmEnv(),
        WECRED_REALM_SECRET: 'wrong-secret-0123456789',
      });
      expect(wrong.code).toBe(1);
      expect(JSON.parse(wrong.stdout)).toMatchObject({ returnCode: 7002, error: { code: 'bad_signature' } });
    },
  );
});
