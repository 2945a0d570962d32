/**
 * Public calls that spend an upstream call each (session.login's jscode2session; OAuth callbacks,
 * test/oauth.test.ts) are limited per client address, counted in the store. docs/design.md §11.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MINA, startMinaStack } from './support/mina-stack';
import type { Stack } from './support/stack';

const MINUTE = 60_000;

const stacks: Stack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0).reverse()) await s.close();
});

async function start(config: Record<string, unknown> = {}, shared: Partial<Pick<Stack, 'sim' | 'store'>> = {}) {
  const stack = await startMinaStack(config, shared);
  stacks.push(stack);
  return stack;
}

let users = 0;
/** session.login with a fresh user's code, from `address` when given (the header a trusted proxy sets). */
async function login(stack: Stack, address?: string): Promise<any> {
  const code = stack.sim.minaLogin(MINA.appid, `user${users++}`);
  const body = JSON.stringify({ interface: { interfaceName: 'session.login', para: { code } } });
  return (await stack.post('/', body, address ? { 'x-real-ip': address } : {})).json;
}

describe('session.login per client address', () => {
  it('passes 120 a minute from one address; the 121st is refused with 7106 before WeChat is called; the next minute it passes', async () => {
    const stack = await start();
    stack.sim.advance(MINUTE - (stack.sim.now() % MINUTE) + 1000); // a second into a minute
    for (let i = 0; i < 120; i++) expect((await login(stack)).returnCode).toBe(0);
    const refused = await login(stack);
    expect(refused).toMatchObject({ returnCode: 7106, returnData: '', error: { code: 'rate_limited' } });
    expect(refused.returnMessage).toMatch(/at most 120 a minute/);
    expect(stack.sim.calls('jscode2session', MINA.appid)).toBe(120);
    stack.sim.advance(MINUTE);
    expect((await login(stack)).returnCode).toBe(0);
  });

  it('tells addresses apart (IPv6 by /64) through clients.addressHeader, the same on every instance of a store', async () => {
    const config = { clients: { loginsPerMinute: 2, addressHeader: 'x-real-ip' } };
    const a = await start(config);
    const b = await start(config, { sim: a.sim, store: a.store });
    a.sim.advance(MINUTE - (a.sim.now() % MINUTE) + 1000);
    const codes = async (stack: Stack, address: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await login(stack, address)).returnCode);
      return out;
    };
    expect(await codes(a, '203.0.113.1', 1)).toEqual([0]);
    expect(await codes(b, '203.0.113.1', 2)).toEqual([0, 7106]);
    expect(await codes(a, '203.0.113.2', 1)).toEqual([0]);
    expect(await codes(a, '2001:db8::1', 2)).toEqual([0, 0]);
    expect(await codes(b, '2001:db8:0:0:ffff::2', 1)).toEqual([7106]); // the same /64
    expect(await codes(a, '2001:db8:0:1::1', 1)).toEqual([0]);
  });

  it('clients.loginsPerMinute 0 sets no limit', async () => {
    const stack = await start({ clients: { loginsPerMinute: 0 } });
    for (let i = 0; i < 130; i++) expect((await login(stack)).returnCode).toBe(0);
  });
});
