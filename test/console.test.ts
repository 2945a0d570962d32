/**
 * GET /console in Debian's chromium (playwright-core): the demo admin realm signs in, sees every
 * demo credential with its timeline, a 40164 refusal with the IP to allow-list, a forced refresh
 * made from the page and counted; a wrong secret shows why and no data. The page talks to its own
 * origin only, runs no script but its own, and the realm secret goes nowhere. Screenshots go to
 * reports/console/ (docs/console/ keeps a copy for the README). Skips loudly without /usr/bin/chromium, except under CI=true. docs/design.md §18.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_APPS, DEMO_REALM, DEMO_WORK } from '../lib/config/load';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './support/chromium';
import { type Stack, startStack } from './support/stack';

const MP = DEMO_APPS.find((a) => a.type === 'mp')!;
const MINA = DEMO_APPS.find((a) => a.type === 'mina')!;
const [AGENT] = DEMO_WORK;
/** A fixed start (09:00 in Beijing), so that the screenshots show the same times run after run. */
const START = Date.UTC(2025, 5, 3, 1, 0, 0);
const SHOTS = new URL('../reports/console/', import.meta.url);

/** The demo deployment (its apps, WeCom agent and admin realm) on the in-process stack. */
function startDemo(): Promise<Stack> {
  return startStack({
    config: { apps: [...DEMO_APPS], work: [...DEMO_WORK], realms: [DEMO_REALM] },
    simOptions: { now: START },
  });
}

/** Every credential the demo has, fetched once so that each has a value and a timeline. */
async function warm(stack: Stack): Promise<string[]> {
  const ok = async (name: string, para: Record<string, unknown>) =>
    expect((await stack.envelope(name, para, DEMO_REALM)).json.returnCode).toBe(0);
  await ok('jsapi.config', { appid: MP.appid, url: 'https://example.com/' });
  await ok('ticket', { appid: MP.appid, type: 'wx_card' });
  await ok('access_token', { appid: MINA.appid });
  await ok('work.jsapi.config', { corpid: AGENT!.corpid, agentid: AGENT!.agentid, url: 'https://example.com/' });
  const { work } = { work: `work:${AGENT!.corpid}:${AGENT!.agentid}` };
  return [
    `mp:${MP.appid}:token`,
    `mp:${MINA.appid}:token`,
    `mp:${MP.appid}:ticket:jsapi`,
    `mp:${MP.appid}:ticket:wx_card`,
    `${work}:token`,
    `${work}:ticket`,
    `${work}:agent_ticket`,
  ];
}

describe.skipIf(!haveChromium)('the console in chromium', () => {
  let browser: Browser;
  let stack: Stack;
  let context: BrowserContext;
  let page: Page;
  let requests: Request[];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    await mkdir(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await context?.close();
    await stack?.close();
  });

  async function open(opts: { locale?: string; phone?: boolean; every?: number } = {}): Promise<void> {
    context = await browser.newContext({
      locale: opts.locale ?? 'en-US',
      timezoneId: 'Asia/Shanghai',
      ...(opts.phone
        ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }
        : { viewport: { width: 1280, height: 900 } }),
    });
    page = await context.newPage();
    requests = [];
    page.on('request', (r) => requests.push(r));
    await page.goto(`${stack.url}/console?every=${opts.every ?? 1}`);
  }

  async function signIn(secret: string = DEMO_REALM.secret): Promise<void> {
    await page.locator('#realm').fill(DEMO_REALM.key);
    await page.locator('#secret').fill(secret);
    await page.getByRole('button', { name: /sign in|登录/i }).click();
  }

  const card = (key: string) => page.locator(`article.cred[data-key="${key}"]`);

  /** Nothing the page asked for went elsewhere, and the secret is in no request, cookie or log line. */
  async function nothingLeaked(): Promise<void> {
    expect(requests.length).toBeGreaterThan(2);
    for (const r of requests) {
      expect(new URL(r.url()).origin).toBe(stack.url);
      const sent = [r.url(), JSON.stringify(await r.allHeaders()), r.postData() ?? ''].join('\n');
      expect(sent).not.toContain(DEMO_REALM.secret);
    }
    const signed = requests.filter((r) => r.method() === 'POST');
    expect(signed.length).toBeGreaterThan(0);
    for (const r of signed) expect(await r.headerValue('x-wecred-signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(await context.cookies()).toEqual([]);
    expect(JSON.stringify(stack.logs)).not.toContain(DEMO_REALM.secret);
  }

  it('shows every demo credential with a timeline, a 40164 with the IP within one auto-refresh, and counts a forced refresh made from the page', async () => {
    stack = await startDemo();
    const keys = await warm(stack);
    await open();
    await signIn();
    for (const key of keys) {
      await expect(card(key).locator('.state').textContent()).resolves.toBe('fresh');
      await expect(card(key).locator('.timeline .bar .now').count()).resolves.toBe(1);
      await expect(card(key).locator('.timeline .bar .window').count()).resolves.toBe(1);
    }
    await expect(page.locator('#store .adapter').textContent()).resolves.toBe('memory');
    await expect(page.locator('#store .reachable').textContent()).resolves.toBe('reachable');
    await expect(page.locator('#store .rtt').textContent()).resolves.toMatch(/^round trip (< )?[\d.]+ ms$/);

    // WeChat stops answering the Mini Program's token requests from this server's address.
    stack.sim.allowIps(MINA.appid, ['203.0.113.10']);
    const forced = await stack.envelope('access_token', { appid: MINA.appid, force: true }, DEMO_REALM);
    expect(forced.json).toMatchObject({ returnCode: 7302, error: { errcode: 40164 } });
    // The page's next status call (every second here) shows it.
    const next = await page.waitForRequest((r) => r.method() === 'POST' && /"status"/.test(r.postData() ?? ''));
    await (await next.response())!.finished();
    const mina = card(`mp:${MINA.appid}:token`);
    await mina.locator('.ip').waitFor({ timeout: 1000 });
    await expect(mina.getAttribute('data-state')).resolves.toBe('refused');
    await expect(mina.locator('.ip').textContent()).resolves.toBe('Add 127.0.0.1 to the IP allow-list');
    await expect(mina.locator('.errcode').textContent()).resolves.toBe(
      "errcode 40164: this server's IP is not on the app's IP allow-list",
    );

    // A forced refresh of the Official Account's token, confirmed on the page.
    const token = card(`mp:${MP.appid}:token`);
    const before = stack.sim.calls('stable_token', MP.appid);
    await expect(token.locator('.total').textContent()).resolves.toBe('Fetches today: 1');
    await token.getByRole('button', { name: 'Force refresh' }).click();
    await token.getByRole('button', { name: 'Cancel' }).click();
    await token.getByRole('button', { name: 'Force refresh' }).click();
    expect(stack.sim.calls('stable_token', MP.appid)).toBe(before);
    await token.getByRole('button', { name: 'Yes, refresh' }).click();
    await expect(token.locator('.actions .done').textContent()).resolves.toBe('Refreshed.');
    await token.locator('.total', { hasText: 'Fetches today: 2' }).waitFor();
    await expect(token.locator('.reasons').textContent()).resolves.toBe('refresh 1 · force 1');
    await expect(token.locator('.callers').textContent()).resolves.toBe('by caller: public 1, demo 1');
    await expect(token.locator('.meter .count').textContent()).resolves.toBe('1 / 20');
    expect(stack.sim.calls('stable_token', MP.appid)).toBe(before + 1);

    await page.screenshot({ path: new URL('desktop.png', SHOTS).pathname, fullPage: true });
    await nothingLeaked();

    // Signing out forgets the secret; the page asks for it again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.evaluate('JSON.stringify(sessionStorage)')).resolves.toBe('{}');
    await expect(page.locator('#signin').isVisible()).resolves.toBe(true);
    await expect(page.locator('#creds article').count()).resolves.toBe(0);
  });

  it('fits a phone screen, and speaks Mandarin to a Mandarin browser', async () => {
    stack = await startDemo();
    const keys = await warm(stack);
    stack.sim.advance(60_000); // a minute on: the same "expires in" whatever the milliseconds
    await open({ phone: true, every: 10 });
    await signIn();
    await card(keys[0]!).waitFor();
    // one column, nothing wider than the screen
    await expect(page.evaluate('document.documentElement.scrollWidth')).resolves.toBeLessThanOrEqual(390);
    const columns = await page.evaluate("getComputedStyle(document.getElementById('creds')).gridTemplateColumns");
    expect(String(columns).split(' ')).toHaveLength(1);
    await page.screenshot({ path: new URL('phone.png', SHOTS).pathname, fullPage: true });
    await nothingLeaked();
    await context.close();

    await open({ locale: 'zh-CN', every: 10 });
    await expect(page.locator('h1').textContent()).resolves.toBe('wecred 控制台');
    await signIn();
    await expect(card(keys[0]!).locator('.state').textContent()).resolves.toBe('正常');
    await expect(card(keys[0]!).locator('h2').textContent()).resolves.toBe('公众号 access_token');
    await expect(card(keys[1]!).locator('h2').textContent()).resolves.toBe('小程序 access_token');
    await expect(page.locator('#store .reachable').textContent()).resolves.toBe('连接正常');
  });

  it('a wrong secret shows a clear message and no data', async () => {
    stack = await startDemo();
    await warm(stack);
    await open();
    await signIn('not-the-demo-realm-secret');
    await page.locator('#message:not([hidden])').waitFor();
    await expect(page.locator('#message').textContent()).resolves.toBe(
      'Wrong realm key or secret: wecred refused the signature.',
    );
    await expect(page.locator('#creds article').count()).resolves.toBe(0);
    await expect(page.locator('#dash').isVisible()).resolves.toBe(false);
    await expect(page.evaluate("sessionStorage.getItem('wecred.secret')")).resolves.toBeNull();
    expect(stack.logs.some((l) => l.event === 'request' && l.route === 'status' && l.returnCode === 7002)).toBe(true);
  });

  it('runs no script but its own: the CSP names the one script by its hash, and injected script does not run', async () => {
    stack = await startDemo();
    const res = await fetch(`${stack.url}/console`);
    const csp = res.headers.get('content-security-policy')!;
    const html = await res.text();
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256').update(scripts[0]!).digest('base64');
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src '));
    expect(scriptSrc).toBe(`script-src 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline handlers

    await open();
    // What an attacker's injected markup would try: an inline script, an inline handler.
    const ran = (await page.evaluate(`(async () => {
      const violations = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.body.append(s);
      const b = document.createElement('button');
      b.setAttribute('onclick', 'window.clicked = true');
      document.body.append(b);
      b.click();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { injected: window.injected ?? false, clicked: window.clicked ?? false, violations };
    })()`)) as { injected: boolean; clicked: boolean; violations: string[] };
    expect(ran.injected).toBe(false);
    expect(ran.clicked).toBe(false);
    expect(ran.violations.length).toBeGreaterThanOrEqual(2);
    expect(ran.violations.every((v) => v.startsWith('script-src'))).toBe(true);
  });
});
