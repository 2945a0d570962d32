import { afterEach, describe, expect, it } from 'vitest';
import { MP, MP2, startStack, type Stack } from './support/stack';

let stack: Stack;
afterEach(() => stack?.close());

describe('the scheduled refresh', () => {
  it('fetches every token, leaves fresh ones alone, refreshes those inside their window, and only tickets already in use', async () => {
    stack = await startStack();
    const cold = await stack.app.refresh();
    expect(cold).toMatchObject({ checked: 6, refreshed: 2, failed: [] });
    expect(stack.sim.calls('stable_token')).toBe(1);
    expect(stack.sim.calls('token')).toBe(1);
    expect(stack.sim.calls('getticket')).toBe(0);

    await stack.post(`/jsapi/${MP.appid}/config`, { url: 'https://example.com/' });
    expect(await stack.app.refresh()).toMatchObject({ refreshed: 0, failed: [] });

    stack.sim.advance(7200_000 - 200_000);
    const due = await stack.app.refresh();
    expect(due).toMatchObject({ refreshed: 3, failed: [] }); // two tokens and the one ticket in use
    expect(stack.sim.calls('getticket')).toBe(2);
    stack.sim.resetCalls();
    // Requests now meet fresh values: no upstream call.
    await stack.post(`/jsapi/${MP.appid}/config`, { url: 'https://example.com/' });
    await stack.envelope('access_token', { appid: MP2.appid });
    expect([stack.sim.calls('stable_token'), stack.sim.calls('token'), stack.sim.calls('getticket')]).toEqual([
      0, 0, 0,
    ]);
  });

  it('reports failures without throwing and without secrets', async () => {
    stack = await startStack();
    stack.sim.fault('token', { errcode: 40164, errmsg: 'invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist' });
    const report = await stack.app.refresh();
    expect(report.failed).toEqual([{ key: `mp:${MP2.appid}:token`, reason: 'config_fault (errcode 40164)' }]);
    expect(JSON.stringify(report)).not.toContain(stack.config.apps[1]!.secret);
  });
});

describe('a ticket WeChat will not renew before it expires', () => {
  it('costs at most one fetch a minute in its refresh window, is served to its last second, then is replaced', async () => {
    stack = await startStack();
    const body = { url: 'https://example.com/' };
    const sign = async () => (await stack.post(`/jsapi/${MP.appid}/config`, body)).json;
    await sign();
    expect(stack.sim.calls('getticket')).toBe(1);
    // Through the last 5 minutes of the ticket's life, a request every 5 s.
    stack.sim.advance(7200_000 - 300_000);
    for (let t = 0; t < 295; t += 5) {
      const cfg = await sign();
      expect(
        stack.sim.verifyJsapiSignature({
          appid: MP.appid,
          url: body.url,
          nonceStr: cfg.nonceStr,
          timestamp: cfg.timestamp,
          signature: cfg.signature,
        }),
      ).toBe(true);
      stack.sim.advance(5000);
    }
    expect(stack.sim.calls('getticket')).toBeLessThanOrEqual(1 + 6);
    stack.sim.advance(10_000); // past the first ticket's expiry
    const cfg = await sign();
    expect(
      stack.sim.verifyJsapiSignature({
        appid: MP.appid,
        url: body.url,
        nonceStr: cfg.nonceStr,
        timestamp: cfg.timestamp,
        signature: cfg.signature,
      }),
    ).toBe(true);
    const before = stack.sim.calls('getticket');
    await sign();
    expect(stack.sim.calls('getticket')).toBe(before);
  });
});

describe('a ticket WeChat re-issues saying a full 7200 s, as developers report', () => {
  it('is still known to die at its first expiry: never served past it, replaced on time', async () => {
    stack = await startStack({ simOptions: { reissuedTicketExpiresIn: 'full' } });
    const body = { url: 'https://example.com/' };
    const signedOk = async () => {
      const cfg = (await stack.post(`/jsapi/${MP.appid}/config`, body)).json;
      return stack.sim.verifyJsapiSignature({
        appid: MP.appid,
        url: body.url,
        nonceStr: cfg.nonceStr,
        timestamp: cfg.timestamp,
        signature: cfg.signature,
      });
    };
    expect(await signedOk()).toBe(true);
    stack.sim.advance(7200_000 - 250_000); // refresh window: WeChat hands back the same ticket "for 7200 s"
    expect(await stack.app.refresh()).toMatchObject({ failed: [] });
    for (let t = 0; t < 300; t += 20) {
      expect(await signedOk()).toBe(true);
      stack.sim.advance(20_000);
    }
    expect(await signedOk()).toBe(true); // past the first ticket's death: a new one
  });
});

describe('the refresher', () => {
  it('reports a failed refresh even while the old value still works, and requests keep being served', async () => {
    stack = await startStack();
    await stack.envelope('access_token', { appid: MP2.appid });
    stack.sim.advance(7200_000 - 200_000);
    stack.sim.fault('token', { errcode: 40164, errmsg: 'invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist' });
    const report = await stack.app.refresh();
    expect(report.failed).toEqual([{ key: `mp:${MP2.appid}:token`, reason: 'config_fault (errcode 40164)' }]);
    expect((await stack.envelope('access_token', { appid: MP2.appid })).json.returnCode).toBe(0);
  });
});
