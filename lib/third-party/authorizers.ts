/**
 * Accounts that authorized one of our third-party platforms (authorizers): one record per appid,
 * `authorizer:<appid>`, holding the component, the state and the authorizer_refresh_token sealed
 * under WECRED_MASTER_KEY (context `authorizer:<appid>:refresh_token`); listed for status.
 * That an appid is authorized is remembered per process for localCacheSeconds, as a warm
 * credential is: a cancellation reaches every instance within that time. docs/design.md §19.
 */
import type { Config } from '../config/types';
import { CredentialError, storeUnavailable } from '../credentials/errors';
import type { Clock } from '../credentials/source';
import type { Logger } from '../log/logger';
import { guardStore } from '../store/guard';
import type { Store } from '../store/port';
import { parseJsonObject } from '../store/row';
import type { AuthorizerIssued } from './component-api';
import { NEVER, StoredList } from '../store/listed';
import { sealerFor } from './sealed';

export type AuthorizerState = 'authorized' | 'unauthorized';

export interface Authorizer {
  appid: string;
  component: string;
  state: AuthorizerState;
  funcInfo: number[];
  authorizedAt: number;
  updatedAt: number;
}

interface AuthorizerRecord extends Authorizer {
  v: 1;
  /** Sealed; '' once unauthorized (WeChat ends it then). */
  refreshToken: string;
}

/** An authorizer's appid, as WeChat's appids are. */
const APPID = /^wx[0-9a-zA-Z]{16}$/;
const MAX_LISTED = 1000;
const keyOf = (appid: string) => `authorizer:${appid}`;
const refreshContext = (appid: string) => `${keyOf(appid)}:refresh_token`;

export class AuthorizerRegistry {
  private readonly sealer;
  private readonly list: StoredList;
  /** find()'s answers by appid, and when they were read (clock ms). */
  private readonly cache = new Map<string, { found: Authorizer | undefined; at: number }>();
  private readonly reading = new Map<string, Promise<Authorizer | undefined>>();

  constructor(
    private readonly config: Pick<Config, 'masterKey' | 'components' | 'credentials'>,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.sealer = sealerFor(config);
    this.list = new StoredList(store, 'authorizers:listed', MAX_LISTED);
  }

  /**
   * The authorizer `appid` names, from this process's memory when read less than localCacheSeconds
   * ago; undefined when it never authorized one of the configured components. Concurrent callers share one read.
   */
  async find(appid: string): Promise<Authorizer | undefined> {
    if (this.config.components.length === 0 || !APPID.test(appid)) return undefined;
    const now = this.clock();
    const hit = this.cache.get(appid);
    if (hit && now - hit.at < this.config.credentials.localCacheSeconds * 1000) return hit.found;
    const pending = this.reading.get(appid);
    if (pending) return pending;
    const read = this.read(appid)
      .then((rec) => {
        const found = rec && this.config.components.some((c) => c.appid === rec.component) ? publicOf(rec) : undefined;
        if (this.cache.size > 10_000) this.cache.clear();
        // Only an authorization is remembered: a cancelled account that authorizes again works at once everywhere.
        if (found?.state === 'authorized') this.cache.set(appid, { found, at: this.clock() });
        else this.cache.delete(appid);
        return found;
      })
      .finally(() => this.reading.delete(appid));
    this.reading.set(appid, read);
    return read;
  }

  /** The authorized authorizer's refresh token now (from the store, not memory), and the sealed form it was read as. */
  async refreshToken(appid: string): Promise<{ component: string; refreshToken: string; sealed: string }> {
    const rec = await this.read(appid);
    if (!rec) throw new CredentialError('config_fault', `${appid} has not authorized a component of this deployment`);
    if (rec.state !== 'authorized' || rec.refreshToken === '') throw unauthorizedError(appid, rec.component);
    const what = `the stored refresh token of authorizer ${appid}`;
    return {
      component: rec.component,
      refreshToken: this.sealer.open(rec.refreshToken, refreshContext(appid), what),
      sealed: rec.refreshToken,
    };
  }

  /** Refused with a clear returnCode unless `appid` is authorized now (read from the store). */
  async requireAuthorized(appid: string): Promise<void> {
    const rec = await this.read(appid);
    if (!rec) throw new CredentialError('config_fault', `${appid} has not authorized a component of this deployment`);
    if (rec.state !== 'authorized') throw unauthorizedError(appid, rec.component);
  }

  /** An authorization (api_query_auth's answer): the record written, its refresh token sealed, the appid listed. */
  async authorize(component: string, issued: AuthorizerIssued): Promise<Authorizer> {
    const now = this.clock();
    const before = await this.read(issued.appid);
    const rec: AuthorizerRecord = {
      v: 1,
      appid: issued.appid,
      component,
      state: 'authorized',
      funcInfo: issued.funcInfo ?? before?.funcInfo ?? [],
      authorizedAt: before?.state === 'authorized' && before.component === component ? before.authorizedAt : now,
      updatedAt: now,
      refreshToken: this.sealer.seal(issued.refreshToken, refreshContext(issued.appid)),
    };
    await this.write(rec, now);
    await this.guard(() => this.list.add(issued.appid, now));
    this.cache.set(issued.appid, { found: publicOf(rec), at: now });
    return publicOf(rec);
  }

  /**
   * A refresh answered another refresh token: stored in place of `sealedBefore`, the one the refresh
   * used, unless the record changed meanwhile (a new authorization wrote its own). Until this write
   * the record keeps the one used, which WeChat keeps accepting until the new one is used.
   */
  async replaceRefreshToken(appid: string, sealedBefore: string, refreshToken: string): Promise<void> {
    const rec = await this.read(appid);
    if (rec?.state !== 'authorized' || rec.refreshToken !== sealedBefore) return;
    const now = this.clock();
    await this.write(
      { ...rec, refreshToken: this.sealer.seal(refreshToken, refreshContext(appid)), updatedAt: now },
      now,
    );
  }

  /** The account cancelled its authorization of `component`: unusable from now on; its refresh token is dropped. */
  async unauthorize(component: string, appid: string): Promise<boolean> {
    const rec = await this.read(appid);
    if (!rec || rec.component !== component || rec.state === 'unauthorized') return false;
    const now = this.clock();
    await this.write({ ...rec, state: 'unauthorized', refreshToken: '', updatedAt: now }, now);
    this.cache.delete(appid);
    return true;
  }

  /** Every listed authorizer as its record says (oldest first). */
  async all(): Promise<Authorizer[]> {
    const ids = await this.guard(() => this.list.read(this.clock()));
    const recs = await Promise.all(ids.map((id) => this.read(id)));
    return recs.filter((r): r is AuthorizerRecord => r !== undefined).map(publicOf);
  }

  private async read(appid: string): Promise<AuthorizerRecord | undefined> {
    const text = await this.guard(() => this.store.getRecord(keyOf(appid), this.clock()));
    return text === null ? undefined : parseRecord(text);
  }

  private write(rec: AuthorizerRecord, now: number): Promise<void> {
    return this.guard(() => this.store.putRecord(keyOf(rec.appid), JSON.stringify(rec), NEVER, now));
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardStore(this.log, op, storeUnavailable);
  }
}

/** An authorizer as an app of the credentials (an Official Account whose token comes from its component). */
export function authorizerApp(a: Pick<Authorizer, 'appid' | 'component'>) {
  return {
    appid: a.appid,
    secret: '',
    type: 'mp' as const,
    tokenMode: 'classic' as const,
    default: false,
    component: a.component,
  };
}

export function unauthorizedError(appid: string, component: string): CredentialError {
  return new CredentialError(
    'app_unauthorized',
    `${appid} cancelled its authorization of third-party platform ${component}: it must authorize again`,
  );
}

function publicOf(rec: AuthorizerRecord): Authorizer {
  const { v: _v, refreshToken: _r, ...rest } = rec;
  return rest;
}

function parseRecord(text: string): AuthorizerRecord | undefined {
  const r = parseJsonObject(text);
  if (!r) return undefined;
  const ok =
    typeof r.appid === 'string' &&
    typeof r.component === 'string' &&
    (r.state === 'authorized' || r.state === 'unauthorized') &&
    typeof r.refreshToken === 'string' &&
    Array.isArray(r.funcInfo) &&
    typeof r.authorizedAt === 'number' &&
    typeof r.updatedAt === 'number';
  return ok ? (r as unknown as AuthorizerRecord) : undefined;
}
