/** The validated configuration (DESIGN §3.5). Every field is filled in: defaults are applied by the loader. */

export type AppType = 'mp' | 'mina';
export type TokenMode = 'stable' | 'classic';

export interface AppConfig {
  appid: string;
  /** Resolved secret (references such as env:NAME or ssm:NAME are resolved by the loader). */
  secret: string;
  type: AppType;
  tokenMode: TokenMode;
  /** Server-URL token for message signature checks, when configured. */
  token?: string;
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
  oauth: { redirects: string[] };
  /** Store URL: memory:, file:DIR, mysql://..., dynamodb://TABLE?..., redis://... */
  store: string;
  upstream: UpstreamConfig;
  credentials: CredentialsConfig;
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
