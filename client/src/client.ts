/**
 * WecredClient: signed calls of wecred's envelope API (`POST /`) with typed helpers for every
 * interface, and withAccessToken, which replaces a token WeChat rejected once and retries once.
 */
import { CLIENT_CODES, type ClientErrorCode, isTokenRejected, WecredError } from './errors.js';
import type * as I from './interfaces.js';
import { sign } from './sign.js';

export interface WecredClientOptions {
  /** wecred's base URL, with the deployment's base path if any: `https://cred.example.com/release`. */
  url: string;
  /** The realm key and secret; without them only public interfaces answer. */
  realm?: string;
  secret?: string;
  /** Per call, answer included; default 10000. */
  timeoutMs?: number;
  /** Another fetch (a proxy agent, a test double); default the global one. */
  fetch?: typeof fetch;
}

type Para<N extends I.InterfaceName> = I.Interfaces[N]['para'];
type Data<N extends I.InterfaceName> = I.Interfaces[N]['data'];

export class WecredClient {
  private readonly endpoint: string;
  private readonly realm?: { key: string; secret: string };
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: WecredClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('url must be http(s)');
    if (url.search || url.hash) throw new TypeError('url must be a base URL, without a query or fragment');
    this.endpoint = `${url.origin}${url.pathname.replace(/\/+$/, '')}/`;
    if ((options.realm === undefined) !== (options.secret === undefined))
      throw new TypeError('realm and secret go together');
    if (options.realm !== undefined) this.realm = { key: options.realm, secret: options.secret! };
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Calls `interfaceName` with `para`; its returnData, or a WecredError. */
  call<N extends I.InterfaceName>(interfaceName: N, para: Para<N>): Promise<Data<N>>;
  call(interfaceName: string, para?: Record<string, unknown>): Promise<Record<string, unknown>>;
  async call(interfaceName: string, para: object = {}): Promise<unknown> {
    const body = JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.realm)
      Object.assign(
        headers,
        sign({ realm: this.realm.key, secret: this.realm.secret, method: 'POST', path: '/', body }),
      );
    const fail = (code: ClientErrorCode, message: string, status = 0) =>
      new WecredError(CLIENT_CODES[code], message, code, status, interfaceName);

    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    let status = 0;
    let text: string;
    try {
      const res = await this.fetch(this.endpoint, { method: 'POST', headers, body, signal: abort.signal });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (abort.signal.aborted) throw fail('timeout', `no answer from wecred within ${this.timeoutMs} ms`, status);
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw fail('network', `wecred unreachable (${cause})`, status);
    } finally {
      clearTimeout(timer);
    }

    let answer: { returnCode?: unknown; returnMessage?: unknown; returnData?: unknown; error?: unknown };
    try {
      answer = JSON.parse(text);
    } catch {
      throw fail('bad_answer', `wecred answered HTTP ${status} without a JSON envelope`, status);
    }
    if (typeof answer?.returnCode !== 'number')
      throw fail('bad_answer', `wecred answered HTTP ${status} without a returnCode`, status);
    if (answer.returnCode === 0) return answer.returnData;
    const error = (answer.error ?? {}) as { code?: unknown; errcode?: unknown };
    throw new WecredError(
      answer.returnCode,
      String(answer.returnMessage ?? ''),
      typeof error.code === 'string' ? error.code : 'error',
      status,
      interfaceName,
      typeof error.errcode === 'number' ? error.errcode : undefined,
    );
  }

  /** An app's access_token; `appid` omitted: the single or default app. */
  accessToken(para: string | I.AccessTokenPara = {}): Promise<I.AccessTokenData> {
    return this.call('access_token', typeof para === 'string' ? { appid: para } : para);
  }

  ticket(para: I.TicketPara = {}): Promise<I.TicketData> {
    return this.call('ticket', para);
  }

  /** wx.config parameters for a page URL (public). */
  jsapiConfig(para: I.JsapiConfigPara): Promise<I.JsapiConfigData> {
    return this.call('jsapi.config', para);
  }

  /** jsdkd's query: the bare access_token or jsapi ticket. */
  query(para: I.QueryPara): Promise<I.QueryData> {
    return this.call('query', para);
  }

  qrcodeCreate(para: I.QrcodeCreatePara): Promise<I.QrcodeCreateData> {
    return this.call('qrcode.create', para);
  }

  /** Every credential against WeChat's budgets (admin realms). */
  status(): Promise<I.StatusData> {
    return this.call('status', {});
  }

  /** Clear an app's daily API quota with its secret, one of WeChat's 10 a month (admin realms). */
  quotaClear(para: I.QuotaClearPara): Promise<I.QuotaClearData> {
    return this.call('quota.clear', para);
  }

  /**
   * `fn(token)` with the app's access_token. When fn fails because WeChat rejected the token
   * (40001, 40014, 42001: see isTokenRejected), the token is reported `stale` once and fn runs
   * once more with its replacement.
   */
  withAccessToken<T>(appid: string | undefined, fn: (token: string) => T | Promise<T>): Promise<T> {
    return retryOnRejected(
      async (refresh) =>
        (await this.accessToken({ ...(appid === undefined ? {} : { appid }), ...refresh })).access_token,
      fn,
    );
  }

  readonly oauth = {
    authorizeUrl: (para: I.OAuthAuthorizeUrlPara): Promise<I.OAuthAuthorizeUrlData> =>
      this.call('oauth.authorize_url', para),
    exchange: (para: I.OAuthExchangePara): Promise<I.OAuthExchangeData> => this.call('oauth.exchange', para),
  };

  /** Mini Program sessions (public). */
  readonly session = {
    login: (para: I.SessionLoginPara): Promise<I.SessionLoginData> => this.call('session.login', para),
    check: (para: I.SessionPara): Promise<I.SessionCheckData> => this.call('session.check', para),
    decrypt: (para: I.SessionDecryptPara): Promise<I.SessionDecryptData> => this.call('session.decrypt', para),
    /** Decrypt wx.getUserInfo's data and keep it as the session's user_info (`qcloud.cam.userinfo`). */
    userInfo: (para: I.SessionDecryptPara): Promise<I.SessionUserInfoData> => this.call('qcloud.cam.userinfo', para),
  };

  readonly cos = {
    credentials: (para: I.CosCredentialsPara): Promise<I.CosCredentialsData> => this.call('cos.credentials', para),
    sign: (para: I.CosSignPara): Promise<I.CosSignData> => this.call('cos.sign', para),
    /** A signature for one object, valid at most 60 s (`qcloud.cos.auth.nonreusable`). */
    signOnce: (para: I.CosSignPara): Promise<I.CosSignData> => this.call('qcloud.cos.auth.nonreusable', para),
  };

  /** Third-party platforms: install links for an account's authorization; the authorizers (admin). */
  readonly component = {
    authorizeUrl: (para: I.ComponentAuthorizeUrlPara): Promise<I.ComponentAuthorizeUrlData> =>
      this.call('component.authorize_url', para),
    authorizers: (): Promise<I.ComponentAuthorizersData> => this.call('component.authorizers', {}),
  };

  /** WeCom: each agent's own token and tickets, its JS-SDK parameters, agents registered at run time. */
  readonly work = {
    accessToken: (para: I.WorkRefreshPara): Promise<I.WorkAccessTokenData> =>
      this.call('work.access_token', para) as Promise<I.WorkAccessTokenData>,
    /** The token of a secret without an agent: the contacts or customer-contact secret. */
    secretToken: (
      para: { corpid: string; kind: 'contacts' | 'externalcontact' } & I.Refresh,
    ): Promise<I.WorkSecretTokenData> => this.call('work.access_token', para) as Promise<I.WorkSecretTokenData>,
    ticket: (para: I.WorkRefreshPara): Promise<I.WorkTicketData> => this.call('work.ticket', para),
    agentTicket: (para: I.WorkRefreshPara): Promise<I.WorkAgentTicketData> => this.call('work.agent_ticket', para),
    jsapiConfig: (para: I.WorkJsapiConfigPara): Promise<I.WorkJsapiConfigData> => this.call('work.jsapi.config', para),
    registerAgent: (para: I.WorkRegisterAgentPara): Promise<I.WorkRegisterAgentData> =>
      this.call('work.register_agent', para),
    /** The install link of a third-party app (suite) for a corp admin. */
    suiteInstallUrl: (para: I.WorkSuiteInstallUrlPara): Promise<I.WorkSuiteInstallUrlData> =>
      this.call('work.suite.install_url', para),
    /** As WecredClient.withAccessToken, with the agent's token. */
    withAccessToken: <T>(agent: I.WorkAgentPara, fn: (token: string) => T | Promise<T>): Promise<T> =>
      retryOnRejected(async (refresh) => (await this.work.accessToken({ ...agent, ...refresh })).access_token, fn),
  };
}

async function retryOnRejected<T>(
  token: (refresh?: I.Refresh) => Promise<string>,
  fn: (token: string) => T | Promise<T>,
): Promise<T> {
  const first = await token();
  try {
    return await fn(first);
  } catch (err) {
    if (!isTokenRejected(err)) throw err;
    return fn(await token({ force: true, stale: first }));
  }
}
