/**
 * A whole wecred in a test: the WeChat simulator, the app booted from a real (parsed)
 * configuration whose clock is the simulator's, and a node:http server in front of it. docs/design.md §9.
 */
import type { Server } from 'node:http';
import { parseConfig } from '../../lib/config/load';
import type { Config } from '../../lib/config/types';
import { realmSignature } from '../../lib/crypto/realm';
import { randomNonce } from '../../lib/crypto/random';
import { bootApp } from '../../lib/gateway/boot';
import type { App } from '../../lib/gateway/http';
import type { MessageHook } from '../../lib/interfaces/types';
import { createLogger } from '../../lib/log/logger';
import { createNodeServer, listen } from '../../lib/platform/node-http';
import { createMemoryStore } from '../../lib/store/memory';
import type { Store } from '../../lib/store/port';
import { WechatSim, type SimOptions } from '../../sim';

export const MP = { appid: 'wx1111111111111111', secret: 'mp-secret-1111' };
export const MP2 = { appid: 'wx2222222222222222', secret: 'mp-secret-2222' };
export const REALM = { key: 'biz', secret: 'biz-realm-secret-0123456789' };
export const ADMIN = { key: 'ops', secret: 'ops-realm-secret-0123456789' };

export interface StackOptions {
  /** Raw configuration merged over the defaults below. */
  config?: Record<string, unknown>;
  /** Shared store (several stacks = several processes sharing one store). */
  store?: Store;
  /** Reuse a simulator (several stacks talking to one WeChat). */
  sim?: WechatSim;
  simOptions?: SimOptions;
  /** The message hook of POST /wechat/:appid (BootOptions.onMessage). */
  onMessage?: MessageHook;
  /** Port of the wecred server (default: any free one), for configs that name its URL (oauth.callbackBase). */
  port?: number;
  /** Environment the config is parsed with (e.g. WECRED_MASTER_KEY); default none. */
  env?: NodeJS.ProcessEnv;
  /** The app's clock (default: the simulator's). */
  clock?: () => number;
}

/**
 * Noon in Beijing today: a simulator started here can be moved hours either way without crossing
 * the Beijing midnight that resets WeChat's daily counts (tests counting a day start here).
 */
export function beijingNoon(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 4, 0, 0);
}

export interface Stack {
  sim: WechatSim;
  app: App;
  config: Config;
  store: Store;
  url: string;
  logs: Record<string, unknown>[];
  /** POST / with a Wafer envelope, signed by `realm` unless null. */
  envelope(
    interfaceName: string,
    para: unknown,
    realm?: { key: string; secret: string } | null,
  ): Promise<{ status: number; json: any }>;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: any; headers: Headers }>;
  close(): Promise<void>;
}

export function signedHeaders(
  realm: { key: string; secret: string },
  path: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
  nonce = randomNonce(16),
) {
  return {
    'x-wecred-realm': realm.key,
    'x-wecred-timestamp': String(timestamp),
    'x-wecred-nonce': nonce,
    'x-wecred-signature': realmSignature(realm.secret, {
      method: 'POST',
      path,
      timestamp: String(timestamp),
      nonce,
      body,
    }),
  };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const sim = opts.sim ?? (await WechatSim.start(opts.simOptions));
  const apps = (opts.config?.apps as { appid?: string }[] | undefined) ?? [
    { ...MP, type: 'mp', default: true },
    { ...MP2, type: 'mp', tokenMode: 'classic' },
  ];
  // The biz realm may use MP and MP2, as far as they are configured (a realm may name only configured apps).
  const bizApps = [MP.appid, MP2.appid].filter((id) => apps.some((app) => app.appid === id));
  const raw = {
    apps,
    realms: [
      // No daily allowance of forced refreshes of its own: tests of other budgets force many times.
      { ...REALM, apps: bizApps, interfaces: ['access_token', 'ticket'], forceAllowance: null },
      { ...ADMIN, admin: true },
    ],
    store: 'memory:',
    ...opts.config,
    // upstream settings are merged: a test that sets a timeout still talks to its simulator
    upstream: {
      mp: sim.url,
      work: sim.url,
      open: sim.url,
      mpPages: sim.url,
      timeoutMs: 1000,
      budgetMs: 4000,
      ...(opts.config?.upstream as Record<string, unknown> | undefined),
    },
  };
  const config = parseConfig(raw, opts.env ?? {});
  for (const app of config.apps) sim.addApp(app.appid, app.secret, { type: app.type });
  for (const w of config.work)
    if (w.kind === 'agent') sim.addWorkApp(w.corpid, w.agentid, w.secret);
    else sim.addWorkSecret(w.corpid, w.kind, w.secret);
  const logs: Record<string, unknown>[] = [];
  const store = opts.store ?? createMemoryStore();
  const app = await bootApp(config, {
    clock: opts.clock ?? (() => sim.now()),
    store,
    log: createLogger((line) => logs.push(JSON.parse(line)), 'debug'),
    onMessage: opts.onMessage,
  });
  const server: Server = createNodeServer(app);
  const url = await listen(server, opts.port ?? 0, '127.0.0.1');

  const post: Stack['post'] = async (path, body, headers = {}) => {
    const res = await fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, headers: res.headers };
  };

  return {
    sim,
    app,
    config,
    store,
    url,
    logs,
    post,
    async envelope(interfaceName, para, realm = REALM) {
      const body = JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } });
      const headers = realm ? signedHeaders(realm, '/', body, Math.floor(sim.now() / 1000)) : {};
      const { status, json } = await post('/', body, headers);
      return { status, json };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (!opts.store) await app.close();
      if (!opts.sim) await sim.close();
    },
  };
}
