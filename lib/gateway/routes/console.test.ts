/**
 * The console page as HTTP (docs/design.md §18): its headers keep it from running anything but its own script, from
 * being framed, cached, sniffed or followed by a referrer. The page in a browser: test/console.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { consoleRoute } from './console';
import { CONSOLE_SCRIPT } from './console-script';
import type { RouteContext } from './types';

describe('GET /console', () => {
  it('is a page that may run only its own script, never framed, cached, sniffed or followed by a referrer', async () => {
    const res = await consoleRoute.handle({} as RouteContext);
    expect(res.status).toBe(200);
    const { 'content-security-policy': csp, ...others } = res.headers;
    expect(others).toEqual({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    const directives = csp!.split('; ');
    const scriptHash = `'sha256-${createHash('sha256').update(CONSOLE_SCRIPT).digest('base64')}'`;
    expect(directives).toContain(`script-src ${scriptHash}`);
    expect(directives).toContain("default-src 'none'");
    expect(directives).toContain("connect-src 'self'");
    expect(directives).toContain("frame-ancestors 'none'");
    expect(res.body).toContain(`<script>${CONSOLE_SCRIPT}</script>`);
    expect(res.body.match(/<script/g)).toHaveLength(1);
  });
});
