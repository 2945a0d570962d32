import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from './load';
import { SecretProblem, type SecretSources } from './secret-source';
import { referencePrefix, resolveText } from './secrets';

describe('resolveText', () => {
  it('returns literals unchanged', () => {
    expect(resolveText('plain-secret', {})).toBe('plain-secret');
    expect(resolveText('ssmish:not-a-reference', {})).toBe('ssmish:not-a-reference');
    expect(referencePrefix('plain')).toBeUndefined();
  });

  it('resolves env:NAME from the given environment', () => {
    expect(resolveText('env:WX_SECRET', { WX_SECRET: 'from-env-value' })).toBe('from-env-value');
    expect(referencePrefix('env:WX_SECRET')).toBe('env:');
  });

  it('names the variable when it is missing or empty, or not a name', () => {
    for (const env of [{}, { WX_SECRET: '' }]) {
      expect(() => resolveText('env:WX_SECRET', env)).toThrow(
        new SecretProblem('environment variable WX_SECRET (from env:WX_SECRET) is not set or empty'),
      );
    }
    for (const text of ['env:', 'env:1BAD'])
      expect(() => resolveText(text, {})).toThrow('env: reference must name a variable (env:NAME)');
  });

  it('takes cloud references from what loadConfig resolved, and only from there', () => {
    expect(referencePrefix('ssm:wecred-app')).toBe('ssm:');
    expect(referencePrefix('secretsmanager:wecred/app')).toBe('secretsmanager:');
    expect(resolveText('ssm:wecred-app', {}, new Map([['ssm:wecred-app', 'resolved']]))).toBe('resolved');
    expect(() => resolveText('ssm:wecred-app', {})).toThrow(
      'ssm:wecred-app: ssm: references are resolved by loadConfig, before parseConfig',
    );
  });

  it('names the field when parseConfig meets one', () => {
    expect(() => parseConfig({ realms: [{ key: 'r', secret: 'env:' }] }, {})).toThrow(
      'config: realms[0].secret: env: reference must name a variable (env:NAME)',
    );
    expect(() => parseConfig({ work: [{ corpid: 'ww01', agentid: 1, secret: 'secretsmanager:w' }] }, {})).toThrow(
      'config: work[0].secret: secretsmanager:w: secretsmanager: references are resolved by loadConfig, before parseConfig',
    );
  });
});

describe('loadConfig with the secret sources it is given', () => {
  const APPID = 'wx1234567890abcdef';
  const APPID2 = 'wxabcdef1234567890';
  const VALUE = 'SOURCE-SECRET-VALUE-0123456789';

  /** A source answering `${name}-VALUE…` or what `answers` holds, counting its calls; an Error answer is thrown. */
  function fakeSource(answers: Record<string, string | Error> = {}) {
    const calls: string[] = [];
    const source = async (name: string) => {
      calls.push(name);
      const answer = answers[name] ?? `${name}-${VALUE}`;
      if (answer instanceof Error) throw answer;
      return answer;
    };
    return { calls, source };
  }
  const load = (config: unknown, sources: SecretSources, env: NodeJS.ProcessEnv = {}) =>
    loadConfig({ WECRED_CONFIG_JSON: JSON.stringify(config), ...env }, '/', sources);
  const loadError = async (config: unknown, sources: SecretSources, env: NodeJS.ProcessEnv = {}) => {
    const err = (await load(config, sources, env).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('ConfigError');
    expect(err.message).not.toContain(VALUE);
    return err.message;
  };

  it('resolves every secret field, WECRED_STORE and WECRED_MASTER_KEY, each distinct reference once', async () => {
    const key = Buffer.alloc(32, 7);
    const ssm = fakeSource({ store: 'mysql://wecred:PASSWORD@db/wecred' });
    const aws = fakeSource({ k: key.toString('hex') });
    const c = await load(
      {
        apps: [
          { appid: APPID, secret: 'ssm:app', token: 'secretsmanager:t' },
          { appid: APPID2, secret: 'ssm:app', token: 'env:TOKEN' },
        ],
        realms: [{ key: 'biz', secret: 'ssm:realm' }],
      },
      { 'ssm:': ssm.source, 'secretsmanager:': aws.source },
      { TOKEN: 'env-token', WECRED_STORE: 'ssm:store', WECRED_MASTER_KEY: 'secretsmanager:k' },
    );
    expect(c?.apps.map((a) => [a.secret, a.token])).toEqual([
      [`app-${VALUE}`, `t-${VALUE}`],
      [`app-${VALUE}`, 'env-token'],
    ]);
    expect(c?.realms[0]?.secret).toBe(`realm-${VALUE}`);
    expect(c?.store).toBe('mysql://wecred:PASSWORD@db/wecred');
    expect(c?.masterKey).toEqual(key);
    expect(ssm.calls.sort()).toEqual(['app', 'realm', 'store']);
    expect(aws.calls.sort()).toEqual(['k', 't']);
    await expect(
      load({ apps: [{ appid: APPID, secret: 's' }] }, { 'ssm:': fakeSource().source }, { WECRED_STORE: 'ssm:store' }),
    ).rejects.toThrow(
      'config: WECRED_STORE: must start with memory:, file:, mysql://, dynamodb:// or redis:// (the value of ssm:store)',
    );
  });

  it('reports the first field whose reference failed, naming the reference and never a value', async () => {
    const { source } = fakeSource({ 'missing-1': new SecretProblem('ssm:missing-1: no such secret') });
    expect(
      await loadError(
        {
          apps: [
            { appid: APPID, secret: 'ssm:fine' },
            { appid: APPID2, secret: 'ssm:missing-1' },
          ],
          realms: [{ key: 'biz', secret: 'ssm:missing-1' }],
        },
        { 'ssm:': source },
      ),
    ).toBe('config: apps[1].secret: ssm:missing-1: no such secret');
  });

  it("says what went wrong when a source fails without saying, keeping only the error's first line", async () => {
    const { source } = fakeSource({ x: new TypeError(`socket closed\n${VALUE}`) });
    expect(await loadError({ apps: [{ appid: APPID, secret: 'ssm:x' }] }, { 'ssm:': source })).toBe(
      'config: apps[0].secret: ssm:x: cannot be resolved (TypeError: socket closed)',
    );
  });

  it('says so when it was given no source for a reference', async () => {
    expect(await loadError({ apps: [{ appid: APPID, secret: 'secretsmanager:x' }] }, {})).toBe(
      'config: apps[0].secret: secretsmanager:x: loadConfig was given no source for secretsmanager: references',
    );
  });

  it('checks the shape of a resolved value without showing it', async () => {
    const { source } = fakeSource();
    expect(
      await loadError(
        { apps: [{ appid: APPID, secret: 's', token: 't', encodingAESKey: 'ssm:aes' }] },
        { 'ssm:': source },
      ),
    ).toBe('config: apps[0].encodingAESKey: must be 43 letters or digits (the value of ssm:aes)');
  });
});
