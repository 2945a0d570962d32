/** The validated configuration (DESIGN §3.5). Every field is filled in: defaults are applied by the loader. */
import type { Endpoint } from './secret-source';

/** mp: Official Account; mina: Mini Program; web: website app (网站应用, QR login only: no global access_token). */
export type AppType = 'mp' | 'mina' | 'web';
export type TokenMode = 'stable' | 'classic';

export interface AppConfig {
  appid: string;
  /** Resolved secret (references such as env:NAME or ssm:NAME are resolved by the loader). */
  secret: string;
  type: AppType;
  tokenMode: TokenMode;
  /** Server-URL token for message signature checks, when configured. */
  token?: string;
  /**
   * 安全模式 EncodingAESKey (43 letters or digits) for encrypted message pushes; needs `token`.
   * A secret: references are resolved by the loader.
   */
  encodingAESKey?: string;
  /** Used when a request omits the appid and more than one app of the kind exists. */
  default: boolean;
}

export interface WorkAppConfig {
  corpid: string;
  agentid: string;
  secret: string;
}

export interface RealmConfig {
  key: string;
  secret: string;
  /** Apps / corps this realm may use; empty = all. */
  apps: string[];
  /** Canonical interface names this realm may call; empty = all non-admin ones. */
  interfaces: string[];
  admin: boolean;
  /** Accept jsdkd's md5 query signature for this realm. */
  legacyMd5: boolean;
}

export interface UpstreamConfig {
  mp: string;
  work: string;
  /** Per upstream call. */
  timeoutMs: number;
  /** Per request: all attempts and backoff of one credential fetch must fit in it. */
  budgetMs: number;
  /**
   * Base URL of the QR-code images handed to callers (`…/cgi-bin/showqrcode?ticket=`); absent =
   * https://mp.weixin.qq.com. Not called by the server: it only goes into qrcode.create answers.
   */
  showqrcode?: string;
  /**
   * Base URL of the browser-facing authorize pages (`…/connect/oauth2/authorize`, `…/connect/qrconnect`);
   * absent = https://open.weixin.qq.com. Not called by the server: it only goes into redirects.
   */
  open?: string;
  /** Tencent Cloud STS endpoint (COS credentials), in the SDK's parts; default https sts.tencentcloudapi.com. */
  sts: Endpoint;
}

/** OAuth web login (GET /oauth/:appid/authorize → WeChat → /oauth/:appid/callback → an allowed redirect). */
export interface OAuthConfig {
  /** Allowed redirect targets: patterns that must match the whole URL (anchored, case-insensitive). */
  redirects: string[];
  /**
   * Public base URL of this deployment as browsers reach it (with any stage path), e.g.
   * https://cred.example.com/release: the callback is `${callbackBase}/oauth/:appid/callback`.
   * Its host must be the app's 网页授权域名. Absent: the /oauth routes are off.
   */
  callbackBase?: string;
  /**
   * Signs the login result handed to the redirect target (HS256) and our state; shared with the
   * business servers that verify results. At least 32 characters; may be a secret reference.
   */
  secret?: string;
}

/** One bucket area callers may get COS credentials or signatures for. */
export interface CosScopeConfig {
  /** `<name>-<APPID>`, as COS names buckets. */
  bucket: string;
  region: string;
  /** Object-key prefix ('' = the whole bucket); a request's prefix or key must start with it. */
  prefix: string;
  /** CAM action names, `name/cos:PutObject`, …; a request may ask for a subset. */
  actions: string[];
}

/** COS: temporary keys from STS (cos.credentials) and server-side signatures (cos.sign). */
export interface CosConfig {
  /** Permanent keys (secrets): they only ask STS for temporary keys (which sign cos.sign requests); they never leave the server. */
  secretId: string;
  secretKey: string;
  /** The STS region (X-TC-Region) and the default region of the scopes. */
  region: string;
  /** When set, AssumeRole on this role instead of GetFederationToken. */
  roleArn?: string;
  /** Lifetime of the temporary keys. */
  durationSeconds: number;
  scopes: CosScopeConfig[];
}

/** Mini Program sessions (session.login / check / decrypt). */
export interface SessionsConfig {
  /** A session ends this long after its login, however much it is used. */
  maxAgeSeconds: number;
  /** A session ends this long after its last recorded visit (recorded at most every min(60 s, idleSeconds / 10)). */
  idleSeconds: number;
  /** A user's new login ends their previous session of that app (one device at a time). */
  singleSession: boolean;
}

export interface CredentialsConfig {
  refreshAheadSeconds: number;
  localCacheSeconds: number;
  leaseSeconds: number;
  forceCooldownSeconds: number;
}

export interface Config {
  apps: AppConfig[];
  work: WorkAppConfig[];
  realms: RealmConfig[];
  /** CORS origin patterns (anchored, case-insensitive); empty or '*' = any. */
  cors: string[];
  oauth: OAuthConfig;
  /** Absent: the cos.* interfaces refuse every request. */
  cos?: CosConfig;
  /** Store URL: memory:, file:DIR, mysql://..., dynamodb://TABLE?..., redis://... */
  store: string;
  upstream: UpstreamConfig;
  credentials: CredentialsConfig;
  sessions: SessionsConfig;
  /** Skip realm checks (deployments behind a private gateway). */
  trustGateway: boolean;
  /** Prefix stripped from request paths (e.g. an API-gateway stage). */
  basePath: string;
  /** Largest accepted request body. */
  maxBodyBytes: number;
  /** True when no config was found and the simulator stands in for WeChat. */
  demo: boolean;
  /**
   * WECRED_MASTER_KEY (32 bytes), which seals secrets at rest; absent when not set. Use it
   * through cipherFor (lib/crypto/at-rest.ts) only.
   */
  masterKey?: Buffer;
}
