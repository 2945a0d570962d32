/** A stack running one third-party platform (test/component*.test.ts): the component in config and in the simulator. */
import { randomBytes } from 'node:crypto';
import type { Store } from '../../lib/store/port';
import type { WechatSim } from '../../sim';
import type { SimOptions } from '../../sim/types';
import { freePort, OAUTH_SECRET } from './oauth-stack';
import { ADMIN, MP, REALM, startStack, type Stack } from './stack';

export const COMPONENT = {
  appid: 'wxc0c0c0c0c0c0c0c0',
  secret: 'component-secret-0123',
  token: 'component-msg-token',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};
/** The Official Account that authorizes the component. */
export const AUTHORIZER = 'wxa1a1a1a1a1a1a1a1';
export const MASTER_KEY = randomBytes(32).toString('base64');
/** A realm that may use the component's authorizers (naming the component in its apps). */
export const PARTNER = { key: 'partner', secret: 'partner-realm-secret-0123456789' };

export function componentConfig(port: number): Record<string, unknown> {
  return {
    apps: [{ ...MP, type: 'mp', default: true }],
    components: [COMPONENT],
    realms: [
      { ...REALM, apps: [MP.appid], interfaces: ['access_token', 'ticket'] },
      { ...PARTNER, apps: [COMPONENT.appid] },
      { ...ADMIN, admin: true },
    ],
    oauth: {
      redirects: ['https://app\\.example\\.com/.*', 'http://127\\.0\\.0\\.1:\\d+/landing(\\?.*)?'],
      callbackBase: `http://127.0.0.1:${port}`,
      secret: OAUTH_SECRET,
    },
  };
}

/** The component added to `sim`, pushing to `url` (a ticket now, then every 10 minutes). */
export async function wireComponent(sim: WechatSim, url: string): Promise<void> {
  sim.addComponent(COMPONENT.appid, COMPONENT);
  sim.setComponentAccount(AUTHORIZER);
  await sim.componentPushUrl(COMPONENT.appid, `${url}/wechat/component/${COMPONENT.appid}`);
}

export async function startComponentStack(
  opts: { store?: Store; sim?: WechatSim; simOptions?: SimOptions; wire?: boolean } = {},
): Promise<Stack> {
  const port = await freePort();
  const stack = await startStack({
    port,
    env: { WECRED_MASTER_KEY: MASTER_KEY },
    config: componentConfig(port),
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.sim ? { sim: opts.sim } : {}),
    ...(opts.simOptions ? { simOptions: opts.simOptions } : {}),
  });
  if (opts.wire !== false) await wireComponent(stack.sim, stack.url);
  return stack;
}

/**
 * Walk an install link like the administrator's browser: the consent page, 授权 (or 取消),
 * back through wecred's callback; the last answer (the landing page's Location, or an error).
 */
/** The consent page clicked: WeChat's redirect to our callback followed, unless the browser is `closed` before it. */
export async function clickThrough(
  link: string,
  action: 'allow' | 'deny' = 'allow',
  closed = false,
): Promise<{ status: number; location: string | null; body: string }> {
  const page = await fetch(link, { redirect: 'manual' });
  const html = await page.text();
  const href = new RegExp(`id="${action}" href="([^"]+)"`).exec(html)?.[1];
  if (!href) return { status: page.status, location: null, body: html };
  const confirm = new URL(href.replaceAll('&#38;', '&'), link);
  const back = await fetch(confirm, { redirect: 'manual' });
  const callback = back.headers.get('location');
  if (back.status !== 302 || !callback) return { status: back.status, location: null, body: await back.text() };
  if (closed) return { status: back.status, location: callback, body: '' };
  const res = await fetch(callback, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}
