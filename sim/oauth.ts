/**
 * OAuth2 web authorization in the simulator: the authorize and qrconnect pages (real HTML,
 * 允许 / 拒绝), the sns/* APIs, and deterministic fake users (snapshot users included).
 * Semantics: docs/protocol.md §2.1–§2.6, §8; modelling choices: docs/design.md §8.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SimClock } from './clock';
import { wxError, wxOk } from './errors';
import type { Route, SimModule, SimRequest, SimResponse } from './types';

export type OAuthAppType = 'mp' | 'mina' | 'web';
export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';

const CODE_TTL_MS = 300_000;
const USER_TOKEN_SECONDS = 7200;
const REFRESH_TTL_MS = 30 * 86_400_000;
/** How long an unanswered consent page stays usable. */
const PENDING_TTL_MS = 30 * 60_000;
/** WeChat's state: at most 128 bytes of a-zA-Z0-9. */
const STATE = /^[a-zA-Z0-9]{0,128}$/;

export interface SimUser {
  openid: string;
  nickname: string;
  sex: number;
  province: string;
  city: string;
  country: string;
  headimgurl: string;
  privilege: string[];
  unionid: string;
}

interface Grant {
  appid: string;
  user: string;
  scope: OAuthScope;
}

interface Pending extends Grant {
  redirectUri: string;
  state: string;
  expiresAt: number;
  done: boolean;
}

interface CodeRecord extends Grant {
  expiresAt: number;
  used: boolean;
}

interface AccessRecord extends Grant {
  expiresAt: number;
}

interface RefreshRecord extends Grant {
  expiresAt: number;
  accessToken: string;
}

function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** A 快照页 user's snsapi_userinfo authorizations (see the module comment). */
function isSnapshot(grant: Grant): boolean {
  return grant.scope === 'snsapi_userinfo' && grant.user.startsWith('snapshot');
}

export function simOpenid(appid: string, user: string): string {
  return `o${digest(`openid\0${appid}\0${user}`).slice(0, 27)}`;
}

export function simUnionid(user: string): string {
  return `o${digest(`unionid\0${user}`).slice(0, 28)}`;
}

export class OAuthSim implements SimModule {
  private readonly apps = new Map<string, { secret: string; type: OAuthAppType }>();
  private readonly pending = new Map<string, Pending>();
  private readonly codes = new Map<string, CodeRecord>();
  private readonly accessTokens = new Map<string, AccessRecord>();
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private currentUser = 'user1';

  constructor(private readonly clock: SimClock) {}

  addApp(appid: string, secret: string, type: OAuthAppType = 'mp'): void {
    this.apps.set(appid, { secret, type });
  }

  /** The WeChat user who authorizes from now on (the person holding the phone). */
  setUser(user: string): void {
    this.currentUser = user;
  }

  /** The fake profile of `user` as `appid` sees it. */
  user(appid: string, user: string): SimUser {
    const h = createHash('sha256').update(`profile\0${user}`).digest();
    return {
      openid: simOpenid(appid, user),
      nickname: `微信用户 ${user}`,
      sex: h[0]! % 3,
      province: '广东',
      city: '深圳',
      country: '中国',
      headimgurl: `https://thirdwx.qlogo.cn/mmopen/vi_32/${h.subarray(1, 25).toString('base64url')}/132`,
      privilege: [],
      unionid: simUnionid(user),
    };
  }

  /** Test-only: a code as if `user` had just authorized `appid` with `scope`. */
  mintCode(appid: string, scope: OAuthScope, user = this.currentUser): string {
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { appid, user, scope, expiresAt: this.clock.now() + CODE_TTL_MS, used: false });
    return code;
  }

  routes(): Route[] {
    const byQuery = (r: SimRequest) => r.query.get('appid') ?? undefined;
    const byToken = (r: SimRequest) => this.accessTokens.get(r.query.get('access_token') ?? '')?.appid;
    return [
      {
        method: 'GET',
        path: '/connect/oauth2/authorize',
        endpoint: 'oauth2_authorize',
        appidOf: byQuery,
        handle: (r) => this.authorize(r, 'oauth2'),
      },
      {
        method: 'GET',
        path: '/connect/qrconnect',
        endpoint: 'qrconnect',
        appidOf: byQuery,
        handle: (r) => this.authorize(r, 'qrconnect'),
      },
      {
        method: 'GET',
        path: '/connect/sim/confirm',
        endpoint: 'oauth_confirm',
        appidOf: (r) => this.pending.get(r.query.get('ticket') ?? '')?.appid,
        handle: (r) => this.confirm(r),
      },
      {
        path: '/sns/oauth2/access_token',
        endpoint: 'sns_access_token',
        appidOf: byQuery,
        handle: (r) => this.exchange(r),
      },
      {
        path: '/sns/oauth2/refresh_token',
        endpoint: 'sns_refresh_token',
        appidOf: byQuery,
        handle: (r) => this.refresh(r),
      },
      { path: '/sns/userinfo', endpoint: 'sns_userinfo', appidOf: byToken, handle: (r) => this.userinfo(r) },
      { path: '/sns/auth', endpoint: 'sns_auth', appidOf: byToken, handle: (r) => this.auth(r) },
    ];
  }

  // ---- the browser pages ----

  private authorize(r: SimRequest, kind: 'oauth2' | 'qrconnect'): SimResponse {
    const q = r.query;
    const appid = q.get('appid') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    const scope = q.get('scope') ?? '';
    const state = q.get('state') ?? '';
    if (appid === '') return errorPage(10012, 'appid 不能为空 (appid empty)');
    const app = this.apps.get(appid);
    if (!app) return errorPage(40013, 'appid 无效 (invalid appid)');
    if (redirectUri === '') return errorPage(10011, 'redirect_uri 不能为空 (redirect_uri empty)');
    if (!isHttpUrl(redirectUri))
      return errorPage(10003, 'redirect_uri 域名与后台配置不一致 (redirect_uri domain mismatch)');
    if (q.get('response_type') !== 'code') return errorPage(10003, 'response_type 必须为 code');
    if (scope === '') return errorPage(10010, 'scope 不能为空 (scope empty)');
    if (kind === 'qrconnect') {
      if (app.type !== 'web' || scope !== 'snsapi_login')
        return errorPage(10005, '该链接无法访问 (website app and scope=snsapi_login required)');
    } else {
      if (app.type === 'web') return errorPage(10016, '不支持开放平台帐号 (open-platform appid not supported)');
      if (app.type !== 'mp' || (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo'))
        return errorPage(10005, '此公众号并没有这些 scope 的权限 (no scope permission)');
    }
    if (!STATE.test(state)) return errorPage(10013, 'state 参数错误: 最多 128 字节的 a-zA-Z0-9');
    const user = q.get('sim_user') || this.currentUser;
    const grant: Grant = { appid, user, scope: scope as OAuthScope };

    if (scope === 'snsapi_base' && q.get('forcePopup') !== 'true') {
      // 静默授权: no page, straight back with a code
      return redirect(withQuery(redirectUri, { code: this.mintCode(appid, grant.scope, user), state }));
    }
    const ticket = randomBytes(12).toString('hex');
    this.pending.set(ticket, {
      ...grant,
      redirectUri,
      state,
      expiresAt: this.clock.now() + PENDING_TTL_MS,
      done: false,
    });
    return consentPage(kind, ticket, this.user(appid, user).nickname, grant.scope);
  }

  private confirm(r: SimRequest): SimResponse {
    const ticket = r.query.get('ticket') ?? '';
    const p = this.pending.get(ticket);
    if (!p || p.done || this.clock.now() >= p.expiresAt) return errorPage(10009, '页面已过期, 请重新发起授权');
    p.done = true;
    if (r.query.get('action') !== 'allow') return redirect(withQuery(p.redirectUri, { state: p.state }));
    return redirect(withQuery(p.redirectUri, { code: this.mintCode(p.appid, p.scope, p.user), state: p.state }));
  }

  // ---- sns APIs ----

  private exchange(r: SimRequest): SimResponse {
    const q = r.query;
    if (q.get('grant_type') !== 'authorization_code') return wxError(40002);
    const appid = q.get('appid');
    const secret = q.get('secret');
    if (!appid) return wxError(41002);
    const app = this.apps.get(appid);
    if (!secret) return wxError(41004);
    if (!app) return wxError(40013);
    if (app.secret !== secret) return wxError(40125);
    const code = q.get('code');
    if (!code) return wxError(41008);
    const rec = this.codes.get(code);
    if (!rec || rec.appid !== appid) return wxError(40029);
    if (rec.used) return wxError(40163);
    const now = this.clock.now();
    if (now >= rec.expiresAt) return wxError(42003);
    rec.used = true;

    const accessToken = newToken();
    const refreshToken = newToken();
    this.accessTokens.set(accessToken, {
      appid,
      user: rec.user,
      scope: rec.scope,
      expiresAt: now + USER_TOKEN_SECONDS * 1000,
    });
    this.refreshTokens.set(refreshToken, {
      appid,
      user: rec.user,
      scope: rec.scope,
      expiresAt: now + REFRESH_TTL_MS,
      accessToken,
    });
    return wxOk({
      access_token: accessToken,
      expires_in: USER_TOKEN_SECONDS,
      refresh_token: refreshToken,
      openid: simOpenid(appid, rec.user),
      scope: rec.scope,
      ...(isSnapshot(rec) ? { is_snapshotuser: 1 } : {}),
      ...(rec.scope === 'snsapi_base' ? {} : { unionid: simUnionid(rec.user) }),
    });
  }

  private refresh(r: SimRequest): SimResponse {
    const q = r.query;
    if (q.get('grant_type') !== 'refresh_token') return wxError(40002);
    const appid = q.get('appid');
    if (!appid) return wxError(41002);
    if (!this.apps.has(appid)) return wxError(40013);
    const token = q.get('refresh_token');
    if (!token) return wxError(41003);
    const rec = this.refreshTokens.get(token);
    if (!rec || rec.appid !== appid) return wxError(40030);
    const now = this.clock.now();
    if (now >= rec.expiresAt) return wxError(42002);
    // Website-app doc: a live access_token is kept and its life extended; a dead one is replaced.
    const live = this.accessTokens.get(rec.accessToken);
    if (live && now < live.expiresAt) live.expiresAt = now + USER_TOKEN_SECONDS * 1000;
    else {
      this.accessTokens.delete(rec.accessToken);
      rec.accessToken = newToken();
      this.accessTokens.set(rec.accessToken, {
        appid,
        user: rec.user,
        scope: rec.scope,
        expiresAt: now + USER_TOKEN_SECONDS * 1000,
      });
    }
    return wxOk({
      access_token: rec.accessToken,
      expires_in: USER_TOKEN_SECONDS,
      refresh_token: token,
      openid: simOpenid(appid, rec.user),
      scope: rec.scope,
    });
  }

  /** The access token's record, or the WeChat error for it (40001 unknown, 42001 expired, 40003 other openid). */
  private checkToken(r: SimRequest): AccessRecord | SimResponse {
    const token = r.query.get('access_token');
    if (!token) return wxError(41001);
    const rec = this.accessTokens.get(token);
    if (!rec) return wxError(40001);
    if (this.clock.now() >= rec.expiresAt) return wxError(42001);
    if (r.query.get('openid') !== simOpenid(rec.appid, rec.user)) return wxError(40003);
    return rec;
  }

  private userinfo(r: SimRequest): SimResponse {
    const rec = this.checkToken(r);
    if (!('appid' in rec)) return rec;
    if (rec.scope === 'snsapi_base' || isSnapshot(rec)) return wxError(48001);
    return wxOk(this.user(rec.appid, rec.user));
  }

  private auth(r: SimRequest): SimResponse {
    const rec = this.checkToken(r);
    if (!('appid' in rec)) return rec;
    return wxOk({ errcode: 0, errmsg: 'ok' });
  }
}

function newToken(): string {
  return randomBytes(64).toString('base64url');
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** `uri` with `params` appended to its query (its fragment, if any, stays last). */
function withQuery(uri: string, params: Record<string, string>): string {
  const u = new URL(uri);
  for (const [k, v] of Object.entries(params)) u.searchParams.append(k, v);
  return u.href;
}

function redirect(location: string): SimResponse {
  return { status: 302, headers: { location, 'cache-control': 'no-store' }, body: '' };
}

const HTML = 'text/html; charset=utf-8';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function errorPage(errcode: number, message: string): SimResponse {
  const body = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>微信授权</title></head>
<body><h1>出错了</h1><p id="errcode">${errcode}</p><p id="message">${escapeHtml(message)}</p></body></html>`;
  return { status: 200, contentType: HTML, body };
}

const SCOPE_TEXT: Record<OAuthScope, string> = {
  snsapi_base: '获得你的公开信息 (openid)',
  snsapi_userinfo: '获得你的公开信息 (昵称、头像等)',
  snsapi_login: '使用微信帐号登录网站',
};

/**
 * The consent page. Like WeChat, it needs the `#wechat_redirect` fragment on its URL: without
 * it (a browser shows the fragment to scripts only) the buttons are replaced by an error.
 */
function consentPage(kind: 'oauth2' | 'qrconnect', ticket: string, nickname: string, scope: OAuthScope): SimResponse {
  const link = (action: string) => `/connect/sim/confirm?ticket=${ticket}&amp;action=${action}`;
  const title = kind === 'qrconnect' ? '微信登录 (扫码确认)' : '微信授权';
  const body = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title></head>
<body>
<h1>${title}</h1>
<p>${escapeHtml(nickname)}, 该应用申请${SCOPE_TEXT[scope]}</p>
<p id="consent"><a id="allow" href="${link('allow')}">允许</a> <a id="deny" href="${link('deny')}">拒绝</a></p>
<p id="nohash" hidden>出错了: 链接缺少 #wechat_redirect</p>
<script>if (location.hash !== '#wechat_redirect') { document.getElementById('consent').hidden = true; document.getElementById('nohash').hidden = false; }</script>
</body></html>`;
  return { status: 200, contentType: HTML, body };
}
