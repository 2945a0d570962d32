/**
 * WeCom agents registered at run time by `work.register_agent`, beside `config.work`: one record per agent, its secret
 * sealed, read from the store at each token fetch so a replaced secret is used at once everywhere. Whether an agent
 * exists is remembered per process (agents are never unregistered). docs/design.md §13.
 */
import type { Config } from '../config/types';
import { AtRestError, cipherFor } from '../crypto/at-rest';
import type { Logger } from '../log/logger';
import { parseJsonObject } from '../store/row';
import type { Store } from '../store/port';
import { guardStore } from '../store/guard';
import { NEVER, StoredList } from '../store/listed';
import { CredentialError, storeUnavailable } from './errors';
import type { Clock } from './source';

/** A WeCom app: one secret, one token (tokens are per app secret, never per corp alone). */
export interface WorkAgent {
  corpid: string;
  agentid: string;
  /** Set for a corp that authorized a configured third-party app (suite): its token is the suite's corp token. */
  suiteId?: string;
}

interface AgentRecord {
  /** Sealed, never the plaintext. */
  secret: string;
  remark?: string;
  createdAt: number;
  updatedAt: number;
}

/** How long (clock ms) a record find() read may stand in for the token fetch's read. */
const HANDOFF_MS = 1_000;

const recordKey = (a: WorkAgent) => `agent:${a.corpid}:${a.agentid}`;

/**
 * Registered agents are listed (for status) in numbered records `agents:listed:<n>`, the count
 * in the counter `agents:listed`: the port has no scan. Appending is one atomic increment, so
 * concurrent registrations never lose each other; a repeat is skipped, and a duplicate that
 * two instances append at once is dropped when the list is read.
 */
const LISTED = 'agents:listed';
/** Beyond this many, registered agents are not listed (status reads one record each). */
const MAX_LISTED = 1000;
const secretContext = (a: WorkAgent) => `${recordKey(a)}:secret`;

export class AgentRegistry {
  private readonly known = new Set<string>();
  /** Records find() just read, by record key, for the secret() that follows; taken once. */
  private readonly handoff = new Map<string, { rec: AgentRecord; at: number }>();
  private readonly listed: StoredList;

  constructor(
    private readonly config: Pick<Config, 'masterKey'> & { work: readonly (WorkAgent & { secret: string })[] },
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.listed = new StoredList(store, LISTED, MAX_LISTED, (op) => this.guard(op));
  }

  /** Whether the agent is one of `config.work` (its secret is the configuration's, never registered). */
  configured(corpid: string, agentid: string): boolean {
    return this.configuredAgent(corpid, agentid) !== undefined;
  }

  /** The configured agent, else a registered one; undefined when neither. */
  async find(corpid: string, agentid: string): Promise<WorkAgent | undefined> {
    const configured = this.configuredAgent(corpid, agentid);
    if (configured) return configured;
    const agent = { corpid, agentid };
    const key = recordKey(agent);
    if (this.known.has(key)) return agent;
    const rec = await this.read(agent);
    if (rec === undefined) return undefined;
    this.known.add(key);
    const now = this.clock();
    for (const [k, h] of this.handoff) if (now - h.at >= HANDOFF_MS) this.handoff.delete(k); // never taken: no fetch followed
    this.handoff.set(key, { rec, at: now });
    return agent;
  }

  /** The agent's secret now: the configured one, or the registered one opened from the store. */
  async secret(agent: WorkAgent): Promise<string> {
    const configured = this.configuredAgent(agent.corpid, agent.agentid);
    if (configured) return configured.secret;
    const rec = this.takeHandoff(agent) ?? (await this.read(agent));
    if (!rec)
      throw new CredentialError('config_fault', `WeCom agent ${agent.corpid}/${agent.agentid} is not registered`);
    try {
      return cipherFor(this.config).open(rec.secret, secretContext(agent));
    } catch (err) {
      if (!(err instanceof AtRestError)) throw err;
      throw new CredentialError(
        'config_fault',
        `the stored secret of WeCom agent ${agent.corpid}/${agent.agentid} does not open (${err.message}): check WECRED_MASTER_KEY`,
      );
    }
  }

  /**
   * Store (or replace) a registered agent's secret, sealed. `replaced`: a registration was there
   * with another secret (or one that no longer opens, or a damaged record). Whatever it says, the
   * caller drops the agent's tokens and tickets afterwards (a retry must drop them too).
   */
  async register(
    agent: WorkAgent,
    secret: string,
    remark: string | undefined,
  ): Promise<{ created: boolean; replaced: boolean }> {
    if (this.configured(agent.corpid, agent.agentid))
      throw new TypeError(
        `WeCom agent ${agent.corpid}/${agent.agentid} is configured (config.work): its secret is the configuration's`,
      );
    const cipher = cipherFor(this.config); // throws AtRestError 'no-key' without WECRED_MASTER_KEY
    const text = await this.readText(agent);
    const before = text === null ? undefined : parseRecord(text);
    let replaced = text !== null && before === undefined; // damaged: whatever it held is gone now
    if (before) {
      try {
        replaced = cipher.open(before.secret, secretContext(agent)) !== secret;
      } catch (err) {
        if (!(err instanceof AtRestError)) throw err;
        replaced = true; // sealed under another key: whatever it was, it is not this one
      }
    }
    const now = this.clock();
    const rec: AgentRecord = {
      secret: cipher.seal(secret, secretContext(agent)),
      ...(remark === undefined ? {} : { remark }),
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    };
    await guardStore(
      this.log,
      () => this.store.putRecord(recordKey(agent), JSON.stringify(rec), NEVER, now),
      storeUnavailable,
    );
    this.handoff.delete(recordKey(agent));
    this.known.add(recordKey(agent));
    await this.list(agent);
    return { created: text === null, replaced };
  }

  /** The registered agents, in the order of their first registration (configured ones are not in it). */
  async registered(): Promise<WorkAgent[]> {
    const agents: WorkAgent[] = [];
    for (const entry of await this.listed.read(this.clock())) {
      const [corpid, agentid] = entry.split(':');
      if (corpid && agentid) agents.push({ corpid, agentid });
    }
    return agents;
  }

  /** Add the agent to the list status reads, unless it is there already. */
  private list(agent: WorkAgent): Promise<void> {
    return this.listed.add(`${agent.corpid}:${agent.agentid}`, this.clock());
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardStore(this.log, op, storeUnavailable);
  }

  /** The agent's record; a damaged one is a configuration fault the admin cures by registering again. */
  private async read(agent: WorkAgent): Promise<AgentRecord | undefined> {
    const text = await this.readText(agent);
    if (text === null) return undefined;
    const rec = parseRecord(text);
    if (!rec)
      throw new CredentialError(
        'config_fault',
        `the registered agent record of WeCom agent ${agent.corpid}/${agent.agentid} is damaged; register it again (work.register_agent)`,
      );
    return rec;
  }

  private readText(agent: WorkAgent): Promise<string | null> {
    return guardStore(this.log, () => this.store.getRecord(recordKey(agent), this.clock()), storeUnavailable);
  }

  private configuredAgent(corpid: string, agentid: string): (WorkAgent & { secret: string }) | undefined {
    return this.config.work.find((w) => w.corpid === corpid && w.agentid === agentid);
  }

  /** The record find() read for this agent, if it did so just now (else the store is read again). */
  private takeHandoff(agent: WorkAgent): AgentRecord | undefined {
    const key = recordKey(agent);
    const h = this.handoff.get(key);
    this.handoff.delete(key);
    return h && this.clock() - h.at < HANDOFF_MS ? h.rec : undefined;
  }
}

/** The record if `text` is one (JSON of the right shape), else undefined; never throws. */
function parseRecord(text: string): AgentRecord | undefined {
  const r = parseJsonObject(text);
  if (!r) return undefined;
  const ok =
    typeof r.secret === 'string' &&
    (r.remark === undefined || typeof r.remark === 'string') &&
    typeof r.createdAt === 'number' &&
    typeof r.updatedAt === 'number';
  return ok ? (r as unknown as AgentRecord) : undefined;
}
