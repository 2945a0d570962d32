/**
 * `para` and `returnData` of every wecred interface (wecred's README, "The envelope API"), by
 * interfaceName, aliases included. wecred's own tests compare this table with the server's.
 */

/** `force` with the token WeChat just rejected as `stale`: replaced only if it is still current. */
export interface Refresh {
  force?: boolean;
  stale?: string;
}

/** How long a credential lives: seconds left and the expiry in unix seconds. */
export interface Lifetime {
  expires_in: number;
  exp: number;
}

export interface AccessTokenPara extends Refresh {
  /** Omitted: the single or default app. */
  appid?: string;
}
export interface AccessTokenData extends Lifetime {
  appid: string;
  access_token: string;
}

export interface TicketPara extends Refresh {
  appid?: string;
  type?: 'jsapi' | 'wx_card';
}
export interface TicketData extends Lifetime {
  appid: string;
  type: 'jsapi' | 'wx_card';
  ticket: string;
}

/** Other keys are echoed back (jsdkd's behaviour: debug, openTagList, …). */
export interface JsapiConfigPara {
  appid?: string;
  /** The page's absolute URL; signed without its #fragment. */
  url: string;
  jsApiList?: string[];
  [echoed: string]: unknown;
}
/** What wx.config takes. */
export interface JsapiConfigData {
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  url: string;
  jsApiList: string[];
  [echoed: string]: unknown;
}

export interface QueryPara {
  appid?: string;
  key: 'token' | 'ticket';
}
export interface QueryData {
  key: 'token' | 'ticket';
  value: string;
}

export interface OAuthAuthorizeUrlPara {
  appid?: string;
  redirect_uri: string;
  scope?: 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';
  /** 1–128 of a-zA-Z0-9. */
  state?: string;
}
export interface OAuthAuthorizeUrlData {
  appid: string;
  scope: string;
  url: string;
}

export interface OAuthExchangePara {
  appid?: string;
  code: string;
}
export interface OAuthUser {
  openid: string;
  nickname: string;
  sex: number;
  province: string;
  city: string;
  country: string;
  headimgurl: string;
  privilege: string[];
  unionid?: string;
}
export interface OAuthExchangeData {
  appid: string;
  openid: string;
  unionid?: string;
  scope: string;
  /** A 快照页 user: the openid is virtual. */
  snapshot?: true;
  user?: OAuthUser;
}

/** Mini Program login: the code of wx.login, and optionally wx.getUserInfo's encrypted data. */
export interface SessionLoginPara {
  appid?: string;
  code: string;
  encrypt_data?: string;
  iv?: string;
}
export interface SessionLoginData {
  id: string;
  skey: string;
  appid: string;
  unionid?: string;
  user_info?: Record<string, unknown>;
  /** Seconds the session lives unused. */
  duration: number;
}

export interface SessionPara {
  id: string;
  skey: string;
  appid?: string;
}
export interface SessionCheckData {
  user_info: Record<string, unknown> | null;
  appid: string;
  openid: string;
  unionid?: string;
}
export interface SessionDecryptPara extends SessionPara {
  encrypt_data: string;
  iv: string;
}
/** The decrypted object, its watermark checked. */
export type SessionDecryptData = Record<string, unknown>;
export interface SessionUserInfoData {
  id: string;
  skey: string;
  appid: string;
  user_info: Record<string, unknown> | null;
}

export interface QrcodeCreatePara {
  appid?: string;
  /** An integer → scene_id, a string → scene_str. */
  scene: number | string;
  expire_seconds?: number;
  permanent?: boolean;
}
export interface QrcodeCreateData {
  appid: string;
  ticket: string;
  /** The QR code's content. */
  url: string;
  image_url: string;
  /** null for a permanent code. */
  expire_seconds: number | null;
}

/** Upstream calls counted per day: fetches by reason, and probes of reported values. */
export type FetchReason = 'refresh' | 'force' | 'rejected' | 'probe';
export interface FetchCount {
  total: number;
  byCaller: Record<string, number>;
}
/** A credential's last failed refresh (any instance's, kept a day), in status. */
export interface LastError {
  /** Unix seconds. */
  at: number | null;
  /** The returnCode's name, e.g. 'config_fault'. */
  code: string;
  errcode?: number;
  message: string;
  /** The IP to allow-list, when WeChat named it (40164, 61004, 60020). */
  ip?: string;
  /** No refresh succeeded since. */
  current: boolean;
}
export interface CredentialStatus {
  key: string;
  owner: string;
  /** Official Account, Mini Program, website app, WeCom app or COS. */
  appType: 'mp' | 'mina' | 'web' | 'work' | 'cos' | 'component';
  present: boolean;
  /** A stored value that still works. */
  usable: boolean;
  fresh: boolean;
  state: 'fresh' | 'due' | 'refreshing' | 'failing' | 'refused' | 'absent';
  /** Unix seconds, or null. */
  exp: number | null;
  refreshedAt: number | null;
  forcedAt: number | null;
  version: number;
  refreshing: boolean;
  blockedUntil: number | null;
  /** Failed refreshes in a row. */
  failures: number;
  /** Unix seconds before which no attempt is made, or null. */
  heldUntil: number | null;
  lastError: LastError | null;
  /** Today's (Beijing day) upstream calls by reason, and the probes of reported values. */
  today: Record<FetchReason | 'probe', FetchCount> & {
    /** Reports of a rejected value (`stale`), by what the probe found: still live, or rejected. */
    reports: { live: FetchCount; rejected: FetchCount };
    fetches: number;
    dailyBudget: number | null;
    forceBudget: number | null;
  };
  hourlyBudgets: { scope: string; limit: number; used: number }[];
}
export interface StatusData {
  now: number;
  /** The store adapter: 'memory', 'file', 'mysql', 'dynamodb' or 'redis'. */
  store: string;
  /** One store read, as this call timed it. */
  storeRoundTripMs: number;
  /** Unix seconds since when the store has been failing, or null. */
  degradedSince: number | null;
  refreshAheadSeconds: number;
  credentials: CredentialStatus[];
  /** Per configured app: this Beijing month's quota clears (quota.clear) and the last one. */
  quotaClears: QuotaClearState[];
}

export interface QuotaClearState {
  appid: string;
  /** 'YYYY-MM', Beijing time. */
  month: string;
  used: number;
  /** WeChat's 10 a month. */
  limit: number;
  /** Unix seconds, or null. */
  lastClearAt: number | null;
}
export interface QuotaClearPara {
  appid: string;
}
export type QuotaClearData = QuotaClearState & {
  /** The credentials whose 45009 breaker this clear ended. */
  unblocked: string[];
};

export interface CosCredentialsPara {
  bucket: string;
  region: string;
  /** '' = the whole bucket. */
  prefix: string;
  actions?: string[];
}
export interface CosCredentialsData {
  tmpSecretId: string;
  tmpSecretKey: string;
  sessionToken: string;
  expiredTime: number;
  bucket: string;
  region: string;
  prefix: string;
  actions: string[];
}

export interface CosSignPara {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'OPTIONS';
  bucket: string;
  region: string;
  key: string;
  expires?: number;
  headers?: Record<string, string>;
  query?: Record<string, string | null>;
}
export interface CosSignData {
  /** The Authorization header. */
  authorization: string;
  /** Send as x-cos-security-token. */
  securityToken: string;
  startTime: number;
  expiredTime: number;
  host: string;
  action: string;
}

export interface WorkAgentPara {
  corpid: string;
  agentid: string | number;
}
export interface WorkAgentData {
  corpid: string;
  agentid: string;
}
export type WorkRefreshPara = WorkAgentPara & Refresh;
/** work.access_token: an agent's, or that of a secret without an agent (contacts, customer contact) named by kind. */
export type WorkAccessTokenPara =
  | (WorkAgentPara & Refresh & { kind?: 'agent' })
  | ({ corpid: string; kind: 'contacts' | 'externalcontact' } & Refresh);
export type WorkAccessTokenData = WorkAgentData & Lifetime & { access_token: string };
/** work.access_token's answer for a secret without an agent. */
export type WorkSecretTokenData = { corpid: string; kind: 'contacts' | 'externalcontact' } & Lifetime & {
    access_token: string;
  };
export type WorkTicketData = WorkAgentData & Lifetime & { ticket: string };
export type WorkAgentTicketData = WorkAgentData & Lifetime & { agent_ticket: string };

export interface WorkJsapiConfigPara extends WorkAgentPara {
  url: string;
  jsApiList?: string[];
  /** false: no agentConfig. Default true. */
  agent?: boolean;
}
/** What wx.config (ww.register's getConfigSignature) takes. */
export interface WorkConfig {
  beta: true;
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  jsApiList: string[];
}
/** What wx.agentConfig (ww.register's getAgentConfigSignature) takes. */
export interface WorkAgentConfig {
  corpid: string;
  agentid: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  jsApiList: string[];
}
export interface WorkJsapiConfigData {
  config: WorkConfig;
  agentConfig?: WorkAgentConfig;
}

export interface WorkRegisterAgentPara extends WorkAgentPara {
  agentsecret: string;
  remark?: string;
}
export interface WorkRegisterAgentData extends WorkAgentData {
  remark?: string;
  created: boolean;
  replaced: boolean;
}

export interface ComponentAuthorizeUrlPara {
  /** The component; may be omitted when the deployment runs one. */
  component_appid?: string;
  /** The landing page after the authorization (allowed by oauth.redirects); it gets `wecred_component` (and `state`). */
  redirect_uri: string;
  state?: string;
  /** 1 Official Accounts, 2 Mini Programs, 3 both (default), 4–6 the newer kinds. */
  auth_type?: number;
  /** Only this account may authorize. */
  biz_appid?: string;
}
export interface ComponentAuthorizeUrlData {
  component_appid: string;
  /** WeChat's PC authorization page (the administrator scans its QR code). */
  pc_url: string;
  /** The same inside WeChat on a phone. */
  mobile_url: string;
  /** Seconds the links work (their pre_auth_code). */
  expires_in: number;
}
export interface ComponentAuthorizersData {
  components: { component_appid: string; verify_ticket_at: number | null }[];
  authorizers: {
    authorizer_appid: string;
    component_appid: string;
    state: 'authorized' | 'unauthorized';
    func_info: number[];
    authorized_at: number;
    updated_at: number;
    token: { fresh: boolean; expires_in: number; exp: number } | null;
  }[];
}
export interface WorkSuiteInstallUrlPara {
  suite_id: string;
  /** Where WeCom sends the admin after the install (with auth_code and state). */
  redirect_uri: string;
  /** Letters and digits, at most 128. */
  state?: string;
}
export type WorkSuiteInstallUrlData = Lifetime & { suite_id: string; url: string };

type Iface<P, D> = { para: P; data: D };

/** Every interfaceName wecred answers, with its para and returnData. */
export interface Interfaces {
  access_token: Iface<AccessTokenPara, AccessTokenData>;
  'qcloud.mimi.access_token': Iface<AccessTokenPara, AccessTokenData>;
  ticket: Iface<TicketPara, TicketData>;
  'jsapi.config': Iface<JsapiConfigPara, JsapiConfigData>;
  status: Iface<Record<string, never>, StatusData>;
  query: Iface<QueryPara, QueryData>;
  'qrcode.create': Iface<QrcodeCreatePara, QrcodeCreateData>;
  'oauth.authorize_url': Iface<OAuthAuthorizeUrlPara, OAuthAuthorizeUrlData>;
  'oauth.exchange': Iface<OAuthExchangePara, OAuthExchangeData>;
  'session.login': Iface<SessionLoginPara, SessionLoginData>;
  'qcloud.cam.id_skey': Iface<SessionLoginPara, SessionLoginData>;
  'session.check': Iface<SessionPara, SessionCheckData>;
  'qcloud.cam.auth': Iface<SessionPara, SessionCheckData>;
  'session.decrypt': Iface<SessionDecryptPara, SessionDecryptData>;
  'qcloud.cam.decrypt': Iface<SessionDecryptPara, SessionDecryptData>;
  'qcloud.cam.userinfo': Iface<SessionDecryptPara, SessionUserInfoData>;
  'cos.credentials': Iface<CosCredentialsPara, CosCredentialsData>;
  'cos.sign': Iface<CosSignPara, CosSignData>;
  'qcloud.cos.auth.reusable': Iface<CosSignPara, CosSignData>;
  'qcloud.cos.auth.nonreusable': Iface<CosSignPara, CosSignData>;
  'work.access_token': Iface<WorkAccessTokenPara, WorkAccessTokenData | WorkSecretTokenData>;
  'quota.clear': Iface<QuotaClearPara, QuotaClearData>;
  'work.suite.install_url': Iface<WorkSuiteInstallUrlPara, WorkSuiteInstallUrlData>;
  'work.ticket': Iface<WorkRefreshPara, WorkTicketData>;
  'work.agent_ticket': Iface<WorkRefreshPara, WorkAgentTicketData>;
  'work.jsapi.config': Iface<WorkJsapiConfigPara, WorkJsapiConfigData>;
  'work.register_agent': Iface<WorkRegisterAgentPara, WorkRegisterAgentData>;
  'qcloud.work.initagent': Iface<WorkRegisterAgentPara, WorkRegisterAgentData>;
  'qcloud.work.access_token': Iface<WorkRefreshPara, { corpid: string; access_token: string; exp: number }>;
  'qcloud.work.ticket': Iface<WorkRefreshPara, { corpid: string; ticket: string; exp: number }>;
  'qcloud.work.agent.ticket': Iface<WorkRefreshPara, { corpid: string; agent_ticket: string; exp: number }>;
  'component.authorize_url': Iface<ComponentAuthorizeUrlPara, ComponentAuthorizeUrlData>;
  'component.authorizers': Iface<Record<string, never>, ComponentAuthorizersData>;
}

export type InterfaceName = keyof Interfaces;

/** The names of Interfaces, at run time. */
export const INTERFACE_NAMES = Object.keys({
  access_token: 0,
  'qcloud.mimi.access_token': 0,
  ticket: 0,
  'jsapi.config': 0,
  status: 0,
  query: 0,
  'qrcode.create': 0,
  'oauth.authorize_url': 0,
  'oauth.exchange': 0,
  'session.login': 0,
  'qcloud.cam.id_skey': 0,
  'session.check': 0,
  'qcloud.cam.auth': 0,
  'session.decrypt': 0,
  'qcloud.cam.decrypt': 0,
  'qcloud.cam.userinfo': 0,
  'cos.credentials': 0,
  'cos.sign': 0,
  'qcloud.cos.auth.reusable': 0,
  'qcloud.cos.auth.nonreusable': 0,
  'work.access_token': 0,
  'quota.clear': 0,
  'work.suite.install_url': 0,
  'work.ticket': 0,
  'work.agent_ticket': 0,
  'work.jsapi.config': 0,
  'work.register_agent': 0,
  'qcloud.work.initagent': 0,
  'qcloud.work.access_token': 0,
  'qcloud.work.ticket': 0,
  'qcloud.work.agent.ticket': 0,
  'component.authorize_url': 0,
  'component.authorizers': 0,
} satisfies Record<InterfaceName, 0>) as InterfaceName[];
