import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileStore } from '../lib/store/file';
import { WechatSim } from '../sim';
import { accessTokenEnvelope, startServerProcess, type ServerProcess } from './support/processes';
import { MP, REALM } from './support/stack';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A simulator, a fresh file store directory, and two real wecred processes sharing it. */
async function twoProcesses() {
  const sim = await WechatSim.start();
  cleanup.push(() => sim.close());
  sim.addApp(MP.appid, MP.secret);
  const dir = await mkdtemp(join(tmpdir(), 'wecred-mp-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const config = JSON.stringify({
    apps: [{ ...MP, type: 'mp' }],
    realms: [REALM],
    store: `file:${dir}`,
    upstream: { mp: sim.url },
  });
  const servers: ServerProcess[] = await Promise.all(
    [0, 1].map(() => startServerProcess({ WECRED_CONFIG_JSON: config })),
  );
  cleanup.push(() => Promise.all(servers.map((s) => s.stop())));
  return { sim, dir, servers };
}

/** Put a token into the shared store as if it had been fetched `ageMs` ago and dies at `expiresAt`. */
async function seedToken(dir: string, sim: WechatSim, ageMs: number, expiresAt: number): Promise<string> {
  const res = await fetch(`${sim.url}/cgi-bin/stable_token`, {
    method: 'POST',
    body: JSON.stringify({ grant_type: 'client_credential', appid: MP.appid, secret: MP.secret }),
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  const store = await createFileStore(dir);
  const key = `mp:${MP.appid}:token`;
  const now = Date.now();
  const leased = await store.acquireLease(key, 'seed');
  expect(
    await store.commit(key, 'seed', leased!.version, {
      value: token,
      expiresAt,
      refreshedAt: now - ageMs,
      forcedAt: 0,
    }),
  ).toBe(true);
  await store.close();
  sim.resetCalls();
  return token;
}

describe('two processes sharing one file store', () => {
  it('20 concurrent reports of the same rejected token over both: one rotation, everybody gets the new token', async () => {
    const { sim, dir, servers } = await twoProcesses();
    const stale = await seedToken(dir, sim, 60_000, Date.now() + 7000_000);
    sim.invalidateToken(stale); // WeChat rejects it: reports are checked with it before it is replaced
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => accessTokenEnvelope(servers[i % 2]!, { force: true, stale })),
    );
    expect(sim.calls('stable_token')).toBe(1);
    const tokens = new Set(answers.map((a) => a.returnData.access_token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(stale);
    expect(sim.tokenState(MP.appid, [...tokens][0] as string)).toBe('valid');
  });

  it('inside the refresh window, a burst over both processes is served and costs one upstream fetch, made beside it', async () => {
    const { sim, dir, servers } = await twoProcesses();
    await seedToken(dir, sim, 7000_000, Date.now() + 200_000);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => accessTokenEnvelope(servers[i % 2]!, {})));
    await expect.poll(() => sim.calls('stable_token'), { timeout: 5_000 }).toBe(1);
    const store = await createFileStore(dir);
    await expect.poll(async () => (await store.read(`mp:${MP.appid}:token`))?.version, { timeout: 5_000 }).toBe(2);
    await store.close();
    expect(sim.calls('stable_token')).toBe(1);
    for (const a of answers) {
      expect(a.returnCode).toBe(0);
      expect(sim.tokenState(MP.appid, a.returnData.access_token)).toBe('valid');
    }
  });
});
