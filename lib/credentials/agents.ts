/**
 * WeCom agents (apps) registered at run time by `work.register_agent`, beside the configured
 * `config.work` ones. One record per agent, `agent:<corpid>:<agentid>`, holding JSON with the
 * secret sealed under WECRED_MASTER_KEY (context `agent:<corpid>:<agentid>:secret`).
 *
 * The secret is read from the store only when a token is fetched (once per refresh), so a
 * replaced secret is used by the very next fetch in every instance. Whether an agent exists is
 * remembered per process: agents are never unregistered, so a warm request does no store I/O
 * beyond the credential's own; an unknown agent costs one record read per request.
 */
import type { Config } from '../config/types';
import { AtRestError, cipherFor } from '../crypto/at-rest';
import type { Logger } from '../log/logger';
import { parseJsonObject } from '../store/row';
import type { Store } from '../store/port';
import { CredentialError } from './errors';
import { guardStore, type Clock } from './manager';

/** A WeCom app: one secret, one token (tokens are per app secret, never per corp alone). */
export interface WorkAgent {
  corpid: string;
  agentid: string;
}

interface AgentRecord {
  /** Sealed, never the plaintext. */
  secret: string;
  remark?: string;
  createdAt: number;
  updatedAt: number;
}

/** Records live until replaced: the latest expiry every store adapter accepts as a plain number (ms). */
const NEVER = Date.UTC(9999, 0, 1);

const recordKey = (a: WorkAgent) => `agent:${a.corpid}:${a.agentid}`;
const secretContext = (a: WorkAgent) => `${recordKey(a)}:secret`;

export class AgentRegistry {
  private readonly known = new Set<string>();

  constructor(
    private readonly config: Pick<Config, 'masterKey' | 'work'>,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The configured agent, else a registered one; undefined when neither. */
  async find(corpid: string, agentid: string): Promise<WorkAgent | undefined> {
    const configured = this.config.work.find((w) => w.corpid === corpid && w.agentid === agentid);
    if (configured) return configured;
    const agent = { corpid, agentid };
    if (this.known.has(recordKey(agent))) return agent;
    if ((await this.read(agent)) === undefined) return undefined;
    this.known.add(recordKey(agent));
    return agent;
  }

  /** The agent's secret now: the configured one, or the registered one opened from the store. */
  async secret(agent: WorkAgent): Promise<string> {
    const configured = this.config.work.find((w) => w.corpid === agent.corpid && w.agentid === agent.agentid);
    if (configured) return configured.secret;
    const rec = await this.read(agent);
    if (!rec) throw new CredentialError('config_fault', `WeCom agent ${agent.corpid}/${agent.agentid} is not registered`);
    try {
      return cipherFor(this.config).open(rec.secret, secretContext(agent));
    } catch (err) {
      if (!(err instanceof AtRestError)) throw err;
      throw new CredentialError('config_fault', `the stored secret of WeCom agent ${agent.corpid}/${agent.agentid} does not open (${err.message}): check WECRED_MASTER_KEY`);
    }
  }

  /**
   * Store (or replace) a registered agent's secret, sealed. `replaced`: a registration was there
   * with another secret (or one that no longer opens, or a damaged record). Whatever it says, the
   * caller drops the agent's tokens and tickets afterwards (a retry must drop them too).
   */
  async register(agent: WorkAgent, secret: string, remark: string | undefined): Promise<{ created: boolean; replaced: boolean }> {
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
    await guardStore(this.log, () => this.store.putRecord(recordKey(agent), JSON.stringify(rec), NEVER));
    this.known.add(recordKey(agent));
    return { created: text === null, replaced };
  }

  /** The agent's record; a damaged one is a configuration fault the admin cures by registering again. */
  private async read(agent: WorkAgent): Promise<AgentRecord | undefined> {
    const text = await this.readText(agent);
    if (text === null) return undefined;
    const rec = parseRecord(text);
    if (!rec) throw new CredentialError('config_fault', `the registered agent record of WeCom agent ${agent.corpid}/${agent.agentid} is damaged; register it again (work.register_agent)`);
    return rec;
  }

  private readText(agent: WorkAgent): Promise<string | null> {
    return guardStore(this.log, () => this.store.getRecord(recordKey(agent), this.clock()));
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
