/**
 * Parametric QR codes in the simulator: POST cgi-bin/qrcode/create (token, method, quota and
 * body checks) and GET cgi-bin/showqrcode, both on the sim's one server.
 * Semantics: docs/protocol.md §2.7; modelling choices: docs/design.md §8.
 */
import { randomBytes } from 'node:crypto';
import { PeriodCounter, type SimClock } from './clock';
import { wxError, wxOk } from './errors';
import { parseObject, type TokenState } from './mp';
import type { Route, SimModule, SimRequest, SimResponse } from './types';

export interface QrcodeOptions {
  permanentLimit: number;
  dailyQuota: number;
}

export type QrcodeAction = 'QR_SCENE' | 'QR_STR_SCENE' | 'QR_LIMIT_SCENE' | 'QR_LIMIT_STR_SCENE';

/** A code the sim issued, as tests may inspect it. */
export interface QrcodeRecord {
  appid: string;
  action: QrcodeAction;
  scene: number | string;
  ticket: string;
  /** The QR content, http://weixin.qq.com/q/…. */
  url: string;
  createdAt: number;
  /** Epoch ms on the sim clock; undefined for permanent codes. */
  expiresAt?: number;
}

const MAX_EXPIRE_SECONDS = 2_592_000;
const DEFAULT_EXPIRE_SECONDS = 60;
const MAX_TEMPORARY_SCENE_ID = 2_147_483_647;
const MAX_PERMANENT_SCENE_ID = 100_000;
const MAX_SCENE_STR = 64;
/** What showqrcode says in Cache-control. */
const SHOWQRCODE_MAX_AGE = 604_800;

const ACTIONS: readonly QrcodeAction[] = ['QR_SCENE', 'QR_STR_SCENE', 'QR_LIMIT_SCENE', 'QR_LIMIT_STR_SCENE'];
const INVALID_ACTION_INFO = 'invalid action info';

/** A 29×29 JPEG of three QR finder patterns (436 bytes): the same picture for every code. */
export const QRCODE_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAdAB0DASIAAhEBAxEB/8QAGAAAAwEBAAAAAAAAAAAAAAAAAAQFAgP/xAAnEAACAgEDAwQCAwAAAAAAAAABAgMEEQAFEhQhMQYTMkEzcVGBkf/EABQBAQAAAAAAAAAAAAAAAAAAAAD/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCxuF7cxvZgrm88D2xATXWPjAvtxHk2Y2Pl2Pcjxq5s88lnZqNiZuUsteN3bGMkqCT20T7TttmZprG31JpW+TyQqzH67kjTUcaRRrHGioiAKqqMBQPAA0EP1LcvVXiFHqXIgkkMNZVLyEPEo+SN4Dsew0x6es2rFex1bys6SJhZgodOUUblTxVR2LH609boU7vDrKkFjhnj7sYfjnzjP6GtValanGY6leKBCeRWJAoJ/nA/Wgj3vUTVdz6IQ1gWnEERlndTI5VG8LGwH5FHc6rbfa63bq1vhw9+JJOOc8eQBxn+9I2dhhsXmt9TKjmQSge1C/BwqrlS6Ejsi/f1qhTrJTpQVYyxSCNY1LeSAMDP+aDto0aNB//Z',
  'base64',
);

/** A token's state for one app ('invalid' also when the token is not that app's). */
type TokenStateOf = (appid: string, token: string) => TokenState;

export class QrcodeSim implements SimModule {
  private readonly apps = new Set<string>();
  private readonly byTicket = new Map<string, QrcodeRecord>();
  /** Permanent codes per appid, by `${action}\0${scene}`. */
  private readonly permanent = new Map<string, Map<string, QrcodeRecord>>();
  private readonly quota = new PeriodCounter();

  constructor(
    private readonly clock: SimClock,
    /** The MP module's view of a token (sim/mp.ts tokenState). */
    private readonly tokenState: TokenStateOf,
    private readonly opts: QrcodeOptions,
  ) {}

  addApp(appid: string): void {
    this.apps.add(appid);
  }

  routes(): Route[] {
    return [
      {
        path: '/cgi-bin/qrcode/create',
        endpoint: 'qrcode_create',
        appidOf: (r) => this.ownerOf(r.query.get('access_token') ?? '')?.appid,
        handle: (r) => this.create(r),
      },
      {
        method: 'GET',
        path: '/cgi-bin/showqrcode',
        endpoint: 'showqrcode',
        appidOf: (r) => this.byTicket.get(r.query.get('ticket') ?? '')?.appid,
        handle: (r) => this.show(r),
      },
    ];
  }

  // ---- state queries ----

  /** The code a ticket was issued for (expired ones too); undefined for an unknown ticket. */
  qrcode(ticket: string): QrcodeRecord | undefined {
    const rec = this.byTicket.get(ticket);
    return rec && { ...rec };
  }

  /** Distinct permanent codes the app holds. */
  permanentCount(appid: string): number {
    return this.permanent.get(appid)?.size ?? 0;
  }

  // ---- handlers ----

  private create(r: SimRequest): SimResponse {
    if (r.method !== 'POST') return wxError(43002);
    const token = r.query.get('access_token');
    if (!token) return wxError(41001);
    const owner = this.ownerOf(token);
    if (!owner) return wxError(40001);
    if (owner.state === 'expired') return wxError(42001);
    const body = parseObject(r.body);
    if (!body) return wxError(47001);

    const request = parseRequest(body);
    if (!request) return wxError(40053, INVALID_ACTION_INFO);
    const { appid } = owner;
    const now = this.clock.now();
    if (!this.quota.take(appid, now, this.opts.dailyQuota)) return wxError(45009);

    if (request.expireSeconds === undefined) {
      const codes = this.permanent.get(appid) ?? new Map<string, QrcodeRecord>();
      this.permanent.set(appid, codes);
      const key = `${request.action}\0${request.scene}`;
      let rec = codes.get(key);
      if (!rec) {
        if (codes.size >= this.opts.permanentLimit) return wxError(45029, 'qrcode count out of limit');
        rec = this.mint(appid, request.action, request.scene, now);
        codes.set(key, rec);
      }
      return wxOk({ ticket: rec.ticket, url: rec.url });
    }

    const rec = this.mint(appid, request.action, request.scene, now, request.expireSeconds);
    return wxOk({ ticket: rec.ticket, expire_seconds: request.expireSeconds, url: rec.url });
  }

  private show(r: SimRequest): SimResponse {
    const rec = this.byTicket.get(r.query.get('ticket') ?? '');
    if (!rec || (rec.expiresAt !== undefined && this.clock.now() >= rec.expiresAt)) return { status: 404 };
    return {
      status: 200,
      contentType: 'image/jpg',
      headers: { 'Cache-control': `max-age=${SHOWQRCODE_MAX_AGE}` },
      body: QRCODE_JPEG,
    };
  }

  // ---- helpers ----

  /** 'invalid' from every app means unknown or revoked (40001). */
  private ownerOf(token: string): { appid: string; state: TokenState } | undefined {
    if (!token) return undefined;
    for (const appid of this.apps) {
      const state = this.tokenState(appid, token);
      if (state !== 'invalid') return { appid, state };
    }
    return undefined;
  }

  private mint(
    appid: string,
    action: QrcodeAction,
    scene: number | string,
    now: number,
    expireSeconds?: number,
  ): QrcodeRecord {
    const url = `http://weixin.qq.com/q/${randomBytes(16).toString('base64url')}`;
    const expiresAt = expireSeconds === undefined ? undefined : now + expireSeconds * 1000;
    const rec: QrcodeRecord = {
      appid,
      action,
      scene,
      url,
      createdAt: now,
      ticket: ticketFor(url, now, expiresAt),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    };
    this.byTicket.set(rec.ticket, rec);
    return rec;
  }
}

/**
 * Laid out like a real ticket (base64 of: a 12-byte header, tag 1 + length + the content URL,
 * tag 2 + 4 + creation time, tag 3 + 4 + expiry time, little-endian seconds).
 */
function ticketFor(url: string, now: number, expiresAt: number | undefined): string {
  const header = Buffer.concat([Buffer.from([0x81, 0x01]), randomBytes(3), Buffer.alloc(7)]);
  const content = Buffer.from(url, 'latin1');
  const time = (tag: number, ms: number) => {
    const b = Buffer.alloc(6);
    b.writeUInt8(tag, 0);
    b.writeUInt8(4, 1);
    b.writeUInt32LE(Math.floor(ms / 1000) >>> 0, 2);
    return b;
  };
  const parts = [header, Buffer.from([0x01, content.length]), content, time(0x02, now)];
  if (expiresAt !== undefined) parts.push(time(0x03, expiresAt));
  return Buffer.concat(parts).toString('base64');
}

/** The body's code request, or undefined when WeChat would answer 40053. */
function parseRequest(
  body: Record<string, unknown>,
): { action: QrcodeAction; scene: number | string; expireSeconds?: number } | undefined {
  const action = body.action_name;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) return undefined;
  const info = body.action_info;
  const scene = isObject(info) && isObject(info.scene) ? info.scene : undefined;
  if (!scene) return undefined;
  const permanent = action.startsWith('QR_LIMIT_');
  let value: number | string;
  if (action.endsWith('_STR_SCENE')) {
    const s = scene.scene_str;
    if (typeof s !== 'string') return undefined;
    const length = [...s].length;
    if (length < 1 || length > MAX_SCENE_STR) return undefined;
    value = s;
  } else {
    const id = scene.scene_id;
    const max = permanent ? MAX_PERMANENT_SCENE_ID : MAX_TEMPORARY_SCENE_ID;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > max) return undefined;
    value = id;
  }
  if (permanent) return { action: action as QrcodeAction, scene: value };
  const expire = body.expire_seconds ?? DEFAULT_EXPIRE_SECONDS;
  if (typeof expire !== 'number' || !Number.isInteger(expire) || expire < 1 || expire > MAX_EXPIRE_SECONDS)
    return undefined;
  return { action: action as QrcodeAction, scene: value, expireSeconds: expire };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
