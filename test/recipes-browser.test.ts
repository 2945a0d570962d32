/**
 * The page-side recipes (examples/jssdk-page.ts, examples/wecom-jssdk-page.ts) in Debian's chromium, against a stubbed
 * WeixinJSBridge that answers ok only when the simulator verifies the page URL's signature with a ticket it issued;
 * the SDK's ready / error decides the outcome (docs/design.md §9).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './support/chromium';
import { MP, startStack, type Stack } from './support/stack';

const root = fileURLToPath(new URL('..', import.meta.url));
const AGENT = { corpid: 'ww0123456789abcdef', agentid: '1000002', secret: 'wecom-agent-secret-01' };
const WECHAT_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 MicroMessenger/8.0.47';
const WECOM_UA = `${WECHAT_UA} wxwork/4.1.22`;

interface BridgeCall {
  name: string;
  args: Record<string, any>;
  /** The page's URL as the client signs it: location.href without the fragment. */
  url: string;
}

/** Records each call and answers `name:ok` when the test's verdict (window.verdict) says so. */
const BRIDGE_STUB = `<script>
  window.bridgeCalls = [];
  window.WeixinJSBridge = {
    invoke(name, args, callback) {
      const call = { name, args, url: location.href.split('#')[0] };
      window.bridgeCalls.push(call);
      window.verdict(call).then((ok) => callback({ errMsg: name + (ok ? ':ok' : ':invalid signature') }));
    },
    on() {},
  };
</script>`;

/** The bundle of one page recipe, exposing `names` from it (and from the SDK) as window.recipe. */
async function bundle(source: string): Promise<string> {
  const out = await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts' },
    bundle: true,
    format: 'iife',
    globalName: 'recipe',
    platform: 'browser',
    target: 'chrome100',
    write: false,
    logLevel: 'warning',
  });
  return out.outputFiles[0]!.text;
}

describe.skipIf(!haveChromium)('JS-SDK page recipes in chromium', () => {
  let browser: Browser;
  let stack: Stack;
  let site: Server;
  let siteUrl: string;
  const scripts: Record<string, string> = {};

  beforeAll(async () => {
    [browser, stack, scripts.wx, scripts.ww] = await Promise.all([
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
      startStack({ config: { work: [AGENT] } }),
      bundle("export { configureWx } from './examples/jssdk-page';"),
      bundle(
        "export { registerWecom } from './examples/wecom-jssdk-page'; export { ensureAgentConfigReady, ensureCorpConfigReady } from '@wecom/jssdk';",
      ),
    ]);
    // The business site: /shop/<wx|ww>.html (any query) loads the stub, then the recipe, then `start`.
    site = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/(?:shop\/(wx|ww)\.html|(wx|ww)\.js)$/.exec(url.pathname);
      if (m?.[2]) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(scripts[m[2]]);
      if (!m?.[1]) return void res.writeHead(404).end();
      const start = url.searchParams.get('start') ?? '';
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          `<!doctype html><title>shop</title>${BRIDGE_STUB}<script src="/${m[1]}.js"></script><script>${start}</script>`,
        );
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await new Promise((resolve) => site?.close(resolve));
  });

  /** Opens the page in a client of user agent `ua`; `verdict` decides each bridge call. */
  async function open(ua: string, path: string, start: string, verdict: (c: BridgeCall) => boolean): Promise<Page> {
    const page = await (await browser.newContext({ userAgent: ua })).newPage();
    await page.exposeFunction('verdict', (c: BridgeCall) => verdict(c));
    const query = `${path.includes('?') ? '&' : '?'}start=${encodeURIComponent(start)}`;
    const [base, fragment] = path.split('#');
    await page.goto(`${siteUrl}${base}${query}${fragment === undefined ? '' : `#${fragment}`}`);
    return page;
  }

  const outcome = (page: Page) => page.evaluate(() => (globalThis as any).outcome as Promise<string>);
  const calls = (page: Page) => page.evaluate(() => (globalThis as any).bridgeCalls as BridgeCall[]);

  it("weixin-js-sdk: wx.config from POST /jsapi/:appid/config passes WeChat's check on a page with a query and a #fragment", async () => {
    const verify = (c: BridgeCall) =>
      c.name === 'preVerifyJSAPI' &&
      stack.sim.verifyJsapiSignature({
        appid: c.args.verifyAppId,
        url: c.url,
        nonceStr: c.args.verifyNonceStr,
        timestamp: Number(c.args.verifyTimestamp),
        signature: c.args.verifySignature,
      });
    const start = `window.outcome = recipe.configureWx(${JSON.stringify(stack.url)}, '${MP.appid}', ['updateAppMessageShareData'])
      .then(() => 'ready', (e) => 'error ' + JSON.stringify(e));`;
    const page = await open(WECHAT_UA, '/shop/wx.html?from=menu&id=7#/cart?step=2', start, verify);
    try {
      await expect(outcome(page)).resolves.toBe('ready');
      const [call, ...more] = await calls(page);
      expect(more).toEqual([]);
      expect(call!.url).toMatch(/\/shop\/wx\.html\?from=menu&id=7&start=/);
      expect(call!.args).toMatchObject({
        appId: MP.appid,
        verifyAppId: MP.appid,
        verifySignType: 'sha1',
        verifyJsApiList: ['updateAppMessageShareData'],
      });
      // the check is WeChat's: the same signature does not verify for another URL
      expect(verify({ ...call!, url: `${call!.url}&x=1` })).toBe(false);
    } finally {
      await page.context().close();
    }
  });

  it('weixin-js-sdk: a signature WeChat refuses ends in wx.error', async () => {
    const start = `window.outcome = recipe.configureWx(${JSON.stringify(stack.url)}, '${MP.appid}', [])
      .then(() => 'ready', (e) => 'error ' + e.errMsg);`;
    const page = await open(WECHAT_UA, '/shop/wx.html?id=8', start, () => false);
    try {
      await expect(outcome(page)).resolves.toBe('error preVerifyJSAPI:invalid signature');
    } finally {
      await page.context().close();
    }
  });

  it("@wecom/jssdk: ww.register's config and agentConfig signatures from work.jsapi.config pass WeCom's check", async () => {
    const verify = (c: BridgeCall) => {
      const kind = c.name === 'preVerifyJSAPI' ? 'jsapi' : c.name === 'agentConfig' ? 'agent_config' : undefined;
      if (!kind) return false;
      const a = c.args;
      return stack.sim.verifyWorkSignature({
        corpid: kind === 'jsapi' ? a.verifyAppId : a.corpid,
        agentid: kind === 'jsapi' ? AGENT.agentid : a.agentid,
        kind,
        url: c.url,
        nonceStr: kind === 'jsapi' ? a.verifyNonceStr : a.nonceStr,
        timestamp: Number(kind === 'jsapi' ? a.verifyTimestamp : a.timestamp),
        signature: kind === 'jsapi' ? a.verifySignature : a.signature,
      });
    };
    const agent = JSON.stringify({ corpid: AGENT.corpid, agentid: AGENT.agentid });
    const start = `recipe.registerWecom(${JSON.stringify(stack.url)}, ${agent}, ['getContext']);
      window.outcome = Promise.all([recipe.ensureAgentConfigReady(), recipe.ensureCorpConfigReady()])
        .then(() => 'ready', (e) => 'error ' + (e.errMsg || e.message));`;
    const page = await open(WECOM_UA, '/shop/ww.html?tab=orders#top', start, verify);
    try {
      await expect(outcome(page)).resolves.toBe('ready');
      const byName = Object.fromEntries((await calls(page)).map((c) => [c.name, c]));
      expect(Object.keys(byName).sort()).toEqual(['agentConfig', 'preVerifyJSAPI']);
      expect(byName.agentConfig!.args).toMatchObject({
        corpid: AGENT.corpid,
        agentid: AGENT.agentid,
        jsApiList: ['getContext'],
      });
      expect(byName.preVerifyJSAPI!.args).toMatchObject({ appId: AGENT.corpid, verifySignType: 'sha1' });
      expect(byName.agentConfig!.url).toMatch(/\/shop\/ww\.html\?tab=orders&start=/);
      // one work.jsapi.config call served both: the same timestamp and nonce, different tickets
      expect(byName.agentConfig!.args.nonceStr).toBe(byName.preVerifyJSAPI!.args.verifyNonceStr);
      expect(byName.agentConfig!.args.signature).not.toBe(byName.preVerifyJSAPI!.args.verifySignature);
    } finally {
      await page.context().close();
    }
  });
});
