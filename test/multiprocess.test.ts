import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WechatSim } from '../sim';
import { startServerProcess, type ServerProcess } from './processes';
import { MP } from './stack';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('two processes sharing one file store', () => {
  it('300 concurrent cold requests split over both: exactly one token and one ticket fetch, every signature valid', async () => {
    const sim = await WechatSim.start();
    cleanup.push(() => sim.close());
    sim.addApp(MP.appid, MP.secret);
    const dir = await mkdtemp(join(tmpdir(), 'wecred-mp-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const config = JSON.stringify({ apps: [{ ...MP, type: 'mp' }], store: `file:${dir}`, upstream: { mp: sim.url } });
    const servers: ServerProcess[] = await Promise.all([0, 1].map(() => startServerProcess({ WECRED_CONFIG_JSON: config })));
    cleanup.push(() => Promise.all(servers.map((s) => s.stop())));
    expect(sim.calls()).toBe(0);

    const url = 'https://example.com/shared?p=1';
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        fetch(`${servers[i % 2]!.url}/jsapi/${MP.appid}/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) }).then((r) => r.json() as Promise<any>),
      ),
    );
    expect(sim.calls('stable_token')).toBe(1);
    expect(sim.calls('getticket')).toBe(1);
    for (const a of answers) {
      expect(sim.verifyJsapiSignature({ appid: MP.appid, url, nonceStr: a.nonceStr, timestamp: a.timestamp, signature: a.signature })).toBe(true);
    }
  });
});
