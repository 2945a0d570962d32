/**
 * WeCom (qyapi.weixin.qq.com) in the simulator: cgi-bin/gettoken, cgi-bin/get_jsapi_ticket and
 * cgi-bin/ticket/get?type=agent_config, with per-agent tokens and the hourly ticket limits.
 * Semantics: docs/protocol.md §4.1–§4.7, §8; modelling choices: docs/design.md §8.
 */
import type { SimClock } from './clock';
import { wxError, wxOk } from './errors';
import { newTicket, newToken, type TokenState } from './mp';
import type { Route, SimModule, SimRequest, SimResponse } from './types';

export type WorkTicketKind = 'jsapi' | 'agent_config';

const WORK_TOKEN_LIFETIME_SECONDS = 7200;
const WORK_TICKET_LIFETIME_SECONDS = 7200;
const JSAPI_PER_APP_HOURLY = 100;
const JSAPI_PER_CORP_HOURLY = 400;
const AGENT_CONFIG_PER_APP_HOURLY = 100;

/** WeCom's own errmsg texts where they differ from the MP ones. */
const WORK_ERRMSG: Readonly<Record<number, string>> = {
  40001: 'invalid credential',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40091: 'secret is invalid',
  41002: 'corpid missing',
  41004: 'corpsecret missing',
  45009: 'api freq out of limit',
  48002: 'api forbidden',
};
const workError = (errcode: number) => wxError(errcode, WORK_ERRMSG[errcode]);

interface WorkToken {
  corpid: string;
  agentid: string;
  expiresAt: number;
  /** Ended early by WeCom. */
  revoked?: boolean;
}

interface WorkTicket {
  corpid: string;
  agentid: string;
  kind: WorkTicketKind;
  ticket: string;
  expiresAt: number;
}

const HOUR_MS = 3_600_000;
const appKey = (corpid: string, agentid: string) => `${corpid}\0${agentid}`;

/** Calls per key within the last hour; a key that hit its limit is blocked for an hour from then. */
class RollingHourLimit {
  private readonly calls = new Map<string, number[]>();
  private readonly blockedUntil = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** False when the key is blocked, or is blocked now because its hour is full. */
  allows(key: string, now: number): boolean {
    if ((this.blockedUntil.get(key) ?? 0) > now) return false;
    const recent = (this.calls.get(key) ?? []).filter((t) => t > now - HOUR_MS);
    this.calls.set(key, recent);
    if (recent.length < this.limit) return true;
    this.blockedUntil.set(key, now + HOUR_MS);
    return false;
  }

  take(key: string, now: number): void {
    const list = this.calls.get(key);
    if (list) list.push(now);
    else this.calls.set(key, [now]);
  }
}

export class WorkSim implements SimModule {
  /** corpid → agentid → secret */
  private readonly corps = new Map<string, Map<string, string>>();
  private readonly tokens = new Map<string, WorkToken>();
  /** The live token per app. */
  private readonly current = new Map<string, string>();
  /** The current ticket per app and kind. */
  private readonly tickets = new Map<string, WorkTicket>();
  private readonly issued: WorkTicket[] = [];
  private readonly jsapiPerApp = new RollingHourLimit(JSAPI_PER_APP_HOURLY);
  private readonly jsapiPerCorp = new RollingHourLimit(JSAPI_PER_CORP_HOURLY);
  private readonly agentConfigPerApp = new RollingHourLimit(AGENT_CONFIG_PER_APP_HOURLY);

  constructor(private readonly clock: SimClock) {}

  /**
   * A secret without an agent: the contacts (通讯录同步) or customer-contact (客户联系) one. Its
   * token is its own (kept under the kind where an agentid would be); JS-SDK tickets refuse it.
   */
  addSecret(corpid: string, kind: 'contacts' | 'externalcontact', secret: string): void {
    this.addApp(corpid, kind, secret);
  }

  addApp(corpid: string, agentid: string, secret: string): void {
    const agents = this.corps.get(corpid) ?? new Map<string, string>();
    agents.set(agentid, secret);
    this.corps.set(corpid, agents);
  }

  routes(): Route[] {
    const corpOfToken = (r: SimRequest) => {
      const t = r.query.get('access_token');
      return t ? this.tokens.get(t)?.corpid : undefined;
    };
    return [
      {
        path: '/cgi-bin/gettoken',
        endpoint: 'work_gettoken',
        appidOf: (r) => r.query.get('corpid') ?? undefined,
        handle: (r) => this.gettoken(r),
      },
      {
        path: '/cgi-bin/get_jsapi_ticket',
        endpoint: 'work_jsapi_ticket',
        appidOf: corpOfToken,
        handle: (r) => this.ticket(r, 'jsapi'),
      },
      {
        path: '/cgi-bin/ticket/get',
        endpoint: 'work_agent_ticket',
        appidOf: corpOfToken,
        handle: (r) => this.ticket(r, 'agent_config'),
      },
    ];
  }

  // ---- state queries and test controls ----

  tokenState(corpid: string, agentid: string, token: string): TokenState {
    const rec = this.tokens.get(token);
    if (!rec || rec.corpid !== corpid || rec.agentid !== agentid || rec.revoked) return 'invalid';
    return this.clock.now() >= rec.expiresAt ? 'expired' : 'valid';
  }

  /** WeCom ends a token early ("提前使access_token失效"); the next gettoken issues a new one. */
  invalidateToken(token: string): void {
    const rec = this.tokens.get(token);
    if (rec) rec.revoked = true;
  }

  /** `cgi-bin/get_api_domain_ip` for one of this module's tokens (undefined when it is not a WeCom token). */
  apiDomainIp(token: string): SimResponse | undefined {
    const rec = this.tokens.get(token);
    if (!rec) return undefined;
    if (rec.revoked) return workError(40014);
    if (this.clock.now() >= rec.expiresAt) return workError(42001);
    return wxOk({ errcode: 0, errmsg: 'ok', ip_list: ['182.254.11.176', '182.254.78.66'] });
  }

  /** Tickets of the app and kind that have not expired yet. */
  validTickets(corpid: string, agentid: string, kind: WorkTicketKind): string[] {
    const now = this.clock.now();
    return this.issued
      .filter((t) => t.corpid === corpid && t.agentid === agentid && t.kind === kind && now < t.expiresAt)
      .map((t) => t.ticket);
  }

  /** Every valid ticket of a corp's apps of that kind (a wx.config signature may use any app's corp ticket). */
  validCorpTickets(corpid: string, kind: WorkTicketKind): string[] {
    const now = this.clock.now();
    return this.issued.filter((t) => t.corpid === corpid && t.kind === kind && now < t.expiresAt).map((t) => t.ticket);
  }

  /** Test-only: make `ticket` the app's current ticket of `kind` until `expiresAt` (sim clock). */
  seedTicket(corpid: string, agentid: string, kind: WorkTicketKind, ticket: string, expiresAt: number): void {
    const rec: WorkTicket = { corpid, agentid, kind, ticket, expiresAt };
    this.tickets.set(`${appKey(corpid, agentid)}\0${kind}`, rec);
    this.issued.push(rec);
  }

  // ---- handlers ----

  private gettoken(r: SimRequest): SimResponse {
    const corpid = r.query.get('corpid');
    const secret = r.query.get('corpsecret');
    if (!secret) return workError(41004);
    if (!corpid) return workError(41002);
    const agents = this.corps.get(corpid);
    if (!agents) return workError(40013);
    const agentid = [...agents].find(([, s]) => s === secret)?.[0];
    if (agentid === undefined) {
      const elsewhere = [...this.corps.values()].some((other) => [...other.values()].includes(secret));
      return workError(elsewhere ? 40091 : 40001);
    }

    const { token, expiresIn } = this.issueToken(corpid, agentid);
    return wxOk({ errcode: 0, errmsg: 'ok', access_token: token, expires_in: expiresIn });
  }

  /**
   * The app's live token, or a new one: what gettoken hands out, and a suite's get_corp_token for
   * the app a corp authorized (sim/suite.ts). Re-fetching returns the same token while it lives.
   */
  issueToken(corpid: string, agentid: string): { token: string; expiresIn: number } {
    const now = this.clock.now();
    const key = appKey(corpid, agentid);
    const live = this.current.get(key);
    const rec = live === undefined ? undefined : this.tokens.get(live);
    if (live !== undefined && rec && !rec.revoked && now < rec.expiresAt)
      return { token: live, expiresIn: Math.ceil((rec.expiresAt - now) / 1000) };
    const token = newToken();
    this.tokens.set(token, { corpid, agentid, expiresAt: now + WORK_TOKEN_LIFETIME_SECONDS * 1000 });
    this.current.set(key, token);
    return { token, expiresIn: WORK_TOKEN_LIFETIME_SECONDS };
  }

  /** The app's live token ends (a corp cancelled a suite's authorization): calls with it answer 40014. */
  revokeApp(corpid: string, agentid: string): void {
    const live = this.current.get(appKey(corpid, agentid));
    if (live !== undefined) this.invalidateToken(live);
  }

  private ticket(r: SimRequest, kind: WorkTicketKind): SimResponse {
    const token = r.query.get('access_token');
    if (!token) return workError(41001);
    const rec = this.tokens.get(token);
    const now = this.clock.now();
    if (!rec || rec.revoked) return workError(40014);
    if (now >= rec.expiresAt) return workError(42001);
    if (kind === 'agent_config' && r.query.get('type') !== 'agent_config') {
      // docs/protocol.md §4.3 documents type=agent_config only; what WeCom answers to another type is not known,
      // so the sim refuses it as a test failure rather than invent an errcode.
      return {
        status: 400,
        body: "sim: ticket/get serves type=agent_config only (WeCom's answer to another type is undocumented)",
        contentType: 'text/plain',
      };
    }

    // A token without an agent may not call the JS-SDK ticket APIs (48002, as WeCom answers an API a token is not entitled to).
    if (!/^[0-9]+$/.test(rec.agentid)) return workError(48002);
    const app = appKey(rec.corpid, rec.agentid);
    if (kind === 'jsapi') {
      // Both limits must have room; only then is the call counted against both.
      if (!this.jsapiPerApp.allows(app, now) || !this.jsapiPerCorp.allows(rec.corpid, now)) return workError(45009);
      this.jsapiPerApp.take(app, now);
      this.jsapiPerCorp.take(rec.corpid, now);
    } else {
      if (!this.agentConfigPerApp.allows(app, now)) return workError(45009);
      this.agentConfigPerApp.take(app, now);
    }

    const key = `${app}\0${kind}`;
    let t = this.tickets.get(key);
    if (!t || now >= t.expiresAt) {
      t = {
        corpid: rec.corpid,
        agentid: rec.agentid,
        kind,
        ticket: newTicket(),
        expiresAt: now + WORK_TICKET_LIFETIME_SECONDS * 1000,
      };
      this.tickets.set(key, t);
      this.issued.push(t);
    }
    return wxOk({ errcode: 0, errmsg: 'ok', ticket: t.ticket, expires_in: Math.ceil((t.expiresAt - now) / 1000) });
  }
}
