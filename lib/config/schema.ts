/**
 * The configuration, declared once (docs/design.md §3.5): each field's check, default and type,
 * the rules across fields, and the environment overrides. Over 400 lines because it is that one place.
 * valibot 1.5.0, not zod/mini 4.6.7, for cold starts: a test bundle of both was 8.1 kB against
 * 26.5 kB minified, and required in 1.5 ms against 7.0 ms.
 */
import { dirname } from 'node:path';
import * as v from 'valibot';
import {
  baseUrl,
  basePath,
  bool,
  check,
  configError,
  endpoint,
  fail,
  flag,
  integer,
  isObj,
  list,
  masterKey,
  matching,
  minLength,
  nonEmptyString,
  oneOf,
  pattern,
  rule,
  SECRET_FIELD,
  secret,
  storeUrl,
  strict,
  type Secrets,
  unique,
  webhookUrl,
  within,
} from './fields';
import { canonicalInterface } from './interface-names';
import { resolveText, type ResolvedSecrets, type SecretField } from './secrets';
import { AGENTID_RULE, canonicalAgentid, canonicalCorpid, CORPID_RULE, WORK_SECRET_KINDS } from './wecom-ids';

/** WeChat appids are "wx" + 16 letters/digits. */
const APPID = /^wx[0-9a-zA-Z]{16}$/;
const REALM_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const REALM_SECRET_MIN = 16;
const OAUTH_SECRET_MIN = 32;
const METRICS_BEARER_MIN = 16;
/** 安全模式 EncodingAESKey: 43 of [a-zA-Z0-9] (lib/crypto/message.ts). */
const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;
/** COS bucket names end in -APPID; regions look like ap-beijing, ap-shanghai-fsi, na-siliconvalley. */
const COS_BUCKET = /^[a-z0-9][a-z0-9-]{0,49}-\d{5,12}$/;
const COS_REGION = /^[a-z]{2,}(-[a-z0-9]+){1,3}$/;
const COS_ACTION = /^name\/cos:[A-Za-z]+$/;
/** A prefix goes into a policy resource before its `*`: no wildcard of its own, no leading '/'. */
const COS_PREFIX = /^(?![/])[^*\u0000-\u001f\u007f]{0,256}$/;
const ROLE_ARN = /^qcs::cam::uin\/\d+:role(Name\/[\w+=,.@-]+|\/\d+)$/;
const THIRTY_DAYS = 30 * 86_400;
/** A domain verification file as the consoles name it (docs/protocol.md §1.8), or `*` for any (jsdkd's way). */
const VERIFY_FILE = /^(?:(?:MP|WW)_verify_[0-9A-Za-z]{16}\.txt|\*)$/;
/** What cos.scopes[].actions defaults to: upload (simple, form and multipart) and download. */
const DEFAULT_COS_ACTIONS = [
  'name/cos:PutObject',
  'name/cos:PostObject',
  'name/cos:InitiateMultipartUpload',
  'name/cos:ListMultipartUploads',
  'name/cos:ListParts',
  'name/cos:UploadPart',
  'name/cos:CompleteMultipartUpload',
  'name/cos:AbortMultipartUpload',
  'name/cos:GetObject',
  'name/cos:HeadObject',
];

/** How this parse reads secrets, and whether the file is jsdkd's (it names appids `key`). */
interface Context {
  secrets: Secrets;
  jsdkd: boolean;
}

// ---------------------------------------------------------------------------------------------
// Sections of the file.

function apps(ctx: Context) {
  const fields = {
    /** Resolved secret. */
    secret: secret(ctx.secrets),
    /** mp: Official Account; mina: Mini Program; web: website app (网站应用, QR login only: no global access_token). */
    type: oneOf(['mp', 'mina', 'web'], 'mp'),
    tokenMode: oneOf(['stable', 'classic'], 'stable'),
    /** Server-URL token for message signature checks. */
    token: v.optional(secret(ctx.secrets)),
    /** 安全模式 EncodingAESKey for encrypted message pushes; needs `token`. */
    encodingAESKey: v.optional(
      secret(ctx.secrets, (k) => (ENCODING_AES_KEY.test(k) ? undefined : 'must be 43 letters or digits')),
    ),
    /** Used when a request omits the appid and more than one app of the kind exists. */
    default: bool(false),
  };
  const wechat = v.pipe(
    strict({ appid: matching(APPID, 'must be "wx" followed by 16 letters or digits'), ...fields }),
    v.transform((app) => ({ ...app, named: 'appid' as const })),
  );
  // jsdkd wrote the appid as `key` and did not check its form; errors keep its name.
  const jsdkd = v.pipe(
    strict({ key: nonEmptyString, ...fields }),
    v.transform(({ key, ...app }) => ({ appid: key, ...app, named: 'key' as const })),
  );
  const both = v.custom<never>(() => false, "has both appid and key (jsdkd's name for appid): keep one");
  const entry = v.lazy((o) =>
    !isObj(o) || !Object.hasOwn(o, 'key') ? wechat : Object.hasOwn(o, 'appid') ? both : jsdkd,
  );
  return v.pipe(
    list(entry),
    rule((entries) => {
      entries.forEach((app, i) => {
        if (app.encodingAESKey !== undefined && app.token === undefined)
          fail([i, 'encodingAESKey'], `needs apps[${i}].token (encrypted messages are signed with it)`);
      });
      unique(
        entries,
        (app) => app.appid,
        (i, first) => fail([i, entries[i]!.named], `duplicate of apps[${first}]`),
      );
      unique(
        entries,
        (app) => (app.default ? app.type : undefined),
        (i, first) => fail([i, 'default'], `apps[${first}] is already the default ${entries[i]!.type} app`),
      );
      return entries.map(({ named, ...app }) => app);
    }),
  );
}

/**
 * WeCom secrets configured in the file: agents (apps; more may be registered at run time), and the
 * contacts (通讯录同步) and customer-contact (客户联系) secrets, which have no agent. A secret
 * without an agent is kept under its kind in place of an agentid (docs/design.md §13).
 */
function work(ctx: Context) {
  const entry = v.pipe(
    strict({
      corpid: v.pipe(
        nonEmptyString,
        v.check((c) => canonicalCorpid(c) !== undefined, CORPID_RULE),
      ),
      kind: oneOf(WORK_SECRET_KINDS, 'agent'),
      agentid: v.optional(v.unknown()),
      secret: secret(ctx.secrets),
    }),
    rule(({ agentid, ...w }) => {
      if (w.kind !== 'agent') {
        if (agentid !== undefined) fail(['agentid'], `must be left out: a ${w.kind} secret belongs to no agent`);
        return { ...w, agentid: w.kind as string };
      }
      if (agentid === undefined) fail(['agentid'], 'is required for an agent (kind "agent", the default)');
      return { ...w, agentid: canonicalAgentid(agentid) ?? fail(['agentid'], AGENTID_RULE) };
    }),
  );
  return v.pipe(
    list(entry),
    rule((agents) => {
      unique(
        agents,
        (a) => `${a.corpid}/${a.agentid}`,
        (i, first) =>
          fail([i], `duplicate corpid and ${agents[i]!.kind === 'agent' ? 'agentid' : 'kind'} of work[${first}]`),
      );
      return agents;
    }),
  );
}

/**
 * WeCom third-party apps (suites, 第三方应用) of a service provider: WeCom pushes the suite_ticket and
 * the authorization events to `POST /work/suite/:suiteId`, signed with `token` and encrypted with
 * `encodingAESKey` (docs/design.md §19).
 */
function suites(ctx: Context) {
  const suite = strict({
    /** The suite's id as the provider console shows it ("ww" or "wx" + 16). */
    suiteId: v.pipe(
      nonEmptyString,
      v.check((c) => canonicalCorpid(c) !== undefined, CORPID_RULE.replace('corpids', 'suite ids')),
    ),
    secret: secret(ctx.secrets),
    token: secret(ctx.secrets),
    encodingAESKey: secret(ctx.secrets, (k) => (ENCODING_AES_KEY.test(k) ? undefined : 'must be 43 letters or digits')),
  });
  return v.pipe(
    list(suite),
    rule((entries) => {
      unique(
        entries,
        (s) => s.suiteId,
        (i, first) => fail([i, 'suiteId'], `duplicate of suites[${first}]`),
      );
      return entries;
    }),
  );
}

function realms(ctx: Context) {
  const realm = strict({
    key: matching(REALM_KEY, 'must be 1 to 64 letters, digits, "_", "." or "-"'),
    // jsdkd's realm secrets may be short; they only ever served its md5 query signature.
    secret: secret(ctx.secrets, minLength(ctx.jsdkd ? 1 : REALM_SECRET_MIN)),
    /** Apps, corps and COS buckets this realm may use; empty = all. */
    apps: list(nonEmptyString),
    /** Interfaces this realm may call, by canonical name (aliases are turned into it); empty = all (admin ones for admin realms). */
    interfaces: v.pipe(
      list(nonEmptyString),
      rule((names) => names.map((name, j) => canonicalInterface(name) ?? fail([j], `unknown interface ${name}`))),
    ),
    admin: bool(false),
    /** Accept jsdkd's md5 query signature for this realm. */
    legacyMd5: bool(ctx.jsdkd),
    /**
     * Forced refreshes (force, or stale reports WeChat confirms) per credential per day; default 5,
     * for admin realms none; null: no allowance of its own (the credential's budgets still apply).
     */
    forceAllowance: v.optional(v.nullable(integer(0, 10000))),
  });
  return v.pipe(
    list(realm),
    rule((entries) => {
      unique(
        entries,
        (r) => r.key,
        (i, first) => fail([i, 'key'], `duplicate of realms[${first}]`),
      );
      return entries;
    }),
  );
}

/**
 * WeChat Open Platform third-party platforms (第三方平台) this deployment runs (docs/design.md §19):
 * the push URL is /wechat/component/:appid; authorizers' credentials follow from the authorization.
 */
function components(ctx: Context) {
  const component = strict({
    appid: matching(APPID, 'must be "wx" followed by 16 letters or digits'),
    /** component_appsecret: with the latest verify ticket it fetches the component_access_token. */
    secret: secret(ctx.secrets),
    /** 消息校验Token: signs the pushes to the 授权事件接收 URL. */
    token: secret(ctx.secrets),
    /** 消息加解密Key: every push is encrypted (43 letters or digits). */
    encodingAESKey: secret(ctx.secrets, (k) => (ENCODING_AES_KEY.test(k) ? undefined : 'must be 43 letters or digits')),
  });
  return v.pipe(
    list(component),
    rule((entries) => {
      unique(
        entries,
        (c) => c.appid,
        (i, first) => fail([i, 'appid'], `duplicate of components[${first}]`),
      );
      return entries;
    }),
  );
}

/** OAuth web login (GET /oauth/:appid/authorize → WeChat → /oauth/:appid/callback → an allowed redirect). */
function oauth(ctx: Context) {
  // The cheap half of the check at each redirect (sessions/oauth-redirects.ts allowedRedirect): a
  // pattern admitting a host nobody owns admits any host.
  const anyHost = (p: string) => {
    const re = new RegExp(`^(?:${p})$`, 'i');
    return re.test('https://wecred-probe.invalid/') || re.test('http://wecred-probe.invalid/');
  };
  const section = strict({
    /** Allowed redirect targets: patterns that must match the whole URL (anchored, case-insensitive). */
    redirects: list(
      v.pipe(
        pattern(false),
        v.check((p) => !anyHost(p), 'allows any host: name the host, e.g. "https://app\\.example\\.com/.*"'),
      ),
    ),
    /**
     * Public base URL of this deployment as browsers reach it (with any stage path): the callback
     * is `${callbackBase}/oauth/:appid/callback`. Absent: the /oauth routes are off.
     */
    callbackBase: v.optional(baseUrl),
    /** Signs the login results handed to the redirect target (HS256) and our state. */
    secret: v.optional(secret(ctx.secrets, minLength(OAUTH_SECRET_MIN))),
  });
  return v.optional(
    v.pipe(
      section,
      rule((o) =>
        o.callbackBase !== undefined && o.secret === undefined
          ? fail(['secret'], 'is required with oauth.callbackBase (it signs the login results)')
          : o,
      ),
    ),
    {},
  );
}

const upstream = v.optional(
  v.pipe(
    strict({
      mp: v.optional(baseUrl, 'https://api.weixin.qq.com'),
      work: v.optional(baseUrl, 'https://qyapi.weixin.qq.com'),
      /** Per upstream call. */
      timeoutMs: v.optional(integer(100, 60000), 5000),
      /** Per request: all attempts and backoff of one credential fetch must fit in it (checked below). */
      budgetMs: v.optional(v.unknown()),
      /** Base URL of the QR-code images handed to callers; absent = https://mp.weixin.qq.com. Never called. */
      showqrcode: v.optional(baseUrl),
      /** Base URL of the browser-facing authorize pages; absent = https://open.weixin.qq.com. Never called. */
      open: v.optional(baseUrl),
      /** Base URL of mp.weixin.qq.com's pages (a component's PC authorization page); absent = https://mp.weixin.qq.com. Never called. */
      mpPages: v.optional(baseUrl),
      /** Tencent Cloud STS endpoint (COS credentials), in the parts the SDK takes. */
      sts: v.optional(endpoint, 'sts.tencentcloudapi.com'),
    }),
    // One call must fit in the budget; a large timeoutMs raises the default budget with it.
    rule(({ budgetMs, ...u }) => ({
      ...u,
      budgetMs: within(
        ['budgetMs'],
        integer(u.timeoutMs, 120000, ' (at least upstream.timeoutMs)'),
        budgetMs === undefined ? Math.max(10000, u.timeoutMs) : budgetMs,
      ),
    })),
  ),
  {},
);

const credentials = v.optional(
  strict({
    refreshAheadSeconds: v.optional(integer(30, 3600), 300),
    // WeChat keeps a replaced token valid for 5 minutes only: a local copy must be dropped well before.
    localCacheSeconds: v.optional(integer(0, 120), 30),
    /** A lease outlives its holder's last heartbeat this long (the holder renews it three times as often). */
    leaseSeconds: v.optional(integer(1, 60), 3),
    forceCooldownSeconds: v.optional(integer(0, 3600), 60),
  }),
  {},
);

/**
 * While the store does not answer (docs/design.md §6.4): signed calls remember their nonces in
 * each process ('memory': a replay to another instance stays possible inside the ±300 s window)
 * or are refused with 7201 ('refuse').
 */
const storeOutage = v.optional(strict({ nonces: oneOf(['memory', 'refuse'] as const, 'memory') }), {});

/** Mini Program sessions (session.login / check / decrypt). */
const sessions = v.optional(
  strict({
    /** A session ends this long after its login, however much it is used. */
    maxAgeSeconds: v.optional(integer(60, 366 * 86_400), THIRTY_DAYS),
    /** A session ends this long after its last recorded visit. */
    idleSeconds: v.optional(integer(60, 366 * 86_400), THIRTY_DAYS),
    /** A user's new login ends their previous session of that app (one device at a time). */
    singleSession: bool(false),
  }),
  {},
);

/** What node:http (npm start, SCF web functions) allows a client: time, connections and body memory. */
const http = v.optional(
  strict({
    /** A request's headers must arrive within this (at most requestTimeoutSeconds, checked below). */
    headersTimeoutSeconds: v.optional(integer(1, 120), 10),
    /** A whole request, body included, must arrive within this. */
    requestTimeoutSeconds: v.optional(integer(1, 600), 30),
    /** An idle keep-alive connection is closed after this; behind a load balancer, set it above the balancer's idle timeout. */
    keepAliveTimeoutSeconds: v.optional(integer(1, 600), 5),
    /** Connections beyond this are closed as they arrive. */
    maxConnections: v.optional(integer(1, 100_000), 1000),
    /** Request bodies held at once, all requests together (checked below: at least maxBodyBytes). */
    maxBodyBytesInFlight: v.optional(v.unknown()),
  }),
  {},
);

/** What strangers may spend: public calls that each cost an upstream call, per client address. */
const clients = v.optional(
  strict({
    /** session.login calls and OAuth callbacks exchanging a code, per address (IPv6: per /64) and minute; 0: no limit. */
    loginsPerMinute: v.optional(integer(0, 1_000_000), 120),
    /** A header the trusted proxy in front sets to the client's address (its last value counts); absent: the platform's. */
    addressHeader: v.optional(v.pipe(matching(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name'), v.toLowerCase())),
  }),
  {},
);

/** COS: temporary keys from STS (cos.credentials) and server-side signatures (cos.sign). */
function cos(ctx: Context) {
  /** One bucket area callers may get COS credentials or signatures for. */
  const scope = strict({
    bucket: matching(COS_BUCKET, 'must be the full bucket name, <name>-<APPID> (e.g. examplebucket-1250000000)'),
    /** Default: cos.region. */
    region: v.optional(matching(COS_REGION, 'must be a COS region such as ap-beijing')),
    /** Object-key prefix ('' = the whole bucket); a request's prefix or key must start with it. */
    prefix: v.custom<string>(
      (p) => typeof p === 'string' && COS_PREFIX.test(p),
      'must be a key prefix ("" for the whole bucket) of at most 256 characters, without "*" or a leading "/"',
    ),
    /** CAM action names; a request may ask for a subset. */
    actions: v.optional(
      v.pipe(
        v.array(matching(COS_ACTION, 'must be a COS action such as "name/cos:PutObject"'), 'must be an array'),
        v.minLength(1, 'must list at least one action'),
      ),
      DEFAULT_COS_ACTIONS,
    ),
  });
  const section = strict({
    /** Permanent keys: they only ask STS for temporary keys; they never leave the server. */
    secretId: secret(ctx.secrets),
    secretKey: secret(ctx.secrets),
    /** The STS region and the default region of the scopes. */
    region: matching(COS_REGION, 'must be a Tencent Cloud region such as ap-beijing'),
    /** When set, AssumeRole on this role instead of GetFederationToken. */
    roleArn: v.optional(matching(ROLE_ARN, 'must be a role ARN such as qcs::cam::uin/12345678:roleName/cos-uploader')),
    /** Lifetime of the temporary keys (checked below). */
    durationSeconds: v.optional(v.unknown()),
    scopes: v.optional(
      v.pipe(v.array(scope, 'must be an array'), v.minLength(1, 'must list at least one {bucket, prefix}')),
      [],
    ),
  });
  return v.optional(
    v.pipe(
      section,
      rule(({ durationSeconds, scopes, ...c }) => ({
        ...c,
        // STS: GetFederationToken allows 7200 s for a root account, AssumeRole 43200 s.
        durationSeconds: within(
          ['durationSeconds'],
          integer(300, c.roleArn === undefined ? 7200 : 43200),
          durationSeconds === undefined ? 1800 : durationSeconds,
        ),
        scopes: scopes.map((s) => ({ ...s, region: s.region ?? c.region })),
      })),
    ),
  );
}

/** GET /metrics and the serverless metrics line (docs/design.md §16). */
function metrics(ctx: Context) {
  return v.optional(
    strict({
      /** The token GET /metrics wants as `Authorization: Bearer`; absent: no /metrics. */
      bearer: v.optional(secret(ctx.secrets, minLength(METRICS_BEARER_MIN))),
      /** On SCF and Lambda: one metrics line (CloudWatch's embedded metric format) after each invocation. */
      log: bool(false),
    }),
    {},
  );
}

/** Where the refresher posts alerts (docs/design.md §17); both URLs carry the key that lets anyone post. */
function alerts(ctx: Context) {
  return v.optional(
    strict({
      /** A WeCom group robot: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=… */
      wecomWebhook: v.optional(webhookUrl(ctx.secrets)),
      /** Any URL that takes a JSON POST. */
      webhook: v.optional(webhookUrl(ctx.secrets)),
    }),
    {},
  );
}

/** jsdkd's `cache` → a store URL: {file: PATH} | {memo: {}} | {redis: URL}. */
const cache = v.optional(
  v.pipe(
    v.custom<Record<string, unknown>>(isObj, 'must be an object'),
    v.check((o) => Object.keys(o).length === 1, 'must have exactly one of file, memo, redis'),
    strict({
      file: v.optional(nonEmptyString),
      memo: v.optional(v.custom<object>(isObj, 'must be an object')),
      redis: v.optional(v.pipe(nonEmptyString, v.startsWith('redis://', 'must be a redis:// URL'))),
    }),
    v.transform((c) => (c.file !== undefined ? `file:${dirname(c.file)}/.wecred` : c.memo ? 'memory:' : c.redis!)),
  ),
);

function fileSchema(ctx: Context) {
  const file = strict(
    {
      apps: apps(ctx),
      work: work(ctx),
      components: components(ctx),
      suites: suites(ctx),
      realms: realms(ctx),
      /** CORS origin patterns (anchored, case-insensitive); empty or '*' = any. */
      cors: list(pattern(true)),
      oauth: oauth(ctx),
      /** Store URL, or a secret reference to one (it may carry a password). */
      store: v.optional(storeUrl(ctx.secrets)),
      storeOutage,
      upstream,
      credentials,
      sessions,
      /** Skip realm checks (deployments behind a private gateway), but for admin interfaces. */
      trustGateway: bool(false),
      /** With trustGateway, skip realm checks for admin interfaces too. */
      trustGatewayAdmin: bool(false),
      /** Prefix stripped from request paths (e.g. an API-gateway stage). */
      basePath: v.optional(basePath, ''),
      /** MP_verify_*.txt / WW_verify_*.txt answered with their 16 characters; `*`: any (a jsdkd file's default). */
      verifyFiles: v.optional(
        v.array(
          matching(
            VERIFY_FILE,
            'must be MP_verify_ or WW_verify_, 16 letters or digits and .txt (the name the console gives), or "*"',
          ),
          'must be an array',
        ),
        ctx.jsdkd ? ['*'] : [],
      ),
      /** Largest accepted request body. */
      maxBodyBytes: v.optional(integer(1024, 10485760), 65536),
      http,
      clients,
      /** Absent: the cos.* interfaces refuse every request. */
      cos: cos(ctx),
      metrics: metrics(ctx),
      alerts: alerts(ctx),
      cache,
    },
    'must be a JSON object',
  );
  return v.pipe(
    file,
    rule(({ cache, store, ...config }) => {
      const { cos } = config;
      if (cos && cos.durationSeconds <= config.credentials.refreshAheadSeconds) {
        fail(
          ['cos', 'durationSeconds'],
          `must be longer than credentials.refreshAheadSeconds (${config.credentials.refreshAheadSeconds}), or every request would fetch new keys`,
        );
      }
      // A realm naming an app, corp or bucket that is not configured is a typo (a corp whose agents are
      // only registered at run time is listed in `work` with one of them; a component stands for its authorizers).
      const configured = new Set([
        ...config.apps.map((a) => a.appid),
        ...config.components.map((c) => c.appid),
        ...config.work.map((w) => w.corpid),
        ...config.suites.map((s) => s.suiteId),
        ...(cos?.scopes.map((s) => s.bucket) ?? []),
      ]);
      config.realms.forEach((realm, i) => {
        realm.apps.forEach((id, j) => {
          if (!configured.has(id))
            fail(['realms', i, 'apps', j], `${id} is not a configured app, component, WeCom corp, suite or COS bucket`);
        });
      });
      config.components.forEach((c, i) => {
        if (config.apps.some((a) => a.appid === c.appid))
          fail(['components', i, 'appid'], `is also in apps: a component's appid is not an app's`);
      });
      const { maxBodyBytesInFlight, ...httpLimits } = config.http;
      if (httpLimits.headersTimeoutSeconds > httpLimits.requestTimeoutSeconds)
        fail(
          ['http', 'headersTimeoutSeconds'],
          'must be at most http.requestTimeoutSeconds (the headers are part of the request)',
        );
      return {
        ...config,
        http: {
          ...httpLimits,
          // One largest body must fit; by default 8 MiB, or one largest body when that is more.
          maxBodyBytesInFlight: within(
            ['http', 'maxBodyBytesInFlight'],
            integer(config.maxBodyBytes, 1 << 30, ' (at least maxBodyBytes)'),
            maxBodyBytesInFlight === undefined ? Math.max(8 << 20, config.maxBodyBytes) : maxBodyBytesInFlight,
          ),
        },
        realms: config.realms.map((r) => ({
          ...r,
          forceAllowance: r.forceAllowance === undefined ? (r.admin ? null : 5) : r.forceAllowance,
        })),
        store: store ?? cache ?? 'file:./.wecred',
      };
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The environment: overrides applied after the file ('' counts as unset).

function envSchema(secrets: Secrets) {
  return v.object({
    WECRED_STORE: v.optional(storeUrl(secrets)),
    WECHAT_API_BASE: v.optional(baseUrl),
    WECOM_API_BASE: v.optional(baseUrl),
    WECHAT_OPEN_BASE: v.optional(baseUrl),
    WECRED_BASE_PATH: v.optional(basePath),
    WECRED_TRUST_GATEWAY: v.optional(flag),
    /** WECRED_MASTER_KEY (32 bytes), which seals secrets at rest; use it through cipherFor (lib/crypto/at-rest.ts). */
    WECRED_MASTER_KEY: v.optional(masterKey(secrets)),
  });
}

/** Demo mode keeps the simulator as upstream and its own master key. */
const DEMO_IGNORES = ['WECHAT_API_BASE', 'WECOM_API_BASE', 'WECHAT_OPEN_BASE', 'WECRED_MASTER_KEY'];

/** The variables that are set ('' counts as unset), but for those demo mode ignores. */
function given(env: NodeJS.ProcessEnv, demo: boolean): Record<string, string> {
  const set = Object.entries(env).filter(([name, value]) => value && !(demo && DEMO_IGNORES.includes(name)));
  return Object.fromEntries(set as [string, string][]);
}

// ---------------------------------------------------------------------------------------------
// Parsing.

export type Config = v.InferOutput<ReturnType<typeof fileSchema>> & {
  /** True when no config was found and the simulator stands in for WeChat. */
  demo: boolean;
  /** WECRED_MASTER_KEY (32 bytes); absent when not set. */
  masterKey?: Buffer;
};

function isJsdkd(raw: unknown): boolean {
  return isObj(raw) && Array.isArray(raw.apps) && raw.apps.some((a) => isObj(a) && Object.hasOwn(a, 'key'));
}

/** `raw` (a config file's content) with the environment `env` over it; `demo` for demo mode (load.ts). */
export function parseWith(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  resolved: ResolvedSecrets | undefined,
  demo: boolean,
): Config {
  const secrets: Secrets = (text) => resolveText(text, env, resolved);
  const file = check(fileSchema({ secrets, jsdkd: isJsdkd(raw) }), raw);
  const e = check(envSchema(secrets), given(env, demo));
  return {
    ...file,
    store: e.WECRED_STORE ?? file.store,
    upstream: {
      ...file.upstream,
      ...(e.WECHAT_API_BASE === undefined ? {} : { mp: e.WECHAT_API_BASE }),
      ...(e.WECOM_API_BASE === undefined ? {} : { work: e.WECOM_API_BASE }),
      ...(e.WECHAT_OPEN_BASE === undefined ? {} : { open: e.WECHAT_OPEN_BASE }),
    },
    basePath: e.WECRED_BASE_PATH ?? file.basePath,
    trustGateway: e.WECRED_TRUST_GATEWAY ?? file.trustGateway,
    demo,
    ...(e.WECRED_MASTER_KEY === undefined ? {} : { masterKey: e.WECRED_MASTER_KEY }),
  };
}

/**
 * Validate a config file's content, fill in defaults, put in secret references (env: from `env`,
 * the others from `resolved`, see loadConfig) and apply the environment overrides, including
 * WECRED_MASTER_KEY. Throws ConfigError on the first problem.
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, resolved?: ResolvedSecrets): Config {
  return parseWith(raw, env, resolved, false);
}

/** Every value at a secret field of `raw`, and WECRED_MASTER_KEY and WECRED_STORE: what loadConfig resolves first. */
export function secretFields(raw: unknown, env: NodeJS.ProcessEnv = process.env): SecretField[] {
  const issues = (schema: v.GenericSchema, input: unknown) =>
    v.safeParse(schema, input, { abortEarly: false, abortPipeEarly: true }).issues ?? [];
  return [
    ...issues(fileSchema({ secrets: 'report', jsdkd: false }), raw),
    ...issues(envSchema('report'), given(env, false)),
  ]
    .filter((issue) => issue.message === SECRET_FIELD)
    .map((issue) => ({ field: configError(issue).field, value: issue.input as string }));
}
