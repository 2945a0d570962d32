/**
 * A third-party platform's authorization in Debian's chromium (playwright-core): the install link,
 * the simulator's consent page, 授权, our callback, an allow-listed landing page holding a result
 * that verifies; then the account cancels and its appid is refused. docs/design.md §19.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyComponentResult } from '../lib/third-party/component-flow';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './support/chromium';
import { AUTHORIZER, COMPONENT, PARTNER, startComponentStack } from './support/component-stack';
import { OAUTH_SECRET } from './support/oauth-stack';
import type { Stack } from './support/stack';

describe.skipIf(!haveChromium)('a component authorized in chromium', () => {
  let browser: Browser;
  let stack: Stack;
  let landing: Server;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await new Promise((resolve) => landing?.close(resolve));
  });

  it('install link → WeChat consent page → 授权 → callback → landing page; cancelling makes the appid unusable', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    const hits: string[] = [];
    landing = createServer((req, res) => {
      if (req.url !== '/favicon.ico') hits.push(req.url ?? '');
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><h1 id="landed">授权成功</h1>');
    });
    await new Promise<void>((resolve) => landing.listen(0, '127.0.0.1', resolve));
    const landingUrl = `http://127.0.0.1:${(landing.address() as AddressInfo).port}/landing`;

    const links = await stack.envelope(
      'component.authorize_url',
      { redirect_uri: `${landingUrl}?from=browser`, state: 'install1', auth_type: 1 },
      PARTNER,
    );
    expect(links.json.returnCode).toBe(0);
    const page = await (await browser.newContext()).newPage();
    await page.goto(links.json.returnData.pc_url);
    expect(page.url()).toContain(`${stack.sim.url}/cgi-bin/componentloginpage?component_appid=${COMPONENT.appid}`);
    await expect(page.locator('#account').textContent()).resolves.toBe(AUTHORIZER);
    await page.getByRole('link', { name: '授权' }).click();
    await page.waitForURL((u) => u.pathname === '/landing');
    await expect(page.locator('#landed').textContent()).resolves.toBe('授权成功');

    const url = new URL(page.url());
    expect(hits).toEqual([url.pathname + url.search]);
    expect(url.searchParams.get('from')).toBe('browser');
    expect(url.searchParams.get('state')).toBe('install1');
    const checked = verifyComponentResult(url.searchParams.get('wecred_component')!, OAUTH_SECRET, stack.sim.now());
    expect(checked).toMatchObject({
      ok: true,
      result: { component_appid: COMPONENT.appid, authorizer_appid: AUTHORIZER, state: 'install1' },
    });
    await page.context().close();

    const pageUrl = 'https://app.example.com/page';
    const config = await stack.envelope('jsapi.config', { appid: AUTHORIZER, url: pageUrl }, null);
    expect(config.json.returnCode).toBe(0);
    expect(stack.sim.verifyJsapiSignature({ appid: AUTHORIZER, url: pageUrl, ...config.json.returnData })).toBe(true);

    await stack.sim.componentUnauthorize(COMPONENT.appid, AUTHORIZER);
    const refused = await stack.envelope('jsapi.config', { appid: AUTHORIZER, url: pageUrl }, null);
    expect(refused.json).toMatchObject({ returnCode: 7303, error: { code: 'app_unauthorized' } });
  }, 60_000);
});
