import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_APPS, DEMO_REALM } from '../lib/config/load';
import { startServerProcess, type ServerProcess } from './support/processes';
import { signedHeaders } from './support/stack';

let server: ServerProcess;
let dir: string;
beforeAll(async () => {
  // A bare directory: no wecred.json, no WECRED_CONFIG*, as on a fresh clone.
  dir = await mkdtemp(join(tmpdir(), 'wecred-demo-'));
  server = await startServerProcess({}, dir);
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('npm start without configuration (demo mode)', () => {
  it('prints a banner saying the simulator stands in for WeChat', () => {
    expect(server.output()).toContain('DEMO MODE');
    expect(server.output()).toContain(DEMO_APPS[0]!.appid);
    expect(server.output()).toContain(`the console: ${server.url}/console (realm "demo"`);
  });

  it('serves the console page', async () => {
    const res = await fetch(`${server.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'sha256-/);
  });

  it('serves wx.config parameters and signed envelope calls from the embedded file store', async () => {
    const appid = DEMO_APPS[0]!.appid;
    const cfg = await fetch(`${server.url}/jsapi/${appid}/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"url":"https://example.com/"}',
    });
    expect(cfg.status).toBe(200);
    expect(await cfg.json()).toMatchObject({ appId: appid, url: 'https://example.com/' });

    const body = JSON.stringify({ interface: { interfaceName: 'status', para: {} } });
    const res = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedHeaders(DEMO_REALM, '/', body) },
      body,
    });
    const json = (await res.json()) as any;
    expect(json.returnCode).toBe(0);
    expect(json.returnData.store).toBe('file');
    expect(
      json.returnData.credentials.find((c: { key: string }) => c.key === `mp:${appid}:ticket:jsapi`),
    ).toMatchObject({ present: true });
  });

  it('logs a Mini Program user in: the simulator plays wx.login, session.login and session.check answer', async () => {
    const mina = DEMO_APPS.find((a) => a.type === 'mina')!;
    const simUrl = /simulator runs in-process at (http:\/\/[^\s]+?) and/.exec(server.output())?.[1];
    expect(simUrl).toBeDefined();
    const client = (await (await fetch(`${simUrl}/sim/wx.login?appid=${mina.appid}`)).json()) as {
      code: string;
      encryptedData: string;
      iv: string;
    };
    const envelope = async (interfaceName: string, para: unknown) =>
      (await (
        await fetch(`${server.url}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ interface: { interfaceName, para } }),
        })
      ).json()) as any;
    const login = await envelope('session.login', {
      code: client.code,
      encrypt_data: client.encryptedData,
      iv: client.iv,
    });
    expect(login.returnCode).toBe(0);
    expect(login.returnData.user_info.watermark.appid).toBe(mina.appid);
    const check = await envelope('session.check', { id: login.returnData.id, skey: login.returnData.skey });
    expect(check.returnCode).toBe(0);
    expect(check.returnData.user_info.openId).toBe(login.returnData.user_info.openId);
  });
});

describe('npm start without configuration but with production settings', () => {
  /** The server's exit and its output, or 'started' (and it is stopped) when it listened. */
  async function outcome(env: Record<string, string>): Promise<string> {
    try {
      const started = await startServerProcess(env, dir);
      await started.stop();
      return 'started';
    } catch (err) {
      return (err as Error).message;
    }
  }

  it('refuses demo mode when WECRED_STORE or WECRED_MASTER_KEY is set, with one line saying why', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    for (const env of [
      { WECRED_STORE: `file:${dir}/store` } as Record<string, string>,
      { WECRED_MASTER_KEY: key },
      { WECRED_STORE: 'memory:', WECRED_MASTER_KEY: key },
    ]) {
      const said = await outcome(env);
      expect(said, JSON.stringify(env)).toMatch(/^server exited with 1:\n[^\n]+\n$/);
      expect(said).toContain(Object.keys(env).join(' and '));
      expect(said).toContain('demo mode');
      expect(said).not.toContain(key);
    }
  }, 60_000);
});
