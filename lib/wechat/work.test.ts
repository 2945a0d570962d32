import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyUpstream } from './errors';
import { createWorkClient, type WorkClient } from './work';
import { expectNoLeak, failure, startTestUpstream, type TestUpstream } from '../../test/support/raw-upstream';

let up: TestUpstream;
let work: WorkClient;
beforeAll(async () => {
  up = await startTestUpstream();
  work = createWorkClient(`${up.base}/`);
});
afterAll(async () => {
  await up.close();
});
beforeEach(() => {
  up.received.length = 0;
});

const CORPID = 'ww0123456789abcdef';
const SECRET = 'wecom-agent-secret-0123456789abcdef';
const TOKEN = 'wecom-access-token-0123456789abcdefghijklmnopqrstuvwxyz';
const OK_TICKET =
  '{"errcode":0,"errmsg":"ok","ticket":"bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA","expires_in":7200}';

describe('gettoken (GET /cgi-bin/gettoken, docs/protocol.md §4.1)', () => {
  it('sends corpid and corpsecret in the query and returns the token', async () => {
    up.reply('/cgi-bin/gettoken', {
      body: '{"errcode":0,"errmsg":"ok","access_token":"accesstoken000001","expires_in":7200}',
    });
    await expect(work.gettoken(CORPID, SECRET, 2000)).resolves.toEqual({ value: 'accesstoken000001', expiresIn: 7200 });
    expect(up.received[0]).toMatchObject({
      method: 'GET',
      path: '/cgi-bin/gettoken',
      query: { corpid: CORPID, corpsecret: SECRET },
      body: '',
    });
  });

  it.each([
    [40013, 'config'],
    [40091, 'config'],
    [60020, 'config'],
    [41004, 'config'],
    [45009, 'quota'],
    [45033, 'retry'],
    [-1, 'retry'],
  ])('errcode %i is a WechatError classified %s, without the secret in it', async (errcode, fault) => {
    up.reply('/cgi-bin/gettoken', {
      body: `{"errcode":${errcode},"errmsg":"x, hint: [1], from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}"}`,
    });
    const err = await failure(work.gettoken(CORPID, SECRET, 2000));
    expect(err).toMatchObject({ name: 'WechatError', endpoint: 'cgi-bin/gettoken', errcode });
    expect(classifyUpstream(err)).toBe(fault);
    expectNoLeak(err, [SECRET]);
  });
});

describe('tickets (docs/protocol.md §4.2, §4.3)', () => {
  it('get_jsapi_ticket sends the token in the query only', async () => {
    up.reply('/cgi-bin/get_jsapi_ticket', { body: OK_TICKET });
    await expect(work.jsapiTicket(TOKEN, 2000)).resolves.toMatchObject({ expiresIn: 7200 });
    expect(up.received[0]).toMatchObject({
      method: 'GET',
      path: '/cgi-bin/get_jsapi_ticket',
      query: { access_token: TOKEN },
    });
    expect(up.received[0]?.headers.authorization).toBeUndefined();
  });

  it('ticket/get asks for type=agent_config', async () => {
    up.reply('/cgi-bin/ticket/get', { body: OK_TICKET });
    await expect(work.agentTicket(TOKEN, 2000)).resolves.toMatchObject({ expiresIn: 7200 });
    expect(up.received[0]).toMatchObject({
      path: '/cgi-bin/ticket/get',
      query: { access_token: TOKEN, type: 'agent_config' },
    });
  });

  it.each([40014, 42001])(
    '%i (a token WeCom rejected) is classified token, without the token in it',
    async (errcode) => {
      up.reply('/cgi-bin/ticket/get', { body: `{"errcode":${errcode},"errmsg":"invalid access_token"}` });
      const err = await failure(work.agentTicket(TOKEN, 2000));
      expect(classifyUpstream(err)).toBe('token');
      expectNoLeak(err, [TOKEN]);
    },
  );
});
