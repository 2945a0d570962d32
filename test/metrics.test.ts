/**
 * GET /metrics through the real server (docs/design.md §16): off without metrics.bearer, 401
 * without the token, Prometheus text a parser reads, counters that move with requests, upstream
 * calls, refreshes, lease waits and store errors, and the shared daily counters from the store.
 */
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../lib/config/load';
import { bootApp } from '../lib/gateway/boot';
import { silentLogger } from '../lib/log/logger';
import { createServerlessHandler } from '../lib/platform/serverless';
import { createMemoryStore } from '../lib/store/memory';
import { WechatSim } from '../sim';
import { loadEvent } from './support/events';
import { ADMIN, MP, MP2, REALM, type Stack, type StackOptions, startStack } from './support/stack';
import { switchable } from './support/switchable-store';

const BEARER = 'metrics-bearer-0123456789';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});
async function stackOf(opts: StackOptions = {}): Promise<Stack> {
  const s = await startStack({ ...opts, config: { metrics: { bearer: BEARER }, ...opts.config } });
  cleanup.push(() => s.close());
  return s;
}

const scrape = (s: Stack, auth: string | null = `Bearer ${BEARER}`) =>
  fetch(`${s.url}/metrics`, auth === null ? {} : { headers: { authorization: auth } });

/** The scrape, parsed: a sample's value by family name and labels (0 when absent). */
async function metrics(s: Stack) {
  const res = await scrape(s);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const families = parsePrometheusTextFormat(text);
  const find = (name: string, labels: Record<string, string>) =>
    families
      .find((f: ParsedFamily) => f.name === name)
      ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return {
    text,
    families,
    value: (name: string, labels: Record<string, string> = {}) => Number(find(name, labels)?.value ?? 0),
    /** A histogram's observations (the parser folds labelled histograms together, so from the text itself). */
    count: (name: string, labels: Record<string, string>) => {
      const set = Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      return Number(new RegExp(`^${name}_count\\{${set}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    },
  };
}

const jsapiConfig = (s: Stack, appid = MP.appid) => s.post(`/jsapi/${appid}/config`, { url: 'https://example.com/' });

describe('GET /metrics', () => {
  it('is no route without metrics.bearer, and 401 without the token or with another', async () => {
    const off = await startStack();
    cleanup.push(() => off.close());
    expect((await scrape(off)).status).toBe(404);

    const s = await stackOf();
    for (const auth of [
      null,
      'Bearer wrong-bearer-0123456789',
      BEARER,
      `Basic ${BEARER}`,
      `Basic Bearer ${BEARER}`,
      `Bearer ${BEARER} extra`,
    ]) {
      const res = await scrape(s, auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="wecred metrics"');
      expect(await res.json()).toMatchObject({
        error: { code: 'unsigned', message: 'GET /metrics needs the header Authorization: Bearer <metrics.bearer>' },
      });
    }
    expect((await scrape(s)).status).toBe(200);
    expect((await scrape(s, `bearer ${BEARER}`)).status).toBe(200); // the scheme's case does not matter
  });

  it('parses as Prometheus text, and its counters move with requests, upstream calls and refreshes', async () => {
    const s = await stackOf();
    const before = await metrics(s);
    expect(before.families.map((f) => [f.name, f.type])).toEqual(
      expect.arrayContaining([
        ['wecred_requests_total', 'COUNTER'],
        ['wecred_request_duration_seconds', 'HISTOGRAM'],
        ['wecred_upstream_calls_total', 'COUNTER'],
        ['wecred_refreshes_total', 'COUNTER'],
        ['wecred_lease_wait_seconds', 'HISTOGRAM'],
        ['wecred_store_errors_total', 'COUNTER'],
        ['wecred_fetches_today', 'GAUGE'],
        ['wecred_credential_state', 'GAUGE'],
      ]),
    );
    expect(before.value('wecred_requests_total', { route: 'jsapi_config', outcome: 'ok' })).toBe(0);

    for (let i = 0; i < 3; i++) expect((await jsapiConfig(s)).status).toBe(200);
    expect(
      (await s.envelope('access_token', { appid: MP.appid }, { ...REALM, secret: 'wrong-secret-0123456789' })).json
        .returnCode,
    ).toBe(7002);
    // WeChat refuses MP2's classic token: a configuration fault
    s.sim.fault('token', { errcode: 40125, errmsg: 'invalid appsecret' });
    expect((await s.envelope('access_token', { appid: MP2.appid })).json.returnCode).toBe(7302);

    const after = await metrics(s);
    expect(after.value('wecred_requests_total', { route: 'jsapi_config', outcome: 'ok' })).toBe(3);
    expect(after.count('wecred_request_duration_seconds', { route: 'jsapi_config' })).toBe(3);
    expect(after.value('wecred_requests_total', { route: 'access_token', outcome: 'bad_signature' })).toBe(1);
    expect(after.value('wecred_requests_total', { route: 'access_token', outcome: 'config_fault' })).toBe(1);
    expect(after.value('wecred_requests_total', { route: 'metrics', outcome: 'ok' })).toBe(1);
    expect(after.value('wecred_upstream_calls_total', { endpoint: 'cgi-bin/stable_token', errcode: '0' })).toBe(1);
    expect(after.value('wecred_upstream_calls_total', { endpoint: 'cgi-bin/ticket/getticket', errcode: '0' })).toBe(1);
    expect(after.value('wecred_upstream_calls_total', { endpoint: 'cgi-bin/token', errcode: '40125' })).toBe(1);
    expect(after.value('wecred_refreshes_total', { reason: 'refresh', result: 'ok' })).toBe(2);
    expect(after.value('wecred_refreshes_total', { reason: 'refresh', result: 'config_fault' })).toBe(1);
    // the shared figures, read from the store
    const token = `mp:${MP.appid}:token`;
    expect(after.value('wecred_fetches_today', { credential: token, reason: 'refresh' })).toBe(1);
    expect(
      after.value('wecred_fetches_today_by_caller', { credential: token, reason: 'refresh', caller: 'public' }),
    ).toBe(1);
    expect(after.value('wecred_credential_state', { credential: token, state: 'fresh' })).toBe(1);
    expect(after.value('wecred_credential_state', { credential: `mp:${MP2.appid}:token`, state: 'refused' })).toBe(1);
    expect(after.value('wecred_daily_budget', { credential: `mp:${MP2.appid}:token` })).toBe(2000);
    expect(after.value('wecred_force_budget', { credential: token })).toBe(20);
    expect(after.value('wecred_store_up')).toBe(1);
    expect(after.value('wecred_store_round_trip_seconds')).toBeLessThan(1); // seconds, not milliseconds
    for (const f of after.families) expect(f.help, f.name).toMatch(/\w/);
    expect(after.value('wecred_credential_expiry_timestamp_seconds', { credential: token })).toBeGreaterThan(
      s.sim.now() / 1000,
    );
    // nothing secret in it
    for (const secret of [MP.secret, MP2.secret, REALM.secret, ADMIN.secret, BEARER])
      expect(after.text).not.toContain(secret);
  });

  it("gives WeCom's hourly budgets: the calls of this hour and the last, against the limit", async () => {
    const corp = 'ww0123456789abcdef';
    const agent = { corpid: corp, agentid: '1000002', secret: 'wecom-agent-secret-1000002-aaaaaaa' };
    const s = await stackOf({ config: { work: [agent] } });
    s.sim.addWorkApp(corp, agent.agentid, agent.secret);
    const { json } = await s.envelope('work.agent_ticket', { corpid: corp, agentid: agent.agentid }, ADMIN);
    expect(json.returnCode).toBe(0);
    const m = await metrics(s);
    const scope = `work:${corp}:${agent.agentid}:agent_ticket`;
    expect(m.value('wecred_hourly_budget_used', { scope })).toBe(1);
    expect(m.value('wecred_hourly_budget_limit', { scope })).toBeGreaterThan(1);
  });

  it('counts a wait on another instance lease, and store errors, and says when the store does not answer', async () => {
    const { store, state } = switchable(createMemoryStore());
    const a = await stackOf({ store });
    const b = await stackOf({ store, sim: a.sim });
    a.sim.fault('stable_token', { delayMs: 400 });
    const [ra, rb] = await Promise.all([
      jsapiConfig(a),
      new Promise((r) => setTimeout(r, 100)).then(() => jsapiConfig(b)),
    ]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(a.sim.calls('stable_token')).toBe(1);
    const waited = await metrics(b);
    expect(waited.count('wecred_lease_wait_seconds', { outcome: 'released' })).toBeGreaterThanOrEqual(1);

    state.down = 'error';
    expect((await a.envelope('status', {}, ADMIN)).json.returnCode).toBe(7201);
    const down = await metrics(a);
    expect(down.value('wecred_store_errors_total', { error: 'ECONNREFUSED' })).toBeGreaterThanOrEqual(1);
    expect(down.value('wecred_store_up')).toBe(0);
    expect(down.value('wecred_requests_total', { route: 'status', outcome: 'store_unavailable' })).toBe(1);
  });
});

describe('on SCF and Lambda', () => {
  async function serverless(metrics: Record<string, unknown>) {
    const sim = await WechatSim.start();
    sim.addApp(MP.appid, MP.secret);
    const config = parseConfig(
      { apps: [{ ...MP, type: 'mp' }], store: 'memory:', upstream: { mp: sim.url }, metrics },
      {},
    );
    const app = await bootApp(config, { clock: () => sim.now(), log: silentLogger });
    cleanup.push(
      () => app.close(),
      () => sim.close(),
    );
    const lines: string[] = [];
    const handler = createServerlessHandler(async () => app, { metricsOut: (line) => lines.push(line) });
    const ping = () => handler({ ...loadEvent('scf-url'), path: '/ping', httpMethod: 'GET', body: '' }, {} as never);
    return { lines, ping, timer: () => handler(loadEvent('scf-timer'), {} as never) };
  }

  /** The line, checked as CloudWatch reads it: every metric a directive names is a number at the root. */
  function emf(line: string): Record<string, unknown> {
    const doc = JSON.parse(line) as Record<string, any>;
    expect(doc.Service).toBe('wecred');
    for (const d of doc._aws.CloudWatchMetrics) {
      expect(d).toMatchObject({ Namespace: 'wecred', Dimensions: [['Service']] });
      expect(d.Metrics.length).toBeLessThanOrEqual(100);
      for (const m of d.Metrics) expect(typeof doc[m.Name]).toBe('number');
    }
    expect(typeof doc._aws.Timestamp).toBe('number');
    return doc;
  }

  it("writes one line in CloudWatch's embedded metric format per invocation: what changed since, and the shared figures after a timer", async () => {
    const { lines, ping, timer } = await serverless({ log: true });
    await ping();
    await ping();
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const doc = emf(line);
      expect(doc['requests.ping.ok']).toBe(1);
      expect(doc['request_duration_seconds.ping']).toBeGreaterThan(0);
      expect(doc).not.toHaveProperty(['fetches_today.mp:wx1111111111111111:token.refresh']);
    }
    await timer();
    const doc = emf(lines[2]!);
    expect(doc).not.toHaveProperty(['requests.ping.ok']);
    expect(doc['refreshes.refresh.ok']).toBe(1);
    expect(doc['upstream_calls.cgi-bin/stable_token.0']).toBe(1);
    expect(doc[`fetches_today.mp:${MP.appid}:token.refresh`]).toBe(1);
    expect(doc[`credential_state.mp:${MP.appid}:token.fresh`]).toBe(1);
    expect(doc.store_up).toBe(1);
    expect(lines[2]).not.toContain(MP.secret);
  });

  it('writes nothing without metrics.log', async () => {
    const { lines, ping, timer } = await serverless({ bearer: BEARER });
    await ping();
    await timer();
    expect(lines).toEqual([]);
  });
});
