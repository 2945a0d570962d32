/**
 * Shared types of the WeChat simulator: one HTTP server carrying modules (MP, QR codes, OAuth,
 * Mini Program, WeCom), each contributing routes and naming the endpoint every route belongs to,
 * for per-endpoint counting and fault injection. docs/design.md §8.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** MP (api.weixin.qq.com) endpoints served by sim/mp.ts. */
export type MpEndpoint = 'token' | 'stable_token' | 'getticket' | 'clear_quota';

/** Parametric QR codes served by sim/qrcode.ts: cgi-bin/qrcode/create and cgi-bin/showqrcode. */
export type QrcodeEndpoint = 'qrcode_create' | 'showqrcode';

/**
 * OAuth2 web authorization served by sim/oauth.ts: the browser pages of open.weixin.qq.com
 * (connect/oauth2/authorize, connect/qrconnect, and the sim's consent click) and the sns/* APIs.
 */
export type OAuthEndpoint =
  | 'oauth2_authorize'
  | 'qrconnect'
  | 'oauth_confirm'
  | 'sns_access_token'
  | 'sns_refresh_token'
  | 'sns_userinfo'
  | 'sns_auth';

/** Mini Program login served by sim/mina.ts: jscode2session, and the sim's own stand-in for the Mini Program's wx.login + wx.getUserInfo. */
export type MinaEndpoint = 'jscode2session' | 'sim_wx_login';

/** WeCom (qyapi.weixin.qq.com) served by sim/work.ts: gettoken, get_jsapi_ticket, ticket/get?type=agent_config. */
export type WorkEndpoint = 'work_gettoken' | 'work_jsapi_ticket' | 'work_agent_ticket';

/** WeCom third-party apps (suites) served by sim/suite.ts: the cgi-bin/service/* endpoints. */
export type SuiteEndpoint =
  | 'suite_token'
  | 'suite_pre_auth_code'
  | 'suite_permanent_code'
  | 'suite_corp_token'
  | 'suite_install_page';

/** `cgi-bin/get_api_domain_ip`, which WeChat and WeCom both answer for an access_token of theirs (sim/wechat-sim.ts). */
export type ApiDomainIpEndpoint = 'api_domain_ip';

/** WeCom group robots (sim/robot.ts): `cgi-bin/webhook/send?key=`. */
export type RobotEndpoint = 'webhook_send';

/** Third-party platforms (sim/component.ts): the component APIs and the authorization pages. */
export type ComponentEndpoint =
  | 'component_token'
  | 'component_preauthcode'
  | 'component_query_auth'
  | 'component_authorizer_token'
  | 'componentloginpage'
  | 'bindcomponent'
  | 'component_confirm';

/** Every endpoint the simulator counts and can fault. Later modules extend this union. */
export type SimEndpoint =
  | ComponentEndpoint
  | MpEndpoint
  | QrcodeEndpoint
  | OAuthEndpoint
  | MinaEndpoint
  | WorkEndpoint
  | SuiteEndpoint
  | ApiDomainIpEndpoint
  | RobotEndpoint;

export type Fault =
  | { errcode: number; errmsg?: string } // HTTP 200 {"errcode":N,"errmsg":...}
  | { http: number } // that HTTP status with an empty or HTML body
  | { delayMs: number } // wait, then answer normally
  | { garbage: true } // HTTP 200, body that is not JSON
  | { drop: true }; // destroy the socket without answering

export interface SimOptions {
  /** Start of the sim clock, epoch ms. Default: Date.now(). */
  now?: number;
  /** cgi-bin/token successes per appid per Beijing day before 45009. Default 2000. */
  tokenDailyQuota?: number;
  /** stable_token force_refresh rotations per appid per Beijing day before 45009. Default 20. */
  stableForceDailyQuota?: number;
  /** Lifetime of minted access_tokens (classic and stable). Default 7200. */
  tokenLifetimeSeconds?: number;
  /**
   * What getticket says of a ticket it re-issues unchanged: its remaining lifetime ('remaining',
   * the default), or a full 7200 although the ticket still dies at its first expiry ('full', as
   * developers report seeing; unverified officially, so clients must cope with both).
   */
  reissuedTicketExpiresIn?: 'remaining' | 'full';
  /** Distinct permanent QR codes per appid before qrcode/create refuses more. Default 100000. */
  permanentQrcodeLimit?: number;
  /** qrcode/create calls per appid per Beijing day before 45009. Default 100000. */
  qrcodeDailyQuota?: number;
  /** Third-party platforms' refresh tokens: 'never' rotate (WeChat's documented behaviour, the default) or rotate 'on-use'. */
  rotateRefreshTokens?: 'never' | 'on-use';
}

/** A parsed request as the route handlers see it. */
export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Raw body text ('' when none). */
  body: string;
  /** The caller's address (IPv4-mapped IPv6 shown as IPv4), as WeChat's allow-lists see it. */
  ip: string;
}

/** What a handler answers. `body` objects are JSON-encoded. */
export interface SimResponse {
  status?: number;
  /** Bytes (Uint8Array/Buffer) are sent as they are, e.g. an image. */
  body?: string | Uint8Array | object;
  /** Default for object bodies: 'application/json; encoding=utf-8'. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Route {
  /** Undefined: any method (the handler answers wrong methods itself, e.g. 43002). */
  method?: string;
  path: string;
  endpoint: SimEndpoint;
  /** Best-effort appid of a request, for the call counters (runs before faults and the handler). */
  appidOf?: (req: SimRequest) => string | undefined;
  handle: (req: SimRequest) => SimResponse | Promise<SimResponse>;
}

/** A group of routes sharing state (one per platform). */
export interface SimModule {
  routes(): Route[];
}
