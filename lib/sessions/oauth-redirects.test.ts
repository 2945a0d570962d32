import { describe, expect, it } from 'vitest';
import { allowedRedirect, warnLoosePattern } from './oauth-redirects';

describe('allowedRedirect', () => {
  it('matches the whole normalised URL case-insensitively', () => {
    const patterns = ['https://app\\.example\\.com/Landing.*'];
    expect(allowedRedirect(patterns, 'https://APP.example.com/landing?x=1')).toBe(
      'https://app.example.com/landing?x=1',
    );
    expect(allowedRedirect(patterns, 'https://app.example.com:443/landing')).toBe('https://app.example.com/landing');
  });

  it('takes URLs up to 2048 characters', () => {
    const patterns = ['https://app\\.example\\.com/.*'];
    const at = (n: number) => `https://app.example.com/${'x'.repeat(n - 'https://app.example.com/'.length)}`;
    expect(allowedRedirect(patterns, at(2048))).toBe(at(2048));
    expect(allowedRedirect(patterns, at(2049))).toBeNull();
  });

  it('refuses other schemes and userinfo, however the pattern reads', () => {
    const patterns = ['[a-z]+://([^/]*@)?app\\.example\\.com/.*'];
    expect(allowedRedirect(patterns, 'https://app.example.com/x')).toBe('https://app.example.com/x');
    for (const raw of [
      'ftp://app.example.com/x',
      'https://user@app.example.com/x',
      'https://:pass@app.example.com/x',
      'https://user:pass@app.example.com/x',
    ])
      expect(allowedRedirect(patterns, raw), raw).toBeNull();
  });

  it('probes with the port kept, and glues a foreign label onto two-label hosts', () => {
    const loose: number[] = [];
    expect(allowedRedirect(['https://.*:8443/.*'], 'https://app.example.com:8443/x', (i) => loose.push(i))).toBeNull();
    expect(allowedRedirect(['https://.*example\\.com/.*'], 'https://example.com/x', (i) => loose.push(i))).toBeNull();
    expect(loose).toEqual([0, 0]);
    // a single-label host has no label to glue a foreign one to
    expect(allowedRedirect(['http://.*localhost/.*'], 'http://localhost/x')).toBe('http://localhost/x');
  });
});

describe('warnLoosePattern', () => {
  it('logs one warning naming the pattern by index, and does nothing without a logger', () => {
    const lines: unknown[] = [];
    warnLoosePattern({ log: (level, event, fields) => lines.push({ level, event, ...fields }) })(2);
    expect(lines).toEqual([
      {
        level: 'warn',
        event: 'oauth_redirect_pattern_loose',
        pattern: 'oauth.redirects[2]',
        note: 'does not pin the host, so it allows nothing',
      },
    ]);
    expect(() => warnLoosePattern(undefined)(0)).not.toThrow();
  });
});
