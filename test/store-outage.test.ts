/**
 * A store outage is not a token outage (docs/design.md §5, §6.3): three real wecred processes under
 * steady load share a store behind a fault proxy, which blackholes it for 30 s, lets it back, then
 * resets it for 30 s. Every request is answered within its budget, those for tokens in memory keep
 * succeeding, nothing more is fetched upstream, and a new credential works within 1 s of the
 * store's return. The three networked stores run at once.
 */
import { performance } from 'node:perf_hooks';
import { describe, it } from 'vitest';
import { STORE_TIMEOUT_MS } from '../lib/store/guard';
import { WechatSim } from '../sim';
import { type ProxyMode, proxyStore } from './support/fault-proxy';
import { type ServerProcess, signedEnvelope, startServerProcess } from './support/processes';
import { MP, MP2, REALM } from './support/stack';
import { SHARED_STORES } from './support/stores';

const OUTAGE_MS = 30_000;
const PROCESSES = 3;
/** Concurrent request loops per process, and the pause between one loop's requests. */
const LOOPS = 2;
const PAUSE_MS = 100;
/** The default request budget (upstream.budgetMs). */
const BUDGET_MS = 10_000;

interface Answer {
  ms: number;
  returnCode: number;
  code?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function ask(server: ServerProcess, interfaceName: string, para: Record<string, unknown>): Promise<Answer> {
  const started = performance.now();
  const json = await signedEnvelope(server, interfaceName, para);
  return { ms: performance.now() - started, returnCode: json.returnCode, code: json.error?.code };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0);
};

describe.concurrent('three wecred processes under load while their store is away', () => {
  it.for(SHARED_STORES.filter((s) => s.name !== 'file'))(
    '$name: blackholed, then reset, for 30 s each',
    { timeout: 180_000 },
    async ({ open }, { expect, skip, annotate }) => {
      const backing = await open();
      if (!backing) {
        skip();
        return;
      }
      const { url, proxy } = await proxyStore(backing.url);
      const sim = await WechatSim.start();
      const servers: ServerProcess[] = [];
      let loading = true;
      let loops: Promise<void>[] = [];
      try {
        sim.addApp(MP.appid, MP.secret);
        sim.addApp(MP2.appid, MP2.secret);
        const config = JSON.stringify({
          apps: [
            { ...MP, type: 'mp' },
            { ...MP2, type: 'mp' },
          ],
          realms: [REALM],
          store: url,
          upstream: { mp: sim.url },
        });
        servers.push(
          ...(await Promise.all(
            Array.from({ length: PROCESSES }, () => startServerProcess({ ...backing.env, WECRED_CONFIG_JSON: config })),
          )),
        );
        // Both tokens fetched (once each) and in every process's memory.
        for (const server of servers) {
          for (const appid of [MP.appid, MP2.appid])
            expect((await ask(server, 'access_token', { appid })).returnCode).toBe(0);
        }
        expect(sim.calls('stable_token')).toBe(2);

        // Steady load for the tokens in memory, from every process.
        const answers: Answer[] = [];
        loops = servers.flatMap((server) =>
          Array.from({ length: LOOPS }, async (_, i) => {
            for (let n = i; loading; n++) {
              answers.push(await ask(server, 'access_token', { appid: n % 2 === 0 ? MP.appid : MP2.appid }));
              await sleep(PAUSE_MS);
            }
          }),
        );

        /** The store away for 30 s, asked now and then for a credential nobody fetched yet; then back. */
        const outage = async (mode: ProxyMode, cold: Record<string, unknown>, fresh: Record<string, unknown>) => {
          await sleep(2_000);
          const from = answers.length;
          await proxy.set(mode);
          const away = performance.now();
          const reported: Answer[] = [];
          for (let i = 0; performance.now() - away < OUTAGE_MS; i++) {
            reported.push(await ask(servers[i % PROCESSES]!, 'ticket', cold));
            await sleep(2_000);
          }
          await proxy.set('forward');
          const back = performance.now();
          // A credential nobody fetched yet: the store must be read, leased and written again.
          let recovered: Answer;
          for (let i = 0; ; i++) {
            recovered = await ask(servers[i % PROCESSES]!, 'ticket', fresh);
            if (recovered.returnCode === 0) break;
          }
          const recoveryMs = performance.now() - back;
          await sleep(2_000);
          const during = answers.slice(from);
          const ms = during.map((a) => a.ms);
          await annotate(
            `${mode}: ${during.length} requests, p50 ${percentile(ms, 50)} ms, p99 ${percentile(ms, 99)} ms, max ${percentile(ms, 100)} ms; ` +
              `a cold credential answered ${reported[0]?.code} in ${percentile(
                reported.map((r) => r.ms),
                0,
              )}–${percentile(
                reported.map((r) => r.ms),
                100,
              )} ms; back in ${Math.round(recoveryMs)} ms`,
          );
          expect(during.filter((a) => a.returnCode !== 0)).toEqual([]);
          expect(Math.max(...ms)).toBeLessThan(BUDGET_MS);
          for (const r of reported) {
            expect(r).toMatchObject({ returnCode: 7201, code: 'store_unavailable' });
            expect(r.ms).toBeLessThan(2 * STORE_TIMEOUT_MS); // two store calls at most: the nonce, the row
          }
          expect(recoveryMs).toBeLessThan(1_000);
        };

        await outage('blackhole', { appid: MP2.appid, type: 'wx_card' }, { appid: MP.appid, type: 'jsapi' });
        await outage('reset', { appid: MP2.appid, type: 'wx_card' }, { appid: MP2.appid, type: 'jsapi' });
        loading = false;
        await Promise.all(loops);
        expect(sim.calls('stable_token')).toBe(2); // nothing refreshed without the store
        expect(sim.calls('getticket')).toBe(2); // the two new credentials, once each
      } finally {
        loading = false;
        await Promise.allSettled(loops);
        await Promise.all(servers.map((s) => s.stop()));
        await sim.close();
        await proxy.close();
        await backing.close();
      }
    },
  );
});
