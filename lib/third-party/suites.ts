/**
 * WeCom third-party apps (suites, docs/design.md §20): the suite_ticket WeCom pushes, the corps
 * that authorized the suite (their permanent codes sealed at rest), and the credential sources the
 * lifecycle serves: the suite_access_token, the pre-auth code and each authorized corp's token.
 * Records: `suite:<suiteId>:ticket` and `suite:<suiteId>:corp:<corpid>`.
 */
import type { Config } from '../config/types';
import type { WorkAgent } from '../credentials/agents';
import { CredentialError, storeUnavailable } from '../credentials/errors';
import type { Lifecycle } from '../credentials/lifecycle';
import { withAccessToken } from '../credentials/mp';
import type { CallContext, Clock, CredentialSource } from '../credentials/source';
import { AtRestError, cipherFor } from '../crypto/at-rest';
import type { Logger } from '../log/logger';
import { guardStore } from '../store/guard';
import { NEVER, StoredList } from '../store/listed';
import type { Store } from '../store/port';
import { parseJsonObject } from '../store/row';
import type { WorkClient } from '../wechat/work';
import type { Authorization, SuiteClient } from './suite-client';
import { suiteCorpTokenSource, suitePreAuthSource, suiteTokenSource } from './suite-sources';

export type SuiteConfig = Config['suites'][number];

/** A corp's authorization of a suite, as stored (the permanent code sealed, never the plaintext). */
interface AuthRecord {
  corpName: string;
  agentid: string;
  permanentCode: string;
  state: 'active' | 'cancelled';
  at: number;
}

/** A pushed ticket is kept this long; WeCom pushes a new one every 10 minutes. */
const TICKET_KEPT_MS = 86_400_000;

/** Authorized corps are listed for status in numbered records, as registered agents are (lib/credentials/agents.ts). */
const LISTED = 'suites:listed';
const MAX_LISTED = 1000;

const ticketKey = (suiteId: string) => `suite:${suiteId}:ticket`;
const authKey = (suiteId: string, corpid: string) => `suite:${suiteId}:corp:${corpid}`;
const sealContext = (suiteId: string, corpid: string) => `${authKey(suiteId, corpid)}:permanent_code`;

export class Suites {
  private readonly sources = new Map<string, CredentialSource>();
  /** Authorized corps looked up lately, per `corpid:agentid` (as long as a token may be cached locally). */
  private readonly found = new Map<string, { agent: WorkAgent; at: number }>();
  private readonly lookups = new Map<string, Promise<WorkAgent | undefined>>();
  private readonly listed: StoredList;

  constructor(
    private readonly deps: {
      config: Pick<Config, 'suites' | 'masterKey'>;
      store: Store;
      clock: Clock;
      log: Logger;
      client: SuiteClient;
      work: WorkClient;
      lifecycle: Lifecycle;
      /** How long a lookup is trusted in this process (credentials.localCacheSeconds). */
      cacheMs: number;
      /** Per upstream call. */
      timeoutMs: number;
    },
  ) {
    this.listed = new StoredList(deps.store, LISTED, MAX_LISTED, (op) => this.guard(op));
  }

  /** The configured suite, or undefined. */
  suite(suiteId: string): SuiteConfig | undefined {
    return this.deps.config.suites.find((s) => s.suiteId === suiteId);
  }

  /** The suite_access_token (fetched with the latest pushed ticket). */
  token(suite: SuiteConfig): CredentialSource {
    return this.once(`suite:${suite.suiteId}:token`, () =>
      suiteTokenSource(suite, (id) => this.ticket(id), this.deps.client),
    );
  }

  /** The pre-authorization code of the install link (shared while it lives). */
  preAuthCode(suite: SuiteConfig): CredentialSource {
    return this.once(`suite:${suite.suiteId}:pre_auth_code`, () =>
      suitePreAuthSource(suite, this.token(suite), this.deps.lifecycle, this.deps.client),
    );
  }

  /** The access_token of a corp that authorized the suite. */
  corpToken(agent: WorkAgent & { suiteId: string }): CredentialSource {
    const suite = this.suite(agent.suiteId);
    if (!suite) throw new TypeError(`suite ${agent.suiteId} is not configured`);
    return this.once(`work:${agent.corpid}:suite:${agent.suiteId}:token`, () =>
      suiteCorpTokenSource(
        suite,
        agent.corpid,
        (s, c) => this.permanentCode(s, c),
        this.token(suite),
        this.deps.lifecycle,
        this.deps.client,
        this.deps.work,
      ),
    );
  }

  // ---- pushes (lib/third-party/suite-push.ts) ----

  /** Keep the suite_ticket WeCom pushed; the first one ends a 'no ticket yet' refusal in every instance. */
  async putTicket(suite: SuiteConfig, ticket: string, call: CallContext): Promise<void> {
    const now = this.deps.clock();
    const before = await this.guard(() => this.deps.store.getRecord(ticketKey(suite.suiteId), now));
    await this.guard(() =>
      this.deps.store.putRecord(
        ticketKey(suite.suiteId),
        JSON.stringify({ ticket, at: now }),
        now + TICKET_KEPT_MS,
        now,
      ),
    );
    // A refusal for want of a ticket (the token's, and the pre-auth code's that waited for it) ends at once.
    if (before === null)
      for (const src of [this.token(suite), this.preAuthCode(suite)])
        await this.deps.lifecycle.invalidate(src.key, call);
  }

  /** A corp authorized the suite (create_auth): its permanent code is fetched with the auth code and sealed. */
  async authorize(
    suite: SuiteConfig,
    authCode: string,
    call: CallContext,
  ): Promise<{ corpid: string; agentid: string }> {
    const { lifecycle, client } = this.deps;
    // Checked before the auth code is spent: WeCom's retry of the push can still use it.
    if (!this.deps.config.masterKey)
      throw new CredentialError(
        'config_fault',
        'WeCom suites keep permanent codes sealed at rest and need WECRED_MASTER_KEY, which is not set',
      );
    const cipher = cipherFor(this.deps.config);
    const token = this.token(suite);
    let auth: Authorization;
    try {
      auth = await withAccessToken(lifecycle, token, { call }, (t) => {
        call.upstreamCalls++;
        return client.permanentCode(t, authCode, this.deps.timeoutMs);
      });
    } catch (err) {
      throw lifecycle.toCredentialError(err, {
        key: `suite:${suite.suiteId}:permanent_code`,
        owner: suite.suiteId,
        service: 'WeCom',
      });
    }
    const now = this.deps.clock();
    const rec: AuthRecord = {
      corpName: auth.corpName,
      agentid: auth.agentid,
      permanentCode: cipher.seal(auth.permanentCode, sealContext(suite.suiteId, auth.corpid)),
      state: 'active',
      at: now,
    };
    await this.guard(() =>
      this.deps.store.putRecord(authKey(suite.suiteId, auth.corpid), JSON.stringify(rec), NEVER, now),
    );
    await this.dropCorp(suite, auth.corpid, auth.agentid, call);
    await this.list(`${suite.suiteId}:${auth.corpid}`);
    return { corpid: auth.corpid, agentid: auth.agentid };
  }

  /** The corps whose authorization of a configured suite stands, for status (cancelled ones are left out). */
  async authorized(): Promise<(WorkAgent & { suiteId: string })[]> {
    const out: (WorkAgent & { suiteId: string })[] = [];
    for (const entry of await this.listed.read(this.deps.clock())) {
      const [suiteId, corpid] = entry.split(':');
      if (!suiteId || !corpid || !this.suite(suiteId)) continue;
      const rec = await this.readAuth(suiteId, corpid);
      if (rec?.state === 'active') out.push({ corpid, agentid: rec.agentid, suiteId });
    }
    return out;
  }

  /** Append `entry` to the list status reads, unless it is there. */
  private list(entry: string): Promise<void> {
    return this.listed.add(entry, this.deps.clock());
  }

  /** A corp cancelled its authorization (cancel_auth): its record says so and its token and tickets are dropped. */
  async cancel(suite: SuiteConfig, corpid: string, call: CallContext): Promise<boolean> {
    const now = this.deps.clock();
    const rec = await this.readAuth(suite.suiteId, corpid);
    if (!rec) return false;
    const cancelled: AuthRecord = { ...rec, state: 'cancelled', at: now };
    await this.guard(() =>
      this.deps.store.putRecord(authKey(suite.suiteId, corpid), JSON.stringify(cancelled), NEVER, now),
    );
    await this.dropCorp(suite, corpid, rec.agentid, call);
    return true;
  }

  // ---- the work.* interfaces ----

  /**
   * The authorized corp's agent as the work.* interfaces use it, when a configured suite's app is
   * that agent; undefined when none is. A cancelled authorization is refused (app_unauthorized).
   */
  async findCorp(corpid: string, agentid: string): Promise<(WorkAgent & { suiteId: string }) | undefined> {
    if (this.deps.config.suites.length === 0) return undefined;
    const id = `${corpid}:${agentid}`;
    const hit = this.found.get(id);
    if (hit && this.deps.clock() - hit.at < this.deps.cacheMs) return hit.agent as WorkAgent & { suiteId: string };
    let lookup = this.lookups.get(id);
    if (!lookup) {
      lookup = this.lookup(corpid, agentid).finally(() => this.lookups.delete(id));
      this.lookups.set(id, lookup);
    }
    return (await lookup) as (WorkAgent & { suiteId: string }) | undefined;
  }

  private async lookup(corpid: string, agentid: string): Promise<WorkAgent | undefined> {
    for (const suite of this.deps.config.suites) {
      const rec = await this.readAuth(suite.suiteId, corpid);
      if (!rec || rec.agentid !== agentid) continue;
      if (rec.state === 'cancelled') throw cancelledError(corpid, suite.suiteId);
      const agent = { corpid, agentid, suiteId: suite.suiteId };
      this.found.set(`${corpid}:${agentid}`, { agent, at: this.deps.clock() });
      return agent;
    }
    return undefined;
  }

  /** The corp's permanent code, opened: read at each corp-token fetch, so a cancellation stops the next one. */
  private async permanentCode(suiteId: string, corpid: string): Promise<string> {
    const rec = await this.readAuth(suiteId, corpid);
    if (!rec) throw new CredentialError('config_fault', `WeCom corp ${corpid} has not authorized suite ${suiteId}`);
    if (rec.state === 'cancelled') throw cancelledError(corpid, suiteId);
    try {
      return cipherFor(this.deps.config).open(rec.permanentCode, sealContext(suiteId, corpid));
    } catch (err) {
      if (!(err instanceof AtRestError)) throw err;
      throw new CredentialError(
        'config_fault',
        `the stored permanent code of WeCom corp ${corpid} (suite ${suiteId}) does not open (${err.message}): check WECRED_MASTER_KEY`,
      );
    }
  }

  private async ticket(suiteId: string): Promise<string | undefined> {
    const text = await this.guard(() => this.deps.store.getRecord(ticketKey(suiteId), this.deps.clock()));
    const t = text === null ? undefined : parseJsonObject(text)?.ticket;
    return typeof t === 'string' && t !== '' ? t : undefined;
  }

  private async readAuth(suiteId: string, corpid: string): Promise<AuthRecord | undefined> {
    const text = await this.guard(() => this.deps.store.getRecord(authKey(suiteId, corpid), this.deps.clock()));
    const r = text === null ? null : parseJsonObject(text);
    if (!r) return undefined;
    const ok =
      typeof r.agentid === 'string' &&
      typeof r.permanentCode === 'string' &&
      (r.state === 'active' || r.state === 'cancelled') &&
      typeof r.at === 'number';
    return ok ? ({ corpName: typeof r.corpName === 'string' ? r.corpName : '', ...r } as AuthRecord) : undefined;
  }

  /** The corp's token and its agent's tickets are dropped in every instance's store view; this process forgets the lookup. */
  private async dropCorp(suite: SuiteConfig, corpid: string, agentid: string, call: CallContext): Promise<void> {
    this.found.delete(`${corpid}:${agentid}`);
    const agent = { corpid, agentid, suiteId: suite.suiteId };
    for (const key of [
      this.corpToken(agent).key,
      `work:${corpid}:${agentid}:ticket`,
      `work:${corpid}:${agentid}:agent_ticket`,
    ])
      await this.deps.lifecycle.invalidate(key, call);
  }

  private once(key: string, make: () => CredentialSource): CredentialSource {
    return this.sources.get(key) ?? this.sources.set(key, make()).get(key)!;
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardStore(this.deps.log, op, storeUnavailable);
  }
}

function cancelledError(corpid: string, suiteId: string): CredentialError {
  return new CredentialError(
    'app_unauthorized',
    `WeCom corp ${corpid} cancelled its authorization of suite ${suiteId}: its credentials are no longer served`,
  );
}
