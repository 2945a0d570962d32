import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, MP, MP2, startStack, type Stack } from './support/stack';

let stack: Stack;
afterEach(() => stack?.close());

describe('structured logs', () => {
  it('write one line per request with route, caller, outcome, duration and upstream calls, and never a secret, token or ticket', async () => {
    stack = await startStack();
    const token = (await stack.envelope('access_token', { appid: MP.appid })).json.returnData.access_token;
    const cfg = (await stack.post(`/jsapi/${MP.appid}/config?debug=1`, { url: 'https://example.com/' })).json;
    const ticket = (await stack.envelope('ticket', { appid: MP.appid })).json.returnData.ticket;
    await stack.envelope('access_token', { appid: MP.appid, force: true, stale: token });
    await stack.envelope('status', {}, ADMIN);
    stack.sim.fault('token', { errcode: 40125, errmsg: 'invalid appsecret' });
    await stack.envelope('access_token', { appid: MP2.appid });
    await stack.post('/', '{not json');

    const requests = stack.logs.filter((l) => l.event === 'request');
    expect(requests).toHaveLength(7);
    expect(requests[0]).toMatchObject({
      level: 'info',
      method: 'POST',
      path: '/',
      route: 'access_token',
      caller: 'biz',
      status: 200,
      returnCode: 0,
      upstream: 1,
    });
    expect(typeof requests[0]!.ms).toBe('number');
    expect(requests[1]).toMatchObject({
      path: `/jsapi/${MP.appid}/config`,
      route: 'jsapi_config',
      caller: 'public',
      status: 200,
      upstream: 1,
    });
    expect(requests[4]).toMatchObject({ route: 'status', caller: 'ops' });
    expect(requests[5]).toMatchObject({ route: 'access_token', returnCode: 7302 });
    expect(requests[6]).toMatchObject({ route: 'envelope', returnCode: 1009 });

    const all = stack.logs.map((l) => JSON.stringify(l)).join('\n');
    for (const secret of [
      token,
      ticket,
      cfg.signature,
      MP.secret,
      MP2.secret,
      ...stack.config.realms.map((r) => r.secret),
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
