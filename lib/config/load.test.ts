import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEMO_APPS,
  DEMO_REALM,
  DEMO_WORK,
  demoConfig,
  jsonProblem,
  loadConfig,
  parseConfig,
} from './load';

const A = 'wx1234567890abcdef';
const B = 'wxabcdef1234567890';
const C = 'wx00000000000000cc';
const file = (appid: string) => JSON.stringify({ apps: [{ appid, secret: 'FILE-SECRET-VALUE' }] });

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'wecred-config-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

async function loadError(env: NodeJS.ProcessEnv): Promise<ConfigError> {
  const err = await loadConfig(env, cwd).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('loadConfig sources', () => {
  it('prefers WECRED_CONFIG_JSON over everything', async () => {
    await writeFile(join(cwd, 'wecred.json'), file(C));
    await writeFile(join(cwd, 'other.json'), file(B));
    const c = await loadConfig({ WECRED_CONFIG_JSON: file(A), WECRED_CONFIG: 'other.json' }, cwd);
    expect(c?.apps[0]?.appid).toBe(A);
  });

  it('then WECRED_CONFIG, relative to cwd', async () => {
    await writeFile(join(cwd, 'wecred.json'), file(C));
    await mkdir(join(cwd, 'conf'));
    await writeFile(join(cwd, 'conf', 'other.json'), file(B));
    expect((await loadConfig({ WECRED_CONFIG: 'conf/other.json' }, cwd))?.apps[0]?.appid).toBe(B);
    expect((await loadConfig({ WECRED_CONFIG: join(cwd, 'conf', 'other.json') }, '/'))?.apps[0]?.appid).toBe(B);
  });

  it('fails when WECRED_CONFIG names a missing file', async () => {
    await writeFile(join(cwd, 'wecred.json'), file(C));
    const err = await loadError({ WECRED_CONFIG: 'missing.json' });
    expect(err.message).toBe(`config: WECRED_CONFIG: file not found (${join(cwd, 'missing.json')})`);
  });

  it('then WECRED_CONFIG as a secret reference holding the whole JSON, fetched once with the references inside', async () => {
    const fetched: string[] = [];
    const sources = {
      'ssm:': (name: string) => {
        fetched.push(name);
        return name === 'wecred-config' ? JSON.stringify({ apps: [{ appid: A, secret: 'ssm:mp-secret' }] }) : 'S3CRET';
      },
    };
    const c = await loadConfig({ WECRED_CONFIG: 'ssm:wecred-config' }, cwd, sources);
    expect(c?.apps[0]).toMatchObject({ appid: A, secret: 'S3CRET' });
    expect(fetched).toEqual(['wecred-config', 'mp-secret']);

    const broken = { 'ssm:': () => '{"apps": [' };
    const err = await loadConfig({ WECRED_CONFIG: 'ssm:wecred-config' }, cwd, broken).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^config: ssm:wecred-config: not valid JSON \(/);
    const missing = await loadConfig({ WECRED_CONFIG: 'ssm:wecred-config' }, cwd, {}).catch((e: unknown) => e);
    expect((missing as Error).message).toBe(
      'config: WECRED_CONFIG: ssm:wecred-config: loadConfig was given no source for ssm: references',
    );
  });

  it('then ./wecred.json in cwd', async () => {
    await writeFile(join(cwd, 'wecred.json'), file(C));
    expect((await loadConfig({}, cwd))?.apps[0]?.appid).toBe(C);
    // Empty variables count as unset.
    expect((await loadConfig({ WECRED_CONFIG_JSON: '', WECRED_CONFIG: '' }, cwd))?.apps[0]?.appid).toBe(C);
  });

  it('returns null when there is no config anywhere', async () => {
    expect(await loadConfig({}, cwd)).toBeNull();
  });

  it('applies environment overrides to a loaded file', async () => {
    await writeFile(join(cwd, 'wecred.json'), JSON.stringify({ apps: [{ appid: A, secret: 'env:WX_SECRET' }] }));
    const c = await loadConfig({ WX_SECRET: 'resolved', WECRED_STORE: 'memory:' }, cwd);
    expect(c?.apps[0]?.secret).toBe('resolved');
    expect(c?.store).toBe('memory:');
  });

  it('reports validation errors from a file', async () => {
    await writeFile(join(cwd, 'wecred.json'), JSON.stringify({ apps: [{ appid: A, secret: '' }] }));
    expect((await loadError({})).message).toBe('config: apps[0].secret: must be a non-empty string');
  });

  it('reports a file that is not JSON, without quoting its content', async () => {
    const path = join(cwd, 'wecred.json');
    await writeFile(path, '{\n  "apps": [{"appid": "wx1234567890abcdef", "secret": "TOP-SECRET-VALUE"},]\n}');
    const err = await loadError({});
    expect(err.message).toMatch(
      new RegExp(`^config: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON \\(.+\\)$`),
    );
    expect(err.message).not.toContain('TOP-SECRET');
    expect(err.message).not.toContain('\n');
  });

  it('reports bad inline JSON by variable name', async () => {
    const err = await loadError({ WECRED_CONFIG_JSON: '{"apps": [{"secret": TOP-SECRET}]}' });
    expect(err.message).toMatch(/^config: WECRED_CONFIG_JSON: not valid JSON \(.+\)$/);
    expect(err.message).not.toContain('TOP-SECRET');
    expect(err.message).not.toContain('OP-SEC');
  });

  it('reports a WECRED_CONFIG that cannot be read', async () => {
    await mkdir(join(cwd, 'dir.json'));
    expect((await loadError({ WECRED_CONFIG: 'dir.json' })).message).toBe(
      `config: ${join(cwd, 'dir.json')}: cannot read (EISDIR)`,
    );
  });

  it('accepts a byte-order mark', async () => {
    await writeFile(join(cwd, 'wecred.json'), `\uFEFF${file(A)}`);
    expect((await loadConfig({}, cwd))?.apps[0]?.appid).toBe(A);
  });
});

describe('jsonProblem', () => {
  const problem = (text: string) => {
    try {
      JSON.parse(text);
    } catch (err) {
      return jsonProblem(err, text);
    }
    throw new Error('parsed');
  };

  it('says where, never what', () => {
    expect(problem('')).toBe('unexpected end of JSON input');
    expect(problem('{"a":1')).toMatch(/^expected .* at line 1, column 7$/);
    expect(problem('{\n"a": 1\n"b": 2}')).toMatch(/at line 3, column 1$/);
    const leaky = problem('{"secret": "SECRETVALUE"},');
    expect(leaky).not.toContain('SECRET');
    const bare = problem('{"secret": SECRETVALUE}');
    expect(bare).not.toMatch(/SECRET|'S'/);
  });
});

describe('demoConfig', () => {
  it('runs two demo apps, a WeCom agent and an admin realm against the simulator', () => {
    const c = demoConfig('http://127.0.0.1:4010/', {});
    expect(c.demo).toBe(true);
    expect(c.apps).toEqual(DEMO_APPS);
    expect(c.apps.map((a) => [a.type, a.default])).toEqual([
      ['mp', true],
      ['mina', false],
    ]);
    for (const a of c.apps) {
      expect(a.appid).toMatch(/^wx[0-9a-zA-Z]{16}$/);
      expect(a.secret.length).toBeGreaterThan(0);
    }
    expect(c.realms).toEqual([DEMO_REALM]);
    expect(DEMO_REALM.key).toBe('demo');
    expect(DEMO_REALM.secret).toHaveLength(32);
    expect(DEMO_REALM.admin).toBe(true);
    expect(c.upstream.mp).toBe('http://127.0.0.1:4010');
    expect(c.upstream.work).toBe('http://127.0.0.1:4010');
    expect(c.store).toBe('file:./.wecred');
    expect(c.cors).toEqual([]);
    expect(c.trustGateway).toBe(false);
    expect(c.work).toEqual(DEMO_WORK);
    expect(c.work[0]?.corpid).toMatch(/^ww[0-9a-zA-Z]+$/);
  });

  it('is a config that passes validation', () => {
    const c = demoConfig('http://127.0.0.1:4010', {});
    const { demo, masterKey, ...rest } = c;
    expect(demo).toBe(true);
    expect(masterKey).toHaveLength(32); // demo sessions and agents are sealed like real ones
    // upstream.sts is kept in its parts; a file names it as a URL.
    const { protocol, host } = rest.upstream.sts;
    expect(parseConfig({ ...rest, upstream: { ...rest.upstream, sts: `${protocol}//${host}` } }, {})).toEqual({
      ...rest,
      demo: false,
    });
  });

  it('honours WECRED_STORE but keeps the simulator as upstream', () => {
    const c = demoConfig('http://127.0.0.1:4010', {
      WECRED_STORE: 'memory:',
      WECHAT_API_BASE: 'https://api.weixin.qq.com',
    });
    expect(c.store).toBe('memory:');
    expect(c.upstream.mp).toBe('http://127.0.0.1:4010');
  });

  it('does not share mutable state with DEMO_APPS', () => {
    const c = demoConfig('http://127.0.0.1:4010', {});
    c.apps[0]!.secret = 'changed';
    c.realms[0]!.apps.push('x');
    expect(DEMO_APPS[0]?.secret).not.toBe('changed');
    expect(DEMO_REALM.apps).toEqual([]);
  });
});
