import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

function capture() {
  const lines: string[] = [];
  return { log: createLogger((l) => lines.push(l), 'debug'), lines };
}

describe('logger', () => {
  it('writes one JSON object per line with time, level and event', () => {
    const { log, lines } = capture();
    log.log('info', 'request', { route: 'ping', status: 200, ms: 0.5 });
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!);
    expect(o).toMatchObject({ level: 'info', event: 'request', route: 'ping', status: 200, ms: 0.5 });
    expect(new Date(o.time).getTime()).toBeGreaterThan(0);
  });

  it('masks secrets, tokens, tickets, session keys and signatures at any depth, keeping counts and flags', () => {
    const { log, lines } = capture();
    log.log('warn', 'x', {
      secret: 's3cr3t',
      access_token: 'AT',
      nested: { jsapi_ticket: 'TK', session_key: 'SK', list: [{ Authorization: 'Bearer B' }] },
      signature: 'SIG',
      iv: 'IV',
      tokens: 3,
      stale: true,
      key: 'mp:wx1:token',
    });
    const line = lines[0]!;
    for (const leaked of ['s3cr3t', 'AT"', 'TK', 'SK', 'Bearer B', 'SIG', 'IV"']) expect(line).not.toContain(leaked);
    expect(JSON.parse(line)).toMatchObject({
      tokens: 3,
      stale: true,
      key: 'mp:wx1:token',
      nested: { jsapi_ticket: '[redacted]' },
    });
  });

  it('masks secrets nested under harmless names, with no sensitive name at the top: objects, arrays, any depth', () => {
    const { log, lines } = capture();
    log.log('error', 'upstream_failed', { error: { access_token: 'LEAK-1' } });
    log.log('error', 'x', { items: [{ jsapi_ticket: 'LEAK-2' }, 'plain'] });
    log.log('error', 'x', { a: { b: { c: { session_key: 'LEAK-3' } } } });
    log.log('error', 'x', { rows: [[{ secret: 'LEAK-4' }]], count: 2 });
    log.log('error', 'x', { outer: { list: [{ inner: { Authorization: 'Bearer LEAK-5' } }] } });
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).not.toContain('LEAK');
    expect(JSON.parse(lines[0]!)).toMatchObject({ error: { access_token: '[redacted]' } });
    expect(JSON.parse(lines[1]!)).toMatchObject({ items: [{ jsapi_ticket: '[redacted]' }, 'plain'] });
    expect(JSON.parse(lines[3]!)).toMatchObject({ rows: [[{ secret: '[redacted]' }]], count: 2 });
  });

  it('drops lines below its level', () => {
    const lines: string[] = [];
    const log = createLogger((l) => lines.push(l), 'warn');
    log.log('info', 'quiet');
    log.log('error', 'loud');
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['loud']);
  });
});
