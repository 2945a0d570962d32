/**
 * The whole web login in Debian's chromium (playwright-core): authorize, the simulator's page, 允许,
 * our callback, an allow-listed page holding a result that verifies; a replayed callback is refused.
 * Skips loudly without /usr/bin/chromium, except under CI=true. docs/design.md §9, §11.2.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyOAuthResult } from '../lib/sessions/oauth';
import { simOpenid, simUnionid } from '../sim';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './support/chromium';
import { OAUTH_SECRET, startOAuthStack, WEB } from './support/oauth-stack';
import { MP, type Stack } from './support/stack';

/** The business site's landing page (allow-listed as http://127.0.0.1:<port>/landing…): records what arrives. */
async function startLanding(): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    if (req.url !== '/favicon.ico') hits.push(req.url ?? '');
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>landing</title><h1 id="landed">登录成功</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/landing`, hits, server };
}

describe.skipIf(!haveChromium)('web login in chromium', () => {
  let browser: Browser;
  let stack: Stack;
  let landing: Awaited<ReturnType<typeof startLanding>>;
  let page: Page;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.context().close();
    await stack?.close();
    await new Promise((resolve) => landing?.server.close(resolve));
  });

  async function open(appid: string, params: Record<string, string>): Promise<void> {
    stack = await startOAuthStack();
    landing = await startLanding();
    page = await (await browser.newContext()).newPage();
    const q = new URLSearchParams({ redirect: `${landing.url}?from=browser`, ...params });
    await page.goto(`${stack.url}/oauth/${appid}/authorize?${q}`);
  }

  /** The landing page's result, checked like a business server would. */
  function resultOnLanding() {
    const url = new URL(page.url());
    expect(url.origin + url.pathname).toBe(landing.url);
    expect(landing.hits).toEqual([url.pathname + url.search]);
    const check = verifyOAuthResult(url.searchParams.get('wecred_result')!, OAUTH_SECRET, { now: stack.sim.now() });
    if (!check.ok) throw new Error(`the result on the landing page does not verify: ${check.reason}`);
    return { url, result: check.result };
  }

  it('Official Account, snsapi_userinfo: authorize → WeChat page → 允许 → callback → landing page with a result that verifies', async () => {
    await open(MP.appid, { scope: 'snsapi_userinfo', state: 'b1' });
    // on (simulated) WeChat's page, with the #wechat_redirect it insists on
    expect(page.url()).toMatch(
      new RegExp(`^${stack.sim.url}/connect/oauth2/authorize\\?appid=${MP.appid}&.*#wechat_redirect$`),
    );
    await page.getByRole('link', { name: '允许' }).click();
    await page.waitForURL((u) => u.pathname === '/landing');
    await expect(page.locator('#landed').textContent()).resolves.toBe('登录成功');

    const { url, result } = resultOnLanding();
    expect(url.searchParams.get('from')).toBe('browser');
    expect(url.searchParams.get('state')).toBe('b1');
    expect(result).toMatchObject({
      appid: MP.appid,
      openid: simOpenid(MP.appid, 'user1'),
      unionid: simUnionid('user1'),
      scope: 'snsapi_userinfo',
      nickname: '微信用户 user1',
      state: 'b1',
    });
    expect(stack.sim.calls('sns_access_token', MP.appid)).toBe(1);
    // the login cookie was cleared by the callback
    expect(await page.context().cookies(`${stack.url}/oauth/${MP.appid}/callback`)).toEqual([]);
  });

  it('a callback URL opened in another browser (login CSRF) ends on the error page, and the login goes on where it started', async () => {
    await open(MP.appid, { scope: 'snsapi_userinfo' });
    const [cookie] = await page.context().cookies(`${stack.url}/oauth/${MP.appid}/callback`);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: `/oauth/${MP.appid}/` });
    // the attacker's callback URL (their code, their state), without following it here
    const allow = await page.getByRole('link', { name: '允许' }).getAttribute('href');
    const back = await fetch(new URL(allow!, page.url()), { redirect: 'manual' });
    const callbackUrl = back.headers.get('location')!;
    expect(callbackUrl).toContain('/callback?code=');

    const other = await (await browser.newContext()).newPage();
    try {
      await other.goto(callbackUrl);
      await expect(other.locator('#reason').textContent()).resolves.toBe('bad_state');
      await expect(other.locator('#message').textContent()).resolves.toMatch(/start in the browser/);
    } finally {
      await other.context().close();
    }
    expect(stack.sim.calls('sns_access_token')).toBe(0);
    // the browser that started it still finishes it
    await page.goto(callbackUrl);
    await page.waitForURL((u) => u.pathname === '/landing');
    expect(resultOnLanding().result).toMatchObject({ appid: MP.appid, openid: simOpenid(MP.appid, 'user1') });
  });

  it('website app: qrconnect → 允许 → landing page', async () => {
    await open(WEB.appid, {});
    expect(page.url()).toMatch(
      new RegExp(`^${stack.sim.url}/connect/qrconnect\\?appid=${WEB.appid}&.*scope=snsapi_login.*#wechat_redirect$`),
    );
    await page.getByRole('link', { name: '允许' }).click();
    await page.waitForURL((u) => u.pathname === '/landing');
    expect(resultOnLanding().result).toMatchObject({
      appid: WEB.appid,
      openid: simOpenid(WEB.appid, 'user1'),
      scope: 'snsapi_login',
    });
  });

  it("拒绝 ends on wecred's error page, never on the landing page", async () => {
    await open(MP.appid, { scope: 'snsapi_userinfo' });
    await page.getByRole('link', { name: '拒绝' }).click();
    await page.waitForURL((u) => u.pathname.endsWith('/callback'));
    await expect(page.locator('h1').textContent()).resolves.toContain('微信登录失败');
    await expect(page.locator('#reason').textContent()).resolves.toBe('refused');
    expect(landing.hits).toEqual([]);
  });
});
