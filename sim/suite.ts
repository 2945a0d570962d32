/**
 * WeCom third-party apps (suites) in the simulator: the service endpoints (get_suite_token,
 * get_pre_auth_code, get_permanent_code, get_corp_token) and the pushes to a suite's 指令回调URL
 * (suite_ticket every 10 minutes of the sim clock, create_auth, change_auth, cancel_auth), encrypted
 * and signed as WeCom does, by the simulator's own code. docs/protocol.md §12; docs/design.md §8.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { SimClock } from './clock';
import { wxError, wxOk } from './errors';
import { newToken } from './mp';
import type { Route, SimModule, SimRequest, SimResponse } from './types';
import type { WorkSim } from './work';

/** WeCom: a suite_ticket is pushed every 10 minutes and is valid for 30. */
const TICKET_EVERY_MS = 600_000;
const TICKET_VALID_MS = 1_800_000;
const SUITE_TOKEN_SECONDS = 7200;
const PRE_AUTH_SECONDS = 1200;
/** An auth code (临时授权码) is valid 10 minutes, once. */
const AUTH_CODE_MS = 600_000;
/** How often (real time) the simulator looks whether a suite's ticket push is due on its clock. */
const PUSH_CHECK_MS = 200;

const SUITE_ERRMSG: Readonly<Record<number, string>> = {
  40001: 'invalid secret',
  40029: 'invalid code',
  40082: 'invalid suite_access_token',
  40083: 'invalid suite_id',
  40084: 'invalid permanent_code',
  40085: 'invalid suite_ticket',
  41001: 'access_token missing',
  42009: 'suite_access_token expired',
  43004: 'require POST method',
  47001: 'data format error',
};
const suiteError = (errcode: number) => wxError(errcode, SUITE_ERRMSG[errcode]);

interface Suite {
  suiteId: string;
  secret: string;
  token: string;
  aesKey: string;
  callbackUrl?: string;
  tickets: { ticket: string; at: number }[];
  lastPushAt: number;
  /** The live suite_access_token. */
  current?: string;
}

interface Authorization {
  suiteId: string;
  corpid: string;
  corpName: string;
  agentid: string;
  permanentCode: string;
  cancelled: boolean;
}

/** What a push to the suite's URL got back. */
export interface PushAnswer {
  status: number;
  body: string;
}

export class SuiteSim implements SimModule {
  private readonly suites = new Map<string, Suite>();
  private readonly suiteTokens = new Map<string, { suiteId: string; expiresAt: number }>();
  private readonly preAuthCodes = new Map<string, { suiteId: string; expiresAt: number }>();
  private readonly authCodes = new Map<string, { suiteId: string; corpid: string; expiresAt: number; used: boolean }>();
  /** `${suiteId}\0${corpid}` → the corp's authorization. */
  private readonly auths = new Map<string, Authorization>();
  private timer: NodeJS.Timeout | undefined;
  private pushing = false;

  constructor(
    private readonly clock: SimClock,
    private readonly work: WorkSim,
  ) {}

  addSuite(suiteId: string, secret: string, token: string, encodingAESKey: string): void {
    this.suites.set(suiteId, { suiteId, secret, token, aesKey: encodingAESKey, tickets: [], lastPushAt: 0 });
  }

  /** The suite's 指令回调URL: a ticket is pushed now, then every 10 minutes of the sim clock. */
  async setCallback(suiteId: string, url: string): Promise<PushAnswer> {
    this.suite(suiteId).callbackUrl = url;
    this.timer ??= setInterval(() => void this.pushDue(), PUSH_CHECK_MS);
    this.timer.unref();
    return this.pushTicket(suiteId);
  }

  /** Push a new suite_ticket now (WeCom also does when the provider asks for one in its console). */
  async pushTicket(suiteId: string): Promise<PushAnswer> {
    const suite = this.suite(suiteId);
    const now = this.clock.now();
    const ticket = randomBytes(48).toString('base64url');
    suite.tickets = [...suite.tickets.filter((t) => now - t.at < TICKET_VALID_MS), { ticket, at: now }];
    suite.lastPushAt = now;
    return this.push(
      suite,
      `<xml><SuiteId><![CDATA[${suiteId}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>${seconds(now)}</TimeStamp><SuiteTicket><![CDATA[${ticket}]]></SuiteTicket></xml>`,
    );
  }

  /**
   * A corp admin installs the suite's app (the install page's consent): a new auth code (10 minutes,
   * once) pushed as create_auth; the code is returned, as the redirect to redirect_uri carries it.
   */
  async install(
    suiteId: string,
    corpid: string,
    opts: { agentid: string; corpName?: string; state?: string },
  ): Promise<{ authCode: string; answer: PushAnswer }> {
    const suite = this.suite(suiteId);
    const now = this.clock.now();
    const authCode = randomBytes(32).toString('base64url');
    this.authCodes.set(authCode, { suiteId, corpid, expiresAt: now + AUTH_CODE_MS, used: false });
    this.auths.set(`${suiteId}\0${corpid}`, {
      suiteId,
      corpid,
      corpName: opts.corpName ?? `corp ${corpid}`,
      agentid: opts.agentid,
      permanentCode: randomBytes(32).toString('base64url'),
      cancelled: false,
    });
    const answer = await this.push(
      suite,
      `<xml><SuiteId><![CDATA[${suiteId}]]></SuiteId><AuthCode><![CDATA[${authCode}]]></AuthCode><InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>${seconds(now)}</TimeStamp><State><![CDATA[${opts.state ?? ''}]]></State></xml>`,
    );
    return { authCode, answer };
  }

  /** The corp changed what the app may do (change_auth). */
  changeAuth(suiteId: string, corpid: string): Promise<PushAnswer> {
    return this.push(this.suite(suiteId), this.corpEvent(suiteId, corpid, 'change_auth'));
  }

  /** The corp uninstalls the app (cancel_auth): its permanent code and its token stop working. */
  cancelAuth(suiteId: string, corpid: string): Promise<PushAnswer> {
    const auth = this.auths.get(`${suiteId}\0${corpid}`);
    if (auth) {
      auth.cancelled = true;
      this.work.revokeApp(corpid, auth.agentid);
    }
    return this.push(this.suite(suiteId), this.corpEvent(suiteId, corpid, 'cancel_auth'));
  }

  /** Test-only: the corp's permanent code (to check it never shows). */
  permanentCode(suiteId: string, corpid: string): string | undefined {
    return this.auths.get(`${suiteId}\0${corpid}`)?.permanentCode;
  }

  /** The suite's tickets still valid, newest last. */
  validTickets(suiteId: string): string[] {
    const now = this.clock.now();
    return this.suite(suiteId)
      .tickets.filter((t) => now - t.at < TICKET_VALID_MS)
      .map((t) => t.ticket);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  routes(): Route[] {
    const suiteOfToken = (r: SimRequest) => {
      const t = r.query.get('suite_access_token');
      return t ? this.suiteTokens.get(t)?.suiteId : undefined;
    };
    return [
      {
        path: '/cgi-bin/service/get_suite_token',
        endpoint: 'suite_token',
        appidOf: (r) => str(parse(r.body)?.suite_id),
        handle: (r) => this.getSuiteToken(r),
      },
      {
        path: '/cgi-bin/service/get_pre_auth_code',
        endpoint: 'suite_pre_auth_code',
        appidOf: suiteOfToken,
        handle: (r) => this.getPreAuthCode(r),
      },
      {
        path: '/cgi-bin/service/get_permanent_code',
        endpoint: 'suite_permanent_code',
        appidOf: suiteOfToken,
        handle: (r) => this.getPermanentCode(r),
      },
      {
        path: '/3rdapp/install',
        endpoint: 'suite_install_page',
        appidOf: (r) => r.query.get('suite_id') ?? undefined,
        handle: (r) => this.installPage(r),
      },
      {
        path: '/cgi-bin/service/get_corp_token',
        endpoint: 'suite_corp_token',
        // counted per authorized corp
        appidOf: (r) => str(parse(r.body)?.auth_corpid),
        handle: (r) => this.getCorpToken(r),
      },
    ];
  }

  // ---- handlers ----

  private getSuiteToken(r: SimRequest): SimResponse {
    if (r.method !== 'POST') return suiteError(43004);
    const b = parse(r.body);
    if (!b) return suiteError(47001);
    const suite = this.suites.get(str(b.suite_id) ?? '');
    if (!suite) return suiteError(40083);
    if (str(b.suite_secret) !== suite.secret) return suiteError(40001);
    if (!this.validTickets(suite.suiteId).includes(str(b.suite_ticket) ?? '')) return suiteError(40085);
    const now = this.clock.now();
    const live = suite.current === undefined ? undefined : this.suiteTokens.get(suite.current);
    // As get_corp_token's users report: the same token while it lives (no errcode in the answer, for history's sake).
    if (suite.current !== undefined && live && now < live.expiresAt)
      return wxOk({ suite_access_token: suite.current, expires_in: Math.ceil((live.expiresAt - now) / 1000) });
    const token = newToken();
    this.suiteTokens.set(token, { suiteId: suite.suiteId, expiresAt: now + SUITE_TOKEN_SECONDS * 1000 });
    suite.current = token;
    return wxOk({ suite_access_token: token, expires_in: SUITE_TOKEN_SECONDS });
  }

  /** The suite a request's suite_access_token belongs to, or the error WeCom answers. */
  private suiteOf(r: SimRequest): string | SimResponse {
    const t = r.query.get('suite_access_token');
    if (!t) return suiteError(41001);
    const rec = this.suiteTokens.get(t);
    if (!rec) return suiteError(40082);
    if (this.clock.now() >= rec.expiresAt) return suiteError(42009);
    return rec.suiteId;
  }

  private getPreAuthCode(r: SimRequest): SimResponse {
    const suiteId = this.suiteOf(r);
    if (typeof suiteId !== 'string') return suiteId;
    const code = randomBytes(24).toString('base64url');
    this.preAuthCodes.set(code, { suiteId, expiresAt: this.clock.now() + PRE_AUTH_SECONDS * 1000 });
    return wxOk({ errcode: 0, errmsg: 'ok', pre_auth_code: code, expires_in: PRE_AUTH_SECONDS });
  }

  private getPermanentCode(r: SimRequest): SimResponse {
    if (r.method !== 'POST') return suiteError(43004);
    const suiteId = this.suiteOf(r);
    if (typeof suiteId !== 'string') return suiteId;
    const b = parse(r.body);
    if (!b) return suiteError(47001);
    const code = this.authCodes.get(str(b.auth_code) ?? '');
    if (!code || code.used || code.suiteId !== suiteId || this.clock.now() >= code.expiresAt) return suiteError(40029);
    code.used = true;
    const auth = this.auths.get(`${suiteId}\0${code.corpid}`)!;
    const { token, expiresIn } = this.work.issueToken(auth.corpid, auth.agentid);
    return wxOk({
      errcode: 0,
      errmsg: 'ok',
      access_token: token,
      expires_in: expiresIn,
      permanent_code: auth.permanentCode,
      auth_corp_info: { corpid: auth.corpid, corp_name: auth.corpName, corp_type: 'verified' },
      auth_info: { agent: [{ agentid: Number(auth.agentid), name: 'sim app', privilege: { level: 1 } }] },
    });
  }

  private getCorpToken(r: SimRequest): SimResponse {
    if (r.method !== 'POST') return suiteError(43004);
    const suiteId = this.suiteOf(r);
    if (typeof suiteId !== 'string') return suiteId;
    const b = parse(r.body);
    if (!b) return suiteError(47001);
    const auth = this.auths.get(`${suiteId}\0${str(b.auth_corpid) ?? ''}`);
    if (!auth || auth.cancelled || str(b.permanent_code) !== auth.permanentCode) return suiteError(40084);
    const { token, expiresIn } = this.work.issueToken(auth.corpid, auth.agentid);
    return wxOk({ errcode: 0, errmsg: 'ok', access_token: token, expires_in: expiresIn });
  }

  /**
   * The install page (open.work.weixin.qq.com/3rdapp/install) after the admin's consent: the
   * pre-auth code must be the suite's and alive; the corp and agent are the sim's `sim_corp` and
   * `sim_agentid` (a real admin picks them by logging in). create_auth is pushed, then the browser
   * is sent to redirect_uri with auth_code and state.
   */
  private async installPage(r: SimRequest): Promise<SimResponse> {
    const q = r.query;
    const suiteId = q.get('suite_id') ?? '';
    const pre = this.preAuthCodes.get(q.get('pre_auth_code') ?? '');
    const bad = (why: string): SimResponse => ({
      status: 400,
      body: `sim install page: ${why}`,
      contentType: 'text/plain',
    });
    if (!this.suites.has(suiteId)) return bad('unknown suite_id');
    if (!pre || pre.suiteId !== suiteId || this.clock.now() >= pre.expiresAt)
      return bad('invalid or expired pre_auth_code');
    const redirect = q.get('redirect_uri');
    const corpid = q.get('sim_corp');
    const agentid = q.get('sim_agentid');
    if (!redirect || !corpid || !agentid) return bad('redirect_uri, sim_corp and sim_agentid are required');
    const state = q.get('state') ?? '';
    const { authCode } = await this.install(suiteId, corpid, { agentid, state });
    const to = new URL(redirect);
    to.searchParams.set('auth_code', authCode);
    to.searchParams.set('state', state);
    return { status: 302, headers: { location: to.toString() }, body: '' };
  }

  // ---- pushes ----

  private async pushDue(): Promise<void> {
    if (this.pushing) return;
    this.pushing = true;
    try {
      for (const suite of this.suites.values())
        if (suite.callbackUrl && this.clock.now() - suite.lastPushAt >= TICKET_EVERY_MS)
          await this.pushTicket(suite.suiteId).catch(() => undefined);
    } finally {
      this.pushing = false;
    }
  }

  private corpEvent(suiteId: string, corpid: string, info: string): string {
    return `<xml><SuiteId><![CDATA[${suiteId}]]></SuiteId><InfoType><![CDATA[${info}]]></InfoType><TimeStamp>${seconds(this.clock.now())}</TimeStamp><AuthCorpId><![CDATA[${corpid}]]></AuthCorpId></xml>`;
  }

  /** POST the event to the suite's URL, encrypted for the suite and signed, as WeCom pushes it. */
  private async push(suite: Suite, xml: string): Promise<PushAnswer> {
    if (!suite.callbackUrl) throw new Error(`sim: suite ${suite.suiteId} has no callback URL (setCallback)`);
    const encrypted = encryptFor(suite.aesKey, suite.suiteId, xml);
    const timestamp = String(seconds(this.clock.now()));
    const nonce = String(randomBytes(4).readUInt32BE());
    const signature = sha1Sorted([suite.token, timestamp, nonce, encrypted]);
    const url = new URL(suite.callbackUrl);
    url.searchParams.set('msg_signature', signature);
    url.searchParams.set('timestamp', timestamp);
    url.searchParams.set('nonce', nonce);
    const body = `<xml><ToUserName><![CDATA[${suite.suiteId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
    return { status: res.status, body: await res.text() };
  }

  private suite(suiteId: string): Suite {
    const suite = this.suites.get(suiteId);
    if (!suite) throw new Error(`sim: unknown suite ${suiteId}`);
    return suite;
  }
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

function parse(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** sha1 of the values sorted as strings and joined: WeCom's msg_signature. */
export function sha1Sorted(values: string[]): string {
  return createHash('sha1')
    .update([...values].sort().join(''))
    .digest('hex');
}

/** WeCom's message encryption: AES-256-CBC(random16 ‖ len ‖ msg ‖ receiveId), PKCS#7 to 32 bytes, IV = key[0..16). */
export function encryptFor(encodingAESKey: string, receiveId: string, msg: string): string {
  const key = Buffer.from(`${encodingAESKey}=`, 'base64');
  const body = Buffer.from(msg, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const plain = Buffer.concat([randomBytes(16), len, body, Buffer.from(receiveId, 'utf8')]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString(
    'base64',
  );
}
