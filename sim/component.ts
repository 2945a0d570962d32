/**
 * WeChat Open Platform third-party platforms (第三方平台) in the simulator: verify-ticket pushes
 * every 10 minutes (encrypted, as WeChat sends them), the component token, pre-auth codes, the
 * authorization pages, api_query_auth, api_authorizer_token and the authorization events.
 * Semantics: docs/protocol.md §11; modelling choices: docs/design.md §8, §19. Over 400 lines: the
 * APIs, the pages and the pushes share one state (tickets, codes, authorizations) and stay together.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { SimClock } from './clock';
import { wxError, wxOk } from './errors';
import { type MpSim, newToken, parseObject } from './mp';
import type { Route, SimModule, SimRequest, SimResponse } from './types';

/** WeChat pushes a verify ticket every 10 minutes; each stays usable 12 hours. */
export const TICKET_PUSH_MS = 600_000;
const TICKET_TTL_MS = 12 * 3_600_000;
const COMPONENT_TOKEN_SECONDS = 7200;
/** pre_auth_code: the docs' text says 1800 s (their example answers 600). */
const PRE_AUTH_SECONDS = 1800;
/** The authorization code handed back with the redirect (and in the authorized event). */
const AUTH_CODE_SECONDS = 600;
/** A superseded component_access_token keeps working this long, as a classic token does. */
const GRACE_MS = 300_000;
/** func_info the sim grants: 1 消息管理, 2 用户管理, 3 帐号服务, 4 网页服务 (JS-SDK). */
const FUNC_INFO = [1, 2, 3, 4].map((id) => ({ funcscope_category: { id } }));

export type ComponentEvent = 'authorized' | 'updateauthorized' | 'unauthorized';

export interface ComponentOptions {
  /**
   * WeChat documents a refresh token valid for as long as the authorization lasts, answered back
   * unchanged ('never', the default). 'on-use': every use answers a new one, and the one used stays
   * valid until the new one is used once (the stricter contract clients must survive).
   */
  rotateRefreshTokens: 'never' | 'on-use';
  /** An account authorized a component: the other modules learn of it (QR codes are per account). */
  onAuthorized?: (appid: string) => void;
}

interface Component {
  secret: string;
  token: string;
  aesKey: string;
  /** Where pushes go (授权事件接收 URL); unset: nothing is pushed. */
  pushUrl?: string;
  nextPush: number;
  /** Issued verify tickets → expiry. */
  tickets: Map<string, number>;
  latestTicket?: string;
  /** The newest component_access_token and the one before it (in its grace). */
  currentToken?: string;
}

interface Authorization {
  component: string;
  appid: string;
  active: boolean;
  /** The refresh token last used (or first issued), and newer ones not used yet (rotation). */
  refresh: string;
  pending: string[];
}

interface Pending {
  component: string;
  redirectUri: string;
  authType: string;
  expiresAt: number;
  done: boolean;
}

export class ComponentSim implements SimModule {
  private readonly components = new Map<string, Component>();
  private readonly componentTokens = new Map<string, { component: string; expiresAt: number; deadAt?: number }>();
  private readonly preAuthCodes = new Map<string, { component: string; expiresAt: number; used: boolean }>();
  private readonly pages = new Map<string, Pending>();
  private readonly authCodes = new Map<
    string,
    { component: string; appid: string; expiresAt: number; used: boolean }
  >();
  private readonly authorizations = new Map<string, Authorization>();
  /** Answers of api_authorizer_token wait this long after the refresh happened (a test kills the caller meanwhile). */
  private refreshDelayMs = 0;
  private account = 'wx5a5a5a5a5a5a5a5a';
  private timer: NodeJS.Timeout | undefined;
  /** Pushes on their way (a test waits for them). */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly clock: SimClock,
    private readonly mp: MpSim,
    private readonly opts: ComponentOptions,
  ) {}

  addComponent(appid: string, c: { secret: string; token: string; encodingAESKey: string }): void {
    this.components.set(appid, {
      secret: c.secret,
      token: c.token,
      aesKey: c.encodingAESKey,
      nextPush: this.clock.now(),
      tickets: new Map(),
    });
  }

  /** The 授权事件接收 URL: the first ticket is pushed now, then one every 10 minutes of the sim clock. */
  async setPushUrl(component: string, url: string | undefined): Promise<void> {
    const c = this.need(component);
    c.pushUrl = url;
    if (url !== undefined) {
      c.nextPush = this.clock.now();
      await this.tick();
      // Checked often in real time, so that advance() past a push time pushes at once.
      this.timer ??= setInterval(() => void this.tick(), 100).unref();
    }
  }

  /** The Official Account that authorizes on the next consent page (a page URL's `&sim_account=` wins). */
  setAccount(appid: string): void {
    this.account = appid;
  }

  setRefreshDelay(ms: number): void {
    this.refreshDelayMs = ms;
  }

  /** A fresh verify ticket, pushed to the component's URL now (the answer: WeChat's view of the push). */
  async pushVerifyTicket(component: string): Promise<{ status: number; body: string } | undefined> {
    const c = this.need(component);
    const now = this.clock.now();
    const ticket = `ticket@@@${randomBytes(48).toString('base64url')}`;
    c.tickets.set(ticket, now + TICKET_TTL_MS);
    c.latestTicket = ticket;
    c.nextPush = now + TICKET_PUSH_MS;
    const xml =
      `<xml><AppId><![CDATA[${component}]]></AppId><CreateTime>${Math.floor(now / 1000)}</CreateTime>` +
      `<InfoType><![CDATA[component_verify_ticket]]></InfoType>` +
      `<ComponentVerifyTicket><![CDATA[${ticket}]]></ComponentVerifyTicket></xml>`;
    return this.push(component, xml);
  }

  /** The latest verify ticket issued (pushed or not). */
  latestTicket(component: string): string | undefined {
    return this.need(component).latestTicket;
  }

  /** The account cancels its authorization: its tokens and refresh tokens die, and `unauthorized` is pushed. */
  async unauthorize(component: string, appid: string): Promise<{ status: number; body: string } | undefined> {
    const a = this.authorizations.get(authKey(component, appid));
    if (a) a.active = false;
    this.mp.killAuthorizerTokens(appid);
    return this.pushEvent(component, appid, 'unauthorized');
  }

  /** The pushes under way, settled. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The refresh tokens that work now for the authorization (tests). */
  validRefreshTokens(component: string, appid: string): string[] {
    const a = this.authorizations.get(authKey(component, appid));
    return a?.active ? [a.refresh, ...a.pending] : [];
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  routes(): Route[] {
    const byBody = (r: SimRequest) => {
      const b = parseObject(r.body);
      return typeof b?.component_appid === 'string' ? b.component_appid : undefined;
    };
    const authorizerOf = (r: SimRequest) => {
      const b = parseObject(r.body);
      return typeof b?.authorizer_appid === 'string' ? b.authorizer_appid : undefined;
    };
    return [
      {
        path: '/cgi-bin/component/api_component_token',
        endpoint: 'component_token',
        appidOf: byBody,
        handle: (r) => this.componentToken(r),
      },
      {
        path: '/cgi-bin/component/api_create_preauthcode',
        endpoint: 'component_preauthcode',
        appidOf: byBody,
        handle: (r) => this.preAuthCode(r),
      },
      {
        path: '/cgi-bin/component/api_query_auth',
        endpoint: 'component_query_auth',
        appidOf: byBody,
        handle: (r) => this.queryAuth(r),
      },
      {
        path: '/cgi-bin/component/api_authorizer_token',
        endpoint: 'component_authorizer_token',
        appidOf: authorizerOf,
        handle: (r) => this.authorizerToken(r),
      },
      {
        method: 'GET',
        path: '/cgi-bin/componentloginpage',
        endpoint: 'componentloginpage',
        appidOf: (r) => r.query.get('component_appid') ?? undefined,
        handle: (r) => this.page(r),
      },
      {
        method: 'GET',
        path: '/wxaopen/safe/bindcomponent',
        endpoint: 'bindcomponent',
        appidOf: (r) => r.query.get('component_appid') ?? undefined,
        handle: (r) => (r.query.get('action') === 'bindcomponent' ? this.page(r) : errorPage('action 参数错误')),
      },
      {
        method: 'GET',
        path: '/cgi-bin/sim/componentconfirm',
        endpoint: 'component_confirm',
        appidOf: (r) => this.pages.get(r.query.get('ticket') ?? '')?.component,
        handle: (r) => this.confirm(r),
      },
    ];
  }

  // ---- APIs ----

  private componentToken(r: SimRequest): SimResponse {
    if (r.method !== 'POST') return wxError(43002);
    const b = parseObject(r.body);
    if (!b) return wxError(47001);
    const { component_appid: appid, component_appsecret: secret, component_verify_ticket: ticket } = b;
    if (typeof appid !== 'string' || appid === '') return wxError(41002);
    if (typeof secret !== 'string' || secret === '') return wxError(41004);
    const c = this.components.get(appid);
    if (!c) return wxError(61011, 'invalid component');
    if (c.secret !== secret) return wxError(40125);
    if (typeof ticket !== 'string' || ticket === '') return wxError(61006, 'component ticket is invalid');
    const expiresAt = c.tickets.get(ticket);
    const now = this.clock.now();
    if (expiresAt === undefined) return wxError(61006, 'component ticket is invalid');
    if (now >= expiresAt) return wxError(61005, 'component ticket is expired');
    const token = newToken();
    this.componentTokens.set(token, { component: appid, expiresAt: now + COMPONENT_TOKEN_SECONDS * 1000 });
    const previous = c.currentToken === undefined ? undefined : this.componentTokens.get(c.currentToken);
    if (previous) previous.deadAt = Math.min(previous.deadAt ?? Number.POSITIVE_INFINITY, now + GRACE_MS);
    c.currentToken = token;
    return wxOk({ component_access_token: token, expires_in: COMPONENT_TOKEN_SECONDS });
  }

  /** The component a request's component_access_token belongs to, or WeChat's error for it. */
  private caller(r: SimRequest): { component: string; body: Record<string, unknown> } | SimResponse {
    const token = r.query.get('component_access_token') ?? r.query.get('access_token');
    if (!token) return wxError(41001);
    const rec = this.componentTokens.get(token);
    const now = this.clock.now();
    if (!rec || (rec.deadAt !== undefined && now >= rec.deadAt)) return wxError(40001);
    if (now >= rec.expiresAt) return wxError(42001);
    if (r.method !== 'POST') return wxError(43002);
    const body = parseObject(r.body);
    if (!body) return wxError(47001);
    if (body.component_appid !== rec.component) return wxError(61011, 'invalid component');
    return { component: rec.component, body };
  }

  private preAuthCode(r: SimRequest): SimResponse {
    const c = this.caller(r);
    if (!('component' in c)) return c;
    const code = `preauthcode@@@${randomBytes(36).toString('base64url')}`;
    this.preAuthCodes.set(code, {
      component: c.component,
      expiresAt: this.clock.now() + PRE_AUTH_SECONDS * 1000,
      used: false,
    });
    return wxOk({ pre_auth_code: code, expires_in: PRE_AUTH_SECONDS });
  }

  private queryAuth(r: SimRequest): SimResponse {
    const c = this.caller(r);
    if (!('component' in c)) return c;
    const code = c.body.authorization_code;
    if (typeof code !== 'string' || code === '') return wxError(41008);
    const rec = this.authCodes.get(code);
    if (!rec || rec.component !== c.component) return wxError(61009, 'code is invalid');
    if (rec.used) return wxError(61009, 'code is invalid');
    if (this.clock.now() >= rec.expiresAt) return wxError(61010, 'code is expired');
    rec.used = true;
    const a = this.authorizations.get(authKey(c.component, rec.appid));
    if (!a?.active) return wxError(61003, 'component is not authorized by this account');
    const token = this.mp.mintAuthorizerToken(rec.appid);
    return wxOk({
      authorization_info: {
        authorizer_appid: rec.appid,
        authorizer_access_token: token.token,
        expires_in: token.expiresIn,
        authorizer_refresh_token: a.refresh,
        func_info: FUNC_INFO,
      },
    });
  }

  private async authorizerToken(r: SimRequest): Promise<SimResponse> {
    const c = this.caller(r);
    if (!('component' in c)) return c;
    const { authorizer_appid: appid, authorizer_refresh_token: refresh } = c.body;
    if (typeof appid !== 'string' || appid === '') return wxError(41002);
    const a = this.authorizations.get(authKey(c.component, appid));
    if (!a?.active) return wxError(61003, 'component is not authorized by this account');
    if (typeof refresh !== 'string' || refresh === '') return wxError(61023, 'refresh_token is invalid');
    let answer = a.refresh;
    if (this.opts.rotateRefreshTokens === 'on-use') {
      if (refresh === a.refresh) {
        // The one in use stays valid until a newer one is used once.
        answer = newRefreshToken();
        a.pending.push(answer);
      } else if (a.pending.includes(refresh)) {
        a.refresh = refresh;
        answer = newRefreshToken();
        a.pending = [answer];
      } else return wxError(61023, 'refresh_token is invalid');
    } else if (refresh !== a.refresh) return wxError(61023, 'refresh_token is invalid');
    const token = this.mp.mintAuthorizerToken(appid);
    if (this.refreshDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.refreshDelayMs));
    return wxOk({
      authorizer_access_token: token.token,
      expires_in: token.expiresIn,
      authorizer_refresh_token: answer,
    });
  }

  // ---- the authorization pages ----

  private page(r: SimRequest): SimResponse {
    const q = r.query;
    const component = q.get('component_appid') ?? '';
    const code = q.get('pre_auth_code') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    const authType = q.get('auth_type') ?? '3';
    if (!this.components.has(component)) return errorPage('component_appid 无效 (invalid component)');
    const pre = this.preAuthCodes.get(code);
    if (!pre || pre.component !== component) return errorPage('pre_auth_code 无效 (invalid pre_auth_code)');
    if (pre.used || this.clock.now() >= pre.expiresAt)
      return errorPage('授权链接已失效, 请重新发起授权 (pre_auth_code used or expired)');
    if (!/^https?:\/\//.test(redirectUri)) return errorPage('redirect_uri 无效');
    if (!['1', '2', '3', '4', '5', '6'].includes(authType)) return errorPage('auth_type 无效');
    const account = q.get('sim_account') || q.get('biz_appid') || this.account;
    pre.used = true; // one page per code: reloading it needs a new link
    const ticket = randomBytes(12).toString('hex');
    this.pages.set(ticket, {
      component,
      redirectUri,
      authType,
      expiresAt: this.clock.now() + PRE_AUTH_SECONDS * 1000,
      done: false,
    });
    return consentPage(ticket, account);
  }

  private confirm(r: SimRequest): SimResponse {
    const p = this.pages.get(r.query.get('ticket') ?? '');
    const account = r.query.get('account') ?? '';
    if (!p || p.done || this.clock.now() >= p.expiresAt) return errorPage('页面已过期, 请重新发起授权');
    p.done = true;
    if (r.query.get('action') !== 'allow') return errorPage('你已取消授权');
    if (!/^wx[0-9a-zA-Z]{16}$/.test(account)) return errorPage('account 无效');
    const key = authKey(p.component, account);
    const before = this.authorizations.get(key);
    const event: ComponentEvent = before?.active ? 'updateauthorized' : 'authorized';
    // A new authorization (after a cancellation, too) ends every earlier refresh token.
    if (!before?.active)
      this.authorizations.set(key, {
        component: p.component,
        appid: account,
        active: true,
        refresh: newRefreshToken(),
        pending: [],
      });
    this.opts.onAuthorized?.(account);
    const code = `queryauthcode@@@${randomBytes(36).toString('base64url')}`;
    this.authCodes.set(code, {
      component: p.component,
      appid: account,
      expiresAt: this.clock.now() + AUTH_CODE_SECONDS * 1000,
      used: false,
    });
    void this.pushEvent(p.component, account, event, code);
    return redirect(withQuery(p.redirectUri, { auth_code: code, expires_in: String(AUTH_CODE_SECONDS) }));
  }

  // ---- pushes ----

  private async pushEvent(
    component: string,
    appid: string,
    type: ComponentEvent,
    code?: string,
  ): Promise<{ status: number; body: string } | undefined> {
    const now = this.clock.now();
    const fields =
      `<xml><AppId><![CDATA[${component}]]></AppId><CreateTime>${Math.floor(now / 1000)}</CreateTime>` +
      `<InfoType><![CDATA[${type}]]></InfoType><AuthorizerAppid><![CDATA[${appid}]]></AuthorizerAppid>` +
      (code === undefined
        ? ''
        : `<AuthorizationCode><![CDATA[${code}]]></AuthorizationCode>` +
          `<AuthorizationCodeExpiredTime>${Math.floor(now / 1000) + AUTH_CODE_SECONDS}</AuthorizationCodeExpiredTime>` +
          `<PreAuthCode><![CDATA[]]></PreAuthCode>`) +
      '</xml>';
    return this.push(component, fields);
  }

  /** `xml` encrypted and signed for the component, POSTed to its URL as WeChat does (安全模式). */
  private push(component: string, xml: string): Promise<{ status: number; body: string } | undefined> {
    const c = this.need(component);
    if (c.pushUrl === undefined) return Promise.resolve(undefined);
    const request = signedPush(c, component, xml, Math.floor(this.clock.now() / 1000));
    const sent = fetch(`${c.pushUrl}?${request.query}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: request.body,
    })
      .then(async (res) => ({ status: res.status, body: await res.text() }))
      .catch(() => undefined);
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
    return sent;
  }

  private async tick(): Promise<void> {
    const now = this.clock.now();
    for (const [appid, c] of this.components) {
      if (c.pushUrl !== undefined && now >= c.nextPush) await this.pushVerifyTicket(appid);
    }
  }

  private need(component: string): Component {
    const c = this.components.get(component);
    if (!c) throw new Error(`sim: no component ${component} (addComponent first)`);
    return c;
  }
}

const authKey = (component: string, appid: string) => `${component}\0${appid}`;

function newRefreshToken(): string {
  return `refreshtoken@@@${randomBytes(32).toString('base64url')}`;
}

/**
 * A push as WeChat sends it in 安全模式: the XML encrypted with the component's EncodingAESKey
 * (AES-256-CBC, random(16) ‖ length ‖ message ‖ appid, PKCS#7 to 32 bytes), signed with its token
 * (signature over token, timestamp, nonce; msg_signature with the Encrypt value as well).
 */
export function signedPush(
  c: { token: string; aesKey: string },
  component: string,
  xml: string,
  timestamp: number,
  nonce = String(randomBytes(4).readUInt32BE(0)),
): { query: string; body: string } {
  const key = Buffer.from(`${c.aesKey}=`, 'base64');
  const msg = Buffer.from(xml, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length);
  const plain = Buffer.concat([randomBytes(16), len, msg, Buffer.from(component, 'utf8')]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  const encrypt = Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString('base64');
  const ts = String(timestamp);
  const sha1 = (parts: string[]) => createHash('sha1').update(parts.sort().join('')).digest('hex');
  const query = new URLSearchParams({
    signature: sha1([c.token, ts, nonce]),
    timestamp: ts,
    nonce,
    encrypt_type: 'aes',
    msg_signature: sha1([c.token, ts, nonce, encrypt]),
  });
  return {
    query: query.toString(),
    body: `<xml><AppId><![CDATA[${component}]]></AppId><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`,
  };
}

const HTML = 'text/html; charset=utf-8';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function errorPage(message: string): SimResponse {
  return {
    status: 200,
    contentType: HTML,
    body: `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>公众号授权</title></head><body><h1>出错了</h1><p id="message">${escapeHtml(message)}</p></body></html>`,
  };
}

/** The page the account's administrator sees after scanning: 授权 / 取消 (the real one confirms inside WeChat). */
function consentPage(ticket: string, account: string): SimResponse {
  const link = (action: string) =>
    `/cgi-bin/sim/componentconfirm?ticket=${ticket}&account=${encodeURIComponent(account)}&action=${action}`;
  return {
    status: 200,
    contentType: HTML,
    body: `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>公众号授权</title></head>
<body><h1>授权给第三方平台</h1><p id="account">${escapeHtml(account)}</p>
<a id="allow" href="${escapeHtml(link('allow'))}">授权</a> <a id="deny" href="${escapeHtml(link('deny'))}">取消</a></body></html>`,
  };
}

function withQuery(uri: string, params: Record<string, string>): string {
  const u = new URL(uri);
  for (const [k, v] of Object.entries(params)) u.searchParams.append(k, v);
  return u.href;
}

function redirect(location: string): SimResponse {
  return { status: 302, headers: { location, 'cache-control': 'no-store' }, body: '' };
}
