/** A stack set up for OAuth web login (test/oauth.test.ts, test/browser.test.ts). docs/design.md §9, §11.2. */
import { createServer } from 'node:net';
import type { Store } from '../../lib/store/port';
import { ADMIN, MP, MP2, REALM, startStack, type Stack } from './stack';

export const WEB = { appid: 'wx3333333333333333', secret: 'web-secret-3333' };
export const MINA = { appid: 'wx4444444444444444', secret: 'mina-secret-4444' };
export const OAUTH_SECRET = 'oauth-result-secret-0123456789abcdef';
/** A realm allowed to exchange codes. */
export const EXCHANGER = { key: 'login', secret: 'login-realm-secret-0123456789' };

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * MP (Official Account, default), MP2, WEB (website app) and MINA; redirects allowed to
 * https://app.example.com/… and to http://127.0.0.1:<any port>/landing…; callbackBase = the
 * stack's own URL. `oauth` is merged over the oauth section; `store` is shared as in startStack.
 */
export async function startOAuthStack(
  opts: {
    oauth?: Record<string, unknown>;
    store?: Store;
    clients?: Record<string, unknown>;
    clock?: () => number;
  } = {},
): Promise<Stack> {
  const port = await freePort();
  return startStack({
    port,
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    config: {
      apps: [
        { ...MP, type: 'mp', default: true },
        { ...MP2, type: 'mp', tokenMode: 'classic' },
        { ...WEB, type: 'web' },
        { ...MINA, type: 'mina' },
      ],
      realms: [
        { ...REALM, apps: [MP.appid, MP2.appid], interfaces: ['access_token', 'ticket'] },
        { ...EXCHANGER, apps: [MP.appid, WEB.appid], interfaces: ['oauth.exchange'] },
        { ...ADMIN, admin: true },
      ],
      oauth: {
        redirects: ['https://app\\.example\\.com/.*', 'http://127\\.0\\.0\\.1:\\d+/landing(\\?.*)?'],
        callbackBase: `http://127.0.0.1:${port}`,
        secret: OAUTH_SECRET,
        ...opts.oauth,
      },
      ...(opts.clients ? { clients: opts.clients } : {}),
    },
  });
}
