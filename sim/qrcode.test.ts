import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QRCODE_JPEG } from './qrcode';
import { stable, type Json } from './testkit';
import { WechatSim } from './wechat-sim';

const APPID = 'wx1111111111111111';
const SECRET = 'qr-secret-1111';

let sim: WechatSim;
let token: string;
beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addApp(APPID, SECRET);
  token = (await stable(sim, { grant_type: 'client_credential', appid: APPID, secret: SECRET })).access_token as string;
});
afterEach(async () => {
  await sim.close();
});

async function create(body: unknown, accessToken: string | null = token, method = 'POST'): Promise<Json> {
  const q = accessToken === null ? '' : `?access_token=${encodeURIComponent(accessToken)}`;
  const res = await fetch(`${sim.url}/cgi-bin/qrcode/create${q}`, {
    method,
    ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

const show = (ticket: string) => fetch(`${sim.url}/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`);

describe('sim cgi-bin/qrcode/create', () => {
  it('answers the documented shapes: temporary with expire_seconds (default 60), permanent without', async () => {
    const temp = await create({
      expire_seconds: 604800,
      action_name: 'QR_SCENE',
      action_info: { scene: { scene_id: 123 } },
    });
    expect(temp).toEqual({
      ticket: expect.any(String),
      expire_seconds: 604800,
      url: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\/[\w-]{22}$/),
    });
    const dflt = await create({ action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'test' } } });
    expect(dflt.expire_seconds).toBe(60);
    const perm = await create({ action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 123 } } });
    expect(Object.keys(perm).sort()).toEqual(['ticket', 'url']);
    expect(sim.qrcode(temp.ticket as string)).toMatchObject({ appid: APPID, action: 'QR_SCENE', scene: 123 });
    expect(sim.calls('qrcode_create', APPID)).toBe(3);
  });

  it('mints tickets that hold only the public content URL and the times, base64 like real ones', async () => {
    const r = await create({ expire_seconds: 600, action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } });
    const bytes = Buffer.from(r.ticket as string, 'base64');
    expect(bytes.toString('base64')).toBe(r.ticket);
    expect(bytes.toString('latin1')).toContain(r.url as string);
    const created = bytes.readUInt32LE(bytes.length - 10);
    const expires = bytes.readUInt32LE(bytes.length - 4);
    expect(expires - created).toBe(600);
    expect(Math.abs(created - Math.floor(sim.now() / 1000))).toBeLessThanOrEqual(1);
  });

  it('a permanent scene gives the same ticket every time; a temporary one a new ticket each call', async () => {
    const body = { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'a' } } };
    const a = await create(body);
    const b = await create(body);
    expect(b.ticket).toBe(a.ticket);
    // scene_id 1 and scene_str "1" are different codes.
    const c = await create({ action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 1 } } });
    const d = await create({ action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: '1' } } });
    expect(c.ticket).not.toBe(d.ticket);
    expect(sim.permanentQrcodes(APPID)).toBe(3);
    const t = { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'a' } } };
    expect((await create(t)).ticket).not.toBe((await create(t)).ticket);
  });

  it('refuses a bad action_info or bound with 40053 "invalid action info"', async () => {
    const bad: unknown[] = [
      { action_name: 'QR_NOPE', action_info: { scene: { scene_id: 1 } } },
      { action_info: { scene: { scene_id: 1 } } },
      { action_name: 'QR_SCENE' },
      { action_name: 'QR_SCENE', action_info: { scene_id: 1 } },
      { action_name: 'QR_SCENE', action_info: { scene: { scene_str: 'a' } } },
      { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 0 } } },
      { action_name: 'QR_SCENE', action_info: { scene: { scene_id: -1 } } },
      { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 2147483648 } } },
      { action_name: 'QR_SCENE', action_info: { scene: { scene_id: '12' } } },
      { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100001 } } },
      { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_id: 1 } } },
      { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: '' } } },
      { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'x'.repeat(65) } } },
      { expire_seconds: 0, action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } },
      { expire_seconds: 2592001, action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } },
    ];
    for (const body of bad) {
      const r = await create(body);
      expect(r.errcode, JSON.stringify(body)).toBe(40053);
      expect(r.errmsg).toMatch(/^invalid action info, rid: /);
    }
    expect(sim.permanentQrcodes(APPID)).toBe(0);
    // The edges themselves are fine.
    expect(
      (
        await create({
          expire_seconds: 2592000,
          action_name: 'QR_SCENE',
          action_info: { scene: { scene_id: 2147483647 } },
        })
      ).ticket,
    ).toBeTruthy();
    expect(
      (await create({ action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'x'.repeat(64) } } }))
        .ticket,
    ).toBeTruthy();
  });

  it('checks the method, the access_token and the JSON like the other endpoints', async () => {
    const body = { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } };
    expect((await create(body, token, 'GET')).errcode).toBe(43002);
    expect((await create(body, null)).errcode).toBe(41001);
    expect((await create(body, 'garbage')).errcode).toBe(40001);
    expect((await create('{not json')).errcode).toBe(47001);
    // A token killed by a force refresh is invalid (40001); one past its life expired (42001).
    sim.advance(31_000);
    const fresh = (
      await stable(sim, { grant_type: 'client_credential', appid: APPID, secret: SECRET, force_refresh: true })
    ).access_token as string;
    expect((await create(body)).errcode).toBe(40001);
    sim.advance(7200_000);
    expect((await create(body, fresh)).errcode).toBe(42001);
  });

  it('caps distinct permanent codes per app, and counts a daily quota', async () => {
    await sim.close();
    sim = await WechatSim.start({ permanentQrcodeLimit: 2, qrcodeDailyQuota: 5 });
    sim.addApp(APPID, SECRET);
    token = (await stable(sim, { grant_type: 'client_credential', appid: APPID, secret: SECRET }))
      .access_token as string;
    const perm = (id: number) => create({ action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: id } } });
    expect((await perm(1)).ticket).toBeTruthy();
    expect((await perm(2)).ticket).toBeTruthy();
    expect((await perm(3)).errcode).toBe(45029);
    expect((await perm(1)).ticket).toBeTruthy(); // an existing code is no new one
    expect((await perm(2)).ticket).toBeTruthy();
    expect((await perm(1)).errcode).toBe(45009);
  });
});

describe('sim cgi-bin/showqrcode', () => {
  it('serves a JPEG with Cache-control max-age=604800 for a live ticket, 404 once it expired', async () => {
    const r = await create({ expire_seconds: 60, action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } });
    const ok = await show(r.ticket as string);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpg');
    expect(ok.headers.get('cache-control')).toBe('max-age=604800');
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(QRCODE_JPEG);
    sim.advance(60_000);
    const gone = await show(r.ticket as string);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toBe('');
  });

  it('404 for an unknown ticket, a missing one, or one whose + was not URL-encoded', async () => {
    expect((await show('nope')).status).toBe(404);
    expect((await fetch(`${sim.url}/cgi-bin/showqrcode`)).status).toBe(404);
    // Only some tickets hold a + (they are base64): keep minting until one does.
    let ticket = '';
    for (let i = 0; i < 500 && !ticket.includes('+'); i++) {
      ticket = (await create({ action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: `s${i}` } } }))
        .ticket as string;
    }
    expect(ticket).toContain('+');
    expect((await fetch(`${sim.url}/cgi-bin/showqrcode?ticket=${ticket}`)).status).toBe(404);
    expect((await show(ticket)).status).toBe(200);
  });

  it('the picture is a well-formed baseline JPEG (SOI, SOF0 29×29, EOI)', () => {
    expect(QRCODE_JPEG.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(QRCODE_JPEG.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    const sof = QRCODE_JPEG.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    expect(QRCODE_JPEG.readUInt16BE(sof + 5)).toBe(29);
    expect(QRCODE_JPEG.readUInt16BE(sof + 7)).toBe(29);
  });
});
