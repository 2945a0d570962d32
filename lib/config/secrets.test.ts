import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { referencePrefix, resolveSecret, SECRET_RESOLVERS } from './secrets';

describe('resolveSecret', () => {
  it('returns literals unchanged', () => {
    expect(resolveSecret('plain-secret', 'apps[0].secret', {})).toBe('plain-secret');
    expect(resolveSecret('ssm:not-yet-a-reference', 'apps[0].secret', {})).toBe('ssm:not-yet-a-reference');
    expect(referencePrefix('plain')).toBeUndefined();
  });

  it('resolves env:NAME from the given environment', () => {
    expect(resolveSecret('env:WX_SECRET', 'apps[0].secret', { WX_SECRET: 'from-env-value' })).toBe('from-env-value');
    expect(referencePrefix('env:WX_SECRET')).toBe('env:');
  });

  it('names the field and the variable when it is missing or empty', () => {
    for (const env of [{}, { WX_SECRET: '' }]) {
      expect(() => resolveSecret('env:WX_SECRET', 'apps[0].secret', env)).toThrow(
        new ConfigError('apps[0].secret', 'environment variable WX_SECRET (from env:WX_SECRET) is not set or empty'),
      );
    }
    expect(() => resolveSecret('env:WX_SECRET', 'apps[0].secret', {})).toThrow(
      'config: apps[0].secret: environment variable WX_SECRET (from env:WX_SECRET) is not set or empty',
    );
  });

  it('rejects an env: reference without a valid variable name', () => {
    expect(() => resolveSecret('env:', 'realms[0].secret', {})).toThrow('config: realms[0].secret: env: reference must name a variable (env:NAME)');
    expect(() => resolveSecret('env:1BAD', 'realms[0].secret', {})).toThrow('config: realms[0].secret: env: reference must name a variable (env:NAME)');
  });

  it('is a table keyed by prefix', () => {
    expect(Object.keys(SECRET_RESOLVERS)).toEqual(['env:']);
  });
});
