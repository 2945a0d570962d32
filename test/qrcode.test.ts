/**
 * `qrcode.create` through the real HTTP server, against the simulator's qrcode/create and showqrcode.
 * docs/protocol.md §2.7.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { demoConfig, parseConfig } from '../lib/config/load';
import { WechatSim } from '../sim';
import { ADMIN, MP, MP2, REALM, startStack, type Stack } from './support/stack';

const JPEG_SOI = Buffer.from([0xff, 0xd8]);
const JPEG_EOI = Buffer.from([0xff, 0xd9]);

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

/** A stack whose realm may call qrcode.create and whose image links point at the simulator. */
async function qrStack(opts: { showqrcode?: boolean } = {}): Promise<Stack> {
  const sim = await WechatSim.start();
  open.push(sim);
  const stack = await startStack({
    sim,
    config: {
      realms: [
        { ...REALM, apps: [MP.appid, MP2.appid], interfaces: ['access_token', 'qrcode.create'] },
        { ...ADMIN, admin: true },
      ],
      upstream: {
        mp: sim.url,
        timeoutMs: 1000,
        budgetMs: 4000,
        ...(opts.showqrcode === false ? {} : { showqrcode: sim.url }),
      },
    },
  });
  open.push(stack);
  return stack;
}

async function create(s: Stack, para: Record<string, unknown>) {
  const { status, json } = await s.envelope('qrcode.create', para);
  expect(status).toBe(200);
  return json;
}

async function created(s: Stack, para: Record<string, unknown>) {
  const json = await create(s, para);
  expect(json).toMatchObject({ returnCode: 0 });
  return json.returnData as {
    appid: string;
    ticket: string;
    url: string;
    image_url: string;
    expire_seconds: number | null;
  };
}

async function image(url: string) {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    cache: res.headers.get('cache-control'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

describe('qrcode.create: temporary codes', () => {
  it('an integer scene is a QR_SCENE with scene_id; the answer carries ticket, url, image_url and expire_seconds', async () => {
    const s = await qrStack();
    const d = await created(s, { scene: 123, expire_seconds: 604800 });
    expect(d).toMatchObject({ appid: MP.appid, expire_seconds: 604800 });
    expect(d.url).toMatch(/^http:\/\/weixin\.qq\.com\/q\/[\w-]+$/);
    expect(d.image_url).toBe(`${s.sim.url}/cgi-bin/showqrcode?ticket=${encodeURIComponent(d.ticket)}`);
    expect(s.sim.qrcode(d.ticket)).toMatchObject({ appid: MP.appid, action: 'QR_SCENE', scene: 123, url: d.url });
    expect(s.sim.calls('qrcode_create', MP.appid)).toBe(1);

    // The widest scene_id (2^31-1, valid signed or unsigned) and the longest lifetime are accepted.
    const edge = await created(s, { appid: MP2.appid, scene: 2147483647, expire_seconds: 2592000 });
    expect(edge).toMatchObject({ appid: MP2.appid, expire_seconds: 2592000 });
    expect(s.sim.qrcode(edge.ticket)).toMatchObject({ appid: MP2.appid, action: 'QR_SCENE', scene: 2147483647 });
  });

  it('a string scene is a QR_STR_SCENE with scene_str; a numeric string stays a string', async () => {
    const s = await qrStack();
    const named = await created(s, { scene: 'order-42', expire_seconds: 3600 });
    expect(s.sim.qrcode(named.ticket)).toMatchObject({ action: 'QR_STR_SCENE', scene: 'order-42' });
    expect(named.expire_seconds).toBe(3600);

    const numeric = await created(s, { scene: '123' });
    expect(s.sim.qrcode(numeric.ticket)).toMatchObject({ action: 'QR_STR_SCENE', scene: '123' });

    const longest = await created(s, { scene: 'x'.repeat(64) });
    expect(s.sim.qrcode(longest.ticket)?.scene).toBe('x'.repeat(64));
  });

  it('without expire_seconds WeChat applies its 60 s default, and the answer says so', async () => {
    const s = await qrStack();
    const d = await created(s, { scene: 7 });
    expect(d.expire_seconds).toBe(60);
    const rec = s.sim.qrcode(d.ticket);
    expect(rec!.expiresAt! - rec!.createdAt).toBe(60_000);
    // permanent: "false" is false: a temporary code.
    const notPermanent = await created(s, { scene: 'a', permanent: 'false' });
    expect(notPermanent.expire_seconds).toBe(60);
    expect(s.sim.qrcode(notPermanent.ticket)?.action).toBe('QR_STR_SCENE');
  });
});

describe('qrcode.create: permanent codes', () => {
  it('an integer scene is a QR_LIMIT_SCENE (1..100000) with no expiry; the same scene gives the same ticket', async () => {
    const s = await qrStack();
    const d = await created(s, { scene: 100000, permanent: true });
    expect(d.expire_seconds).toBeNull();
    const rec = s.sim.qrcode(d.ticket);
    expect(rec).toMatchObject({ action: 'QR_LIMIT_SCENE', scene: 100000 });
    expect(rec?.expiresAt).toBeUndefined();
    const again = await created(s, { scene: 100000, permanent: 'true' });
    expect(again.ticket).toBe(d.ticket);
    expect(s.sim.permanentQrcodes(MP.appid)).toBe(1);
  });

  it('a string scene is a QR_LIMIT_STR_SCENE', async () => {
    const s = await qrStack();
    const d = await created(s, { scene: 'shop-front', permanent: true });
    expect(d.expire_seconds).toBeNull();
    expect(s.sim.qrcode(d.ticket)).toMatchObject({ action: 'QR_LIMIT_STR_SCENE', scene: 'shop-front' });
    const numeric = await created(s, { scene: '1', permanent: true });
    expect(s.sim.qrcode(numeric.ticket)).toMatchObject({ action: 'QR_LIMIT_STR_SCENE', scene: '1' });
    expect(s.sim.permanentQrcodes(MP.appid)).toBe(2);
  });
});

describe('qrcode.create: image_url', () => {
  it('fetches a JPEG from showqrcode, cacheable for 7 days', async () => {
    const s = await qrStack();
    const d = await created(s, { scene: 5, expire_seconds: 600 });
    const img = await image(d.image_url);
    expect(img).toMatchObject({ status: 200, type: 'image/jpg', cache: 'max-age=604800' });
    expect(img.body.subarray(0, 2)).toEqual(JPEG_SOI);
    expect(img.body.subarray(-2)).toEqual(JPEG_EOI);
    expect(s.sim.calls('showqrcode', MP.appid)).toBe(1);
  });

  it("an expired temporary code's image is 404 after sim.advance; a permanent code's image lives on", async () => {
    const s = await qrStack();
    const temp = await created(s, { scene: 'short', expire_seconds: 30 });
    const perm = await created(s, { scene: 'forever', permanent: true });
    expect((await image(temp.image_url)).status).toBe(200);
    s.sim.advance(31_000);
    const gone = await image(temp.image_url);
    expect(gone.status).toBe(404);
    expect(gone.body).toHaveLength(0);
    s.sim.advance(40 * 86_400_000);
    expect((await image(perm.image_url)).status).toBe(200);
    expect((await image(`${s.sim.url}/cgi-bin/showqrcode?ticket=not-a-ticket`)).status).toBe(404);
  });

  it('upstream.showqrcode is an optional http(s) base URL; demo mode points it at the simulator', () => {
    expect(parseConfig({}, {}).upstream).not.toHaveProperty('showqrcode');
    expect(parseConfig({ upstream: { showqrcode: 'https://qr.example.com/' } }, {}).upstream.showqrcode).toBe(
      'https://qr.example.com',
    );
    expect(() => parseConfig({ upstream: { showqrcode: 'ftp://x' } }, {})).toThrow(
      'config: upstream.showqrcode: must be an http(s) URL',
    );
    expect(demoConfig('http://127.0.0.1:4010', {}).upstream.showqrcode).toBe('http://127.0.0.1:4010');
  });

  it('points at mp.weixin.qq.com when upstream.showqrcode is not configured', async () => {
    const s = await qrStack({ showqrcode: false });
    const d = await created(s, { scene: 1 });
    expect(d.image_url).toBe(`https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${encodeURIComponent(d.ticket)}`);
  });
});

describe('qrcode.create: bounds are enforced before WeChat is called', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no scene', {}, 'para.scene'],
    ['null scene', { scene: null }, 'para.scene'],
    ['scene_id 0', { scene: 0 }, 'para.scene'],
    ['negative scene_id', { scene: -5 }, 'para.scene'],
    ['scene_id above 2^31-1', { scene: 2147483648 }, 'para.scene'],
    ['fractional scene_id', { scene: 1.5 }, 'para.scene'],
    ['boolean scene', { scene: true }, 'para.scene'],
    ['object scene', { scene: { scene_id: 1 } }, 'para.scene'],
    ['empty scene_str', { scene: '' }, 'para.scene'],
    ['65-character scene_str', { scene: 'x'.repeat(65) }, 'para.scene'],
    ['permanent scene_id 0', { scene: 0, permanent: true }, 'para.scene'],
    ['permanent scene_id 100001', { scene: 100001, permanent: true }, 'para.scene'],
    ['permanent 65-character scene_str', { scene: 'y'.repeat(65), permanent: true }, 'para.scene'],
    ['expire_seconds 0', { scene: 1, expire_seconds: 0 }, 'para.expire_seconds'],
    ['expire_seconds above 30 days', { scene: 1, expire_seconds: 2592001 }, 'para.expire_seconds'],
    ['fractional expire_seconds', { scene: 1, expire_seconds: 60.5 }, 'para.expire_seconds'],
    ['expire_seconds as a string', { scene: 1, expire_seconds: '60' }, 'para.expire_seconds'],
    ['expire_seconds on a permanent code', { scene: 1, permanent: true, expire_seconds: 60 }, 'para.expire_seconds'],
    ['permanent not a boolean', { scene: 1, permanent: 'yes' }, 'para.permanent'],
  ];

  it.each(cases)('%s → 1003 naming the field, no upstream call', async (_name, para, field) => {
    const s = await qrStack();
    const json = await create(s, para);
    expect(json).toMatchObject({ returnCode: 1003, returnData: '', error: { code: 'bad_para' } });
    expect(json.returnMessage).toContain(field);
    expect(s.sim.calls()).toBe(0); // neither qrcode/create nor a token fetch
  });
});

describe('qrcode.create: WeChat rejects the access_token', () => {
  it('stable token invalidated by another force refresh: one stale-guarded force refresh, then success', async () => {
    const s = await qrStack();
    const first = await created(s, { scene: 1 });
    const used = (await s.envelope('access_token', {})).json.returnData.access_token as string;
    expect(s.sim.qrcode(first.ticket)).toBeDefined();
    s.sim.advance(31_000);
    // Somebody else force-refreshes the stable token: ours dies at once.
    const res = await fetch(`${s.sim.url}/cgi-bin/stable_token`, {
      method: 'POST',
      body: JSON.stringify({
        grant_type: 'client_credential',
        appid: MP.appid,
        secret: MP.secret,
        force_refresh: true,
      }),
    });
    const theirs = ((await res.json()) as { access_token: string }).access_token;
    expect(s.sim.tokenState(MP.appid, used)).toBe('invalid');
    const tokenCalls = s.sim.calls('stable_token');

    const d = await created(s, { scene: 2 });
    expect(s.sim.qrcode(d.ticket)).toMatchObject({ appid: MP.appid, scene: 2 });
    expect(s.sim.calls('qrcode_create')).toBe(3); // the first code, the rejected attempt, the retry
    expect(s.sim.calls('stable_token')).toBe(tokenCalls + 1); // exactly one forced refresh
    expect((await s.envelope('access_token', {})).json.returnData.access_token).toBe(theirs);
  });

  it('classic token superseded twice elsewhere: force refresh and success', async () => {
    const s = await qrStack();
    await created(s, { appid: MP2.appid, scene: 1 });
    const used = (await s.envelope('access_token', { appid: MP2.appid })).json.returnData.access_token as string;
    s.sim.advance(31_000);
    const q = new URLSearchParams({ grant_type: 'client_credential', appid: MP2.appid, secret: MP2.secret });
    for (let i = 0; i < 2; i++) await fetch(`${s.sim.url}/cgi-bin/token?${q}`);
    expect(s.sim.tokenState(MP2.appid, used)).toBe('invalid');

    const d = await created(s, { appid: MP2.appid, scene: 'after-rotation' });
    expect(s.sim.qrcode(d.ticket)).toMatchObject({ appid: MP2.appid, scene: 'after-rotation' });
    expect(s.sim.calls('token', MP2.appid)).toBe(4); // ours, two elsewhere, one forced
    const now = (await s.envelope('access_token', { appid: MP2.appid })).json.returnData.access_token as string;
    expect(now).not.toBe(used);
    expect(s.sim.tokenState(MP2.appid, now)).toBe('valid');
  });

  it('a token rejected again after the refresh is retried only once: 7301 with errcode 42001', async () => {
    const s = await qrStack();
    await s.envelope('access_token', {});
    s.sim.advance(31_000);
    s.sim.fault('qrcode_create', { errcode: 42001 }, 2);
    const json = await create(s, { scene: 3 });
    expect(json).toMatchObject({ returnCode: 7301, returnData: '', error: { code: 'upstream_error', errcode: 42001 } });
    expect(s.sim.calls('qrcode_create')).toBe(2);
    expect(s.sim.calls('stable_token')).toBe(2);
  });
});

describe('qrcode.create: other answers', () => {
  it("WeChat's 40053 passes through as 7301 with the errcode; no token refresh", async () => {
    const s = await qrStack();
    s.sim.fault('qrcode_create', { errcode: 40053, errmsg: 'invalid action info' });
    const json = await create(s, { scene: 9 });
    expect(json).toMatchObject({ returnCode: 7301, error: { code: 'upstream_error', errcode: 40053 } });
    expect(s.sim.calls('stable_token')).toBe(1);
  });

  it('an HTTP 5xx from qrcode/create is 1005 (upstream unavailable)', async () => {
    const s = await qrStack();
    s.sim.fault('qrcode_create', { http: 502 });
    expect(await create(s, { scene: 9 })).toMatchObject({ returnCode: 1005, error: { code: 'upstream_unavailable' } });
  });

  it('needs a realm allowed to call it', async () => {
    const s = await startStack(); // the default realm lists access_token and ticket only
    open.push(s);
    const { json } = await s.envelope('qrcode.create', { scene: 1 });
    expect(json).toMatchObject({ returnCode: 7006, error: { code: 'interface_not_allowed' } });
    expect((await s.envelope('qrcode.create', { scene: 1 }, null)).json.returnCode).toBe(7001);
    expect(s.sim.calls()).toBe(0);
  });
});
