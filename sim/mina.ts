/**
 * Mini Program login in the simulator: `GET /sns/jscode2session`, codes from `mintCode` (what
 * wx.login hands out), `userData` (wx.getUserInfo's encrypted profile) and `GET /sim/wx.login`
 * for demo mode. Semantics: docs/protocol.md §3.1, §3.2, §8; modelling choices: docs/design.md §8.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import type { SimClock } from './clock';
import { wxError, wxOk } from './errors';
import { simOpenid, simUnionid } from './oauth';
import type { Route, SimModule, SimRequest, SimResponse } from './types';

const CODE_TTL_MS = 300_000;
const PER_USER_PER_MINUTE = 100;
const TEXT_PLAIN = 'text/plain';

interface CodeRecord {
  appid: string;
  user: string;
  expiresAt: number;
  used: boolean;
}

export interface MinaUserData {
  encryptedData: string;
  iv: string;
}

const userKey = (appid: string, user: string) => `${appid}\0${user}`;

export class MinaSim implements SimModule {
  private readonly apps = new Map<string, string>();
  /** Mini Programs not bound to an open-platform account: no unionid. */
  private readonly unbound = new Set<string>();
  private readonly codes = new Map<string, CodeRecord>();
  /** The one valid session_key per (app, user). */
  private readonly sessionKeys = new Map<string, string>();
  private readonly minuteCalls = new Map<string, { minute: number; count: number }>();

  constructor(private readonly clock: SimClock) {}

  addApp(appid: string, secret: string): void {
    this.apps.set(appid, secret);
  }

  /** `appid` is not bound to an open-platform account: its users have no unionid. */
  unbind(appid: string): void {
    this.unbound.add(appid);
  }

  /** A fresh code as wx.login in `appid` would give `user`; the user's session_key changes with it. */
  mintCode(appid: string, user = 'user1'): string {
    if (!this.apps.has(appid)) throw new Error(`sim: ${appid} is not a Mini Program of the simulator`);
    this.sessionKeys.set(userKey(appid, user), randomBytes(16).toString('base64'));
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { appid, user, expiresAt: this.clock.now() + CODE_TTL_MS, used: false });
    return code;
  }

  /** `user`'s profile as wx.getUserInfo returns it: encrypted under their current session_key. */
  userData(appid: string, user = 'user1'): MinaUserData {
    const key = this.sessionKeys.get(userKey(appid, user));
    if (key === undefined)
      throw new Error(`sim: ${user} has not logged in to ${appid} (no wx.login, no session_key yet)`);
    const profile = {
      openId: simOpenid(appid, user),
      nickName: `微信用户 ${user}`,
      gender: 0,
      language: 'zh_CN',
      city: '深圳',
      province: '广东',
      country: '中国',
      avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/sim/132',
      ...(this.unbound.has(appid) ? {} : { unionId: simUnionid(user) }),
      watermark: { timestamp: Math.floor(this.clock.now() / 1000), appid },
    };
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', Buffer.from(key, 'base64'), iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(profile), 'utf8'), cipher.final()]);
    return { encryptedData: data.toString('base64'), iv: iv.toString('base64') };
  }

  /** Test-only: the user's current session_key (undefined before their first login), to craft data WeChat would not send. */
  sessionKey(appid: string, user = 'user1'): string | undefined {
    return this.sessionKeys.get(userKey(appid, user));
  }

  routes(): Route[] {
    const appidOf = (r: SimRequest) => r.query.get('appid') ?? undefined;
    return [
      { path: '/sns/jscode2session', endpoint: 'jscode2session', appidOf, handle: (r) => asText(this.login(r)) },
      { method: 'GET', path: '/sim/wx.login', endpoint: 'sim_wx_login', appidOf, handle: (r) => this.clientLogin(r) },
    ];
  }

  private clientLogin(r: SimRequest): SimResponse {
    const appid = r.query.get('appid') ?? '';
    const user = r.query.get('user') || 'user1';
    if (!this.apps.has(appid))
      return { status: 404, body: { error: `${appid || 'appid'} is not a Mini Program of the simulator` } };
    const code = this.mintCode(appid, user);
    return { body: { code, ...this.userData(appid, user) } };
  }

  private login(r: SimRequest): SimResponse {
    const q = r.query;
    const appid = q.get('appid');
    const secret = q.get('secret');
    if (!appid) return wxError(41002);
    if (!secret) return wxError(41004);
    const known = this.apps.get(appid);
    if (known === undefined) return wxError(40013);
    if (known !== secret) return wxError(40125);
    if (q.get('grant_type') !== 'authorization_code') return wxError(40002);
    const code = q.get('js_code');
    if (!code) return wxError(41008);
    const rec = this.codes.get(code);
    if (!rec || rec.appid !== appid) return wxError(40029);
    const now = this.clock.now();
    if (this.overLimit(userKey(appid, rec.user), now)) return wxError(45011);
    if (rec.used) return wxError(40163);
    if (now >= rec.expiresAt) return wxError(40029);
    rec.used = true;
    const unionid = this.unbound.has(appid) ? {} : { unionid: simUnionid(rec.user) };
    return wxOk({
      session_key: this.sessionKeys.get(userKey(appid, rec.user)),
      openid: simOpenid(appid, rec.user),
      ...unionid,
    });
  }

  /** Counts this call against the user's minute; true past the limit. */
  private overLimit(user: string, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    const seen = this.minuteCalls.get(user);
    const count = seen && seen.minute === minute ? seen.count + 1 : 1;
    this.minuteCalls.set(user, { minute, count });
    return count > PER_USER_PER_MINUTE;
  }
}

function asText(res: SimResponse): SimResponse {
  return { ...res, contentType: TEXT_PLAIN };
}
