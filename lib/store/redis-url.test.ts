import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from './redis';

describe('redis store URL', () => {
  it('reads host, port, database, credentials, TLS and prefix, with their defaults', () => {
    expect(parseRedisUrl(' redis://127.0.0.1 ')).toEqual({
      options: { host: '127.0.0.1', port: 6379, db: 0 },
      prefix: 'wecred:',
      where: '127.0.0.1:6379/0',
    });
    expect(parseRedisUrl('rediss://u%40x:p%3Aw@[::1]:6380/3?prefix=app:')).toEqual({
      options: { host: '::1', port: 6380, db: 3, username: 'u@x', password: 'p:w', tls: {} },
      prefix: 'app:',
      where: '::1:6380/3',
    });
    expect(parseRedisUrl('redis://h/').options).toEqual({ host: 'h', port: 6379, db: 0 });
    expect(parseRedisUrl('redis://:secret@h').options).toEqual({ host: 'h', port: 6379, db: 0, password: 'secret' });
  });

  it('refuses what it cannot use, never quoting the URL', () => {
    for (const [url, said] of [
      ['http://h', 'unsupported scheme "http:"'],
      ['redis://h/x', 'the URL path must be a database number'],
      ['redis://h/-1', 'the URL path must be a database number'],
      ['redis://h?db=1', 'unknown URL parameter "db"'],
      ['redis://u:%zz@h', 'not valid percent-encoding'],
      ['redis://', 'the URL has no host'],
    ] as const) {
      expect(() => parseRedisUrl(url), url).toThrow(said);
    }
  });
});
