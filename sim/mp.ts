/**
 * MP (api.weixin.qq.com) endpoints: cgi-bin/token, cgi-bin/stable_token, cgi-bin/ticket/getticket,
 * cgi-bin/clear_quota/v2.
 * Semantics from docs/protocol.md §1.1–1.3 and §8.
 */
import { randomBytes } from 'node:crypto';
import { beijingMonth, PeriodCounter, type SimClock } from './clock';
import { wxError, wxOk } from './errors';
import type { Route, SimModule, SimRequest, SimResponse } from './types';

export type TicketType = 'jsapi' | 'wx_card';
export type TokenState = 'valid' | 'expired' | 'invalid';

export interface MpOptions {
  tokenDailyQuota: number;
  stableForceDailyQuota: number;
  tokenLifetimeSeconds: number;
  reissuedTicketExpiresIn: 'remaining' | 'full';
}

/** Grace a superseded token keeps (classic) / the early-refresh window (stable). */
export const GRACE_MS = 300_000;
/** Minimum spacing of stable_token force refreshes that rotate. */
export const FORCE_SPACING_MS = 30_000;
export const TICKET_LIFETIME_SECONDS = 7200;
/** clear_quota and clear_quota/v2 together, per account and Beijing month (48006 beyond). */
export const QUOTA_CLEARS_PER_MONTH = 10;

interface TokenRecord {
  appid: string;
  /** authorizer: an authorizer_access_token a third-party platform got for the account (sim/component.ts). */
  kind: 'classic' | 'stable' | 'authorizer';
  expiresAt: number;
  /** Set when superseded/revoked: the token stops working at this instant. */
  deadAt?: number;
}

export interface TicketRecord {
  appid: string;
  type: TicketType;
  ticket: string;
  expiresAt: number;
}

/** ~136 chars of [A-Za-z0-9_-], like a real access_token. */
export function newToken(): string {
  return randomBytes(102).toString('base64url');
}

/** 86 chars of [A-Za-z0-9_-], like a real jsapi_ticket. */
export function newTicket(): string {
  return randomBytes(64).toString('base64url');
}

const isTicketType = (t: string | null): t is TicketType => t === 'jsapi' || t === 'wx_card';

export class MpSim implements SimModule {
  private readonly apps = new Map<string, string>();
  /** Apps with an IP allow-list, and the addresses on it. */
  private readonly allowed = new Map<string, readonly string[]>();
  private readonly tokens = new Map<string, TokenRecord>();
  /** Classic tokens per appid: the latest and the one before it (in its 5-minute grace). */
  private readonly classic = new Map<string, { latest: string; previous?: string }>();
  /** Stable tokens per appid that may still be alive, newest last. */
  private readonly stable = new Map<string, string[]>();
  /** The latest authorizer_access_token per appid. */
  private readonly authorizer = new Map<string, string>();
  private readonly lastForce = new Map<string, number>();
  private readonly tokenQuota = new PeriodCounter();
  private readonly forceQuota = new PeriodCounter();
  private readonly clears = new PeriodCounter(beijingMonth);
  /** Current ticket per `${appid}\0${type}`. */
  private readonly tickets = new Map<string, TicketRecord>();
  /** Every ticket ever issued or seeded. */
  private readonly issued: TicketRecord[] = [];

  constructor(
    private readonly clock: SimClock,
    private readonly opts: MpOptions,
  ) {}

  addApp(appid: string, secret: string): void {
    this.apps.set(appid, secret);
  }

  /** The app's IP allow-list (IP白名单): token requests from elsewhere answer 40164; undefined lifts it. */
  allowIps(appid: string, ips: readonly string[] | undefined): void {
    if (ips) this.allowed.set(appid, ips);
    else this.allowed.delete(appid);
  }

  routes(): Route[] {
    return [
      {
        path: '/cgi-bin/token',
        endpoint: 'token',
        appidOf: (r) => r.query.get('appid') ?? undefined,
        handle: (r) => this.token(r),
      },
      {
        path: '/cgi-bin/stable_token',
        endpoint: 'stable_token',
        appidOf: (r) => {
          const b = parseObject(r.body);
          return typeof b?.appid === 'string' ? b.appid : undefined;
        },
        handle: (r) => this.stableToken(r),
      },
      {
        path: '/cgi-bin/clear_quota/v2',
        endpoint: 'clear_quota',
        appidOf: (r) => {
          const b = parseObject(r.body);
          return typeof b?.appid === 'string' ? b.appid : (r.query.get('appid') ?? undefined);
        },
        handle: (r) => this.clearQuota(r),
      },
      {
        path: '/cgi-bin/ticket/getticket',
        endpoint: 'getticket',
        appidOf: (r) => {
          const t = r.query.get('access_token');
          return t ? this.tokens.get(t)?.appid : undefined;
        },
        handle: (r) => this.getTicket(r),
      },
    ];
  }

  // ---- state queries ----

  tokenState(appid: string, token: string): TokenState {
    const rec = this.tokens.get(token);
    if (!rec || rec.appid !== appid) return 'invalid';
    return stateOf(rec, this.clock.now());
  }

  /**
   * WeChat ends a token before its time (a secret reset, a token fetched elsewhere, a shortened
   * lifetime: docs/protocol.md §1.1); calls with it answer 40001 from now on.
   */
  invalidateToken(token: string): void {
    this.kill(token, this.clock.now());
  }

  /** Tickets of the app and type that have not expired yet. */
  validTickets(appid: string, type: TicketType): string[] {
    const now = this.clock.now();
    return this.issued.filter((t) => t.appid === appid && t.type === type && now < t.expiresAt).map((t) => t.ticket);
  }

  /** Test-only: make `ticket` the app's current ticket of that type until `expiresAt` (epoch ms, sim clock). */
  seedTicket(appid: string, type: TicketType, ticket: string, expiresAt: number): void {
    const rec: TicketRecord = { appid, type, ticket, expiresAt };
    this.tickets.set(`${appid}\0${type}`, rec);
    this.issued.push(rec);
  }

  // ---- handlers ----

  /**
   * 40002 / 41002 / 41004 / 40013 / 40164 / 40125 in that order; undefined when the credentials
   * are right. The allow-list is checked before the secret: a caller outside it learns nothing of it.
   */
  private checkCredentials(grantType: unknown, appid: unknown, secret: unknown, ip: string): SimResponse | undefined {
    if (grantType !== 'client_credential') return wxError(40002);
    if (typeof appid !== 'string' || appid === '') return wxError(41002);
    if (typeof secret !== 'string' || secret === '') return wxError(41004);
    const known = this.apps.get(appid);
    if (known === undefined) return wxError(40013);
    const allowed = this.allowed.get(appid);
    if (allowed && !allowed.includes(ip)) return wxError(40164, `invalid ip ${ip} ipv6 ::ffff:${ip}, not in whitelist`);
    if (known !== secret) return wxError(40125);
    return undefined;
  }

  /**
   * clearQuotaByAppSecret: POST, appid and appsecret in the JSON body (older pages put them in the
   * query; both are read). The day's counters start again; 10 clears a month, then 48006.
   */
  private clearQuota(r: SimRequest): SimResponse {
    if (r.method !== 'POST') return wxError(43002);
    const b = r.body.trim() === '' ? {} : parseObject(r.body);
    if (!b) return wxError(47001);
    const appid = typeof b.appid === 'string' ? b.appid : r.query.get('appid');
    const secret = typeof b.appsecret === 'string' ? b.appsecret : r.query.get('appsecret');
    if (!appid) return wxError(41002);
    if (!secret) return wxError(41004);
    const known = this.apps.get(appid);
    if (known === undefined) return wxError(40013);
    if (known !== secret) return wxError(40125);
    if (!this.clears.take(appid, this.clock.now(), QUOTA_CLEARS_PER_MONTH)) return wxError(48006);
    this.tokenQuota.reset(appid);
    this.forceQuota.reset(appid);
    return wxOk({ errcode: 0, errmsg: 'ok' });
  }

  private token(r: SimRequest): SimResponse {
    const q = r.query;
    const appid = q.get('appid');
    const bad = this.checkCredentials(q.get('grant_type'), appid, q.get('secret'), r.ip);
    if (bad || appid === null) return bad ?? wxError(41002);
    const now = this.clock.now();
    if (!this.tokenQuota.take(appid, now, this.opts.tokenDailyQuota)) return wxError(45009);

    const token = this.mint(appid, 'classic', now);
    const prev = this.classic.get(appid);
    if (prev) {
      if (prev.previous !== undefined) this.kill(prev.previous, now);
      this.kill(prev.latest, now + GRACE_MS);
    }
    this.classic.set(appid, { latest: token, ...(prev ? { previous: prev.latest } : {}) });
    return wxOk({ access_token: token, expires_in: this.opts.tokenLifetimeSeconds });
  }

  private stableToken(r: SimRequest): SimResponse {
    if (r.method !== 'POST') return wxError(43002);
    const b = parseObject(r.body);
    if (!b) return wxError(47001);
    const bad = this.checkCredentials(b.grant_type, b.appid, b.secret, r.ip);
    if (bad) return bad;
    const appid = b.appid as string;
    const now = this.clock.now();
    const live = (this.stable.get(appid) ?? []).filter((t) => {
      const rec = this.tokens.get(t);
      return rec !== undefined && stateOf(rec, now) === 'valid';
    });
    this.stable.set(appid, live);

    if (b.force_refresh === true) {
      const last = this.lastForce.get(appid);
      if (last === undefined || now - last >= FORCE_SPACING_MS) {
        if (!this.forceQuota.take(appid, now, this.opts.stableForceDailyQuota)) return wxError(45009);
        this.lastForce.set(appid, now);
        for (const t of live) this.kill(t, now);
        const token = this.mint(appid, 'stable', now);
        this.stable.set(appid, [token]);
        return wxOk({ access_token: token, expires_in: this.opts.tokenLifetimeSeconds });
      }
      // Within 30 s of the last force refresh: no rotation, answer as in normal mode.
    }

    const current = live[live.length - 1];
    const rec = current === undefined ? undefined : this.tokens.get(current);
    if (current !== undefined && rec && rec.expiresAt - now > GRACE_MS) {
      return wxOk({ access_token: current, expires_in: remainingSeconds(rec.expiresAt, now) });
    }
    // None, or in its last 5 minutes: a new one; the old one lives out its remaining life.
    const token = this.mint(appid, 'stable', now);
    live.push(token);
    return wxOk({ access_token: token, expires_in: this.opts.tokenLifetimeSeconds });
  }

  private getTicket(r: SimRequest): SimResponse {
    const token = r.query.get('access_token');
    if (!token) return wxError(41001);
    const rec = this.tokens.get(token);
    const now = this.clock.now();
    const state = rec ? stateOf(rec, now) : 'invalid';
    if (state === 'invalid' || !rec) return wxError(40001);
    if (state === 'expired') return wxError(42001);
    const type = r.query.get('type');
    if (!isTicketType(type)) return wxError(40097);

    const key = `${rec.appid}\0${type}`;
    let t = this.tickets.get(key);
    if (!t || now >= t.expiresAt) {
      t = { appid: rec.appid, type, ticket: newTicket(), expiresAt: now + TICKET_LIFETIME_SECONDS * 1000 };
      this.tickets.set(key, t);
      this.issued.push(t);
    }
    const expiresIn =
      this.opts.reissuedTicketExpiresIn === 'full' ? TICKET_LIFETIME_SECONDS : remainingSeconds(t.expiresAt, now);
    return wxOk({ errcode: 0, errmsg: 'ok', ticket: t.ticket, expires_in: expiresIn });
  }

  /**
   * `cgi-bin/get_api_domain_ip` for one of this module's tokens (undefined when the token is not
   * an MP token): WeChat's API IPs, or 40001 for a superseded token, 42001 for an expired one.
   */
  apiDomainIp(token: string): SimResponse | undefined {
    const rec = this.tokens.get(token);
    if (!rec) return undefined;
    const state = stateOf(rec, this.clock.now());
    if (state === 'invalid') return wxError(40001);
    if (state === 'expired') return wxError(42001);
    return wxOk({ ip_list: ['101.89.47.18', '101.91.34.103'] });
  }

  /**
   * An authorizer_access_token for `appid` (api_query_auth, api_authorizer_token): it works wherever
   * the account's own token does; the previous one keeps 5 minutes, as a classic token.
   */
  mintAuthorizerToken(appid: string): { token: string; expiresIn: number } {
    const now = this.clock.now();
    const token = this.mint(appid, 'authorizer', now);
    const previous = this.authorizer.get(appid);
    if (previous !== undefined) this.kill(previous, now + GRACE_MS);
    this.authorizer.set(appid, token);
    return { token, expiresIn: this.opts.tokenLifetimeSeconds };
  }

  /** The account cancelled its authorization: every authorizer_access_token of it dies now. */
  killAuthorizerTokens(appid: string): void {
    const now = this.clock.now();
    for (const [token, rec] of this.tokens) if (rec.appid === appid && rec.kind === 'authorizer') this.kill(token, now);
  }

  // ---- helpers ----

  private mint(appid: string, kind: TokenRecord['kind'], now: number): string {
    const token = newToken();
    this.tokens.set(token, { appid, kind, expiresAt: now + this.opts.tokenLifetimeSeconds * 1000 });
    return token;
  }

  /** The token stops working at `at` (or earlier, if it already was to). */
  private kill(token: string, at: number): void {
    const rec = this.tokens.get(token);
    if (rec) rec.deadAt = rec.deadAt === undefined ? at : Math.min(rec.deadAt, at);
  }
}

/** Superseded/revoked before its natural end → invalid (40001); past its life → expired (42001). */
function stateOf(rec: TokenRecord, now: number): TokenState {
  if (rec.deadAt !== undefined && now >= rec.deadAt && rec.deadAt < rec.expiresAt) return 'invalid';
  if (now >= rec.expiresAt) return 'expired';
  return 'valid';
}

function remainingSeconds(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 1000));
}

/** The JSON object in `body`, or undefined. */
export function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
