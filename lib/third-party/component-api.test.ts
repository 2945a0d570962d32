/** The component endpoints' answers, as docs/protocol.md §11 shows them (the official examples where there are some). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createComponentClient } from './component-api';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A WeChat that answers `body` to any call, keeping the requests it got. */
async function wechat(body: unknown): Promise<{ base: string; got: { url: string; json: any }[] }> {
  const got: { url: string; json: any }[] = [];
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      got.push({ url: req.url ?? '', json: JSON.parse(text || '{}') });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

describe('the component client', () => {
  it('reads the official pre_auth_code example', async () => {
    const w = await wechat({
      pre_auth_code: 'Cx_Dk6qiBE0Dmx4EmlT3oRfArPvwSQ-oa3NL_fwHM7VI08r52wazoZX2Rhpz1dEw',
      expires_in: 600,
    });
    const issued = await createComponentClient(w.base).preAuthCode('wxc0c0c0c0c0c0c0c0', 'CAT', 1000);
    expect(issued).toEqual({
      value: 'Cx_Dk6qiBE0Dmx4EmlT3oRfArPvwSQ-oa3NL_fwHM7VI08r52wazoZX2Rhpz1dEw',
      expiresIn: 600,
    });
    expect(w.got).toEqual([
      {
        url: '/cgi-bin/component/api_create_preauthcode?component_access_token=CAT',
        json: { component_appid: 'wxc0c0c0c0c0c0c0c0' },
      },
    ]);
  });

  it('reads api_query_auth: the authorizer, its tokens and func_info', async () => {
    const w = await wechat({
      authorization_info: {
        authorizer_appid: 'wxf8b4f85f3a794e77',
        authorizer_access_token:
          'QXjUqNqfYVH0yBE1iI_7vuN_9gQbpjfK7hYwJ3P7xOa88a89-Aga5x1NMYJyB8G2yKt1KCl0nPC3W9GJzw0Zzq_dBxc8pxIGUNi_bFes0qM',
        expires_in: 7200,
        authorizer_refresh_token: 'dTo-YCXPL4llX-u1W1pPpnp8Hgm4wpJtlR6iV0doKdY',
        func_info: [{ funcscope_category: { id: 1 } }, { funcscope_category: { id: 2 } }],
      },
    });
    const a = await createComponentClient(w.base).queryAuth('wxc0c0c0c0c0c0c0c0', 'CAT', 'auth_code_value', 1000);
    expect(a).toMatchObject({ appid: 'wxf8b4f85f3a794e77', accessToken: { expiresIn: 7200 }, funcInfo: [1, 2] });
    expect(w.got[0]!.json).toEqual({ component_appid: 'wxc0c0c0c0c0c0c0c0', authorization_code: 'auth_code_value' });
  });

  it('an answer without a refresh token is a bad body, whose message holds no token', async () => {
    const w = await wechat({ authorizer_access_token: 'secret-access-token', expires_in: 7200 });
    const call = createComponentClient(w.base).authorizerToken(
      'wxc0c0c0c0c0c0c0c0',
      'CAT',
      { appid: 'wxa1a1a1a1a1a1a1a1', refreshToken: 'refreshtoken@@@kept' },
      1000,
    );
    await expect(call).rejects.toMatchObject({ name: 'UpstreamUnavailable', reason: 'body' });
    await expect(call).rejects.not.toThrow(/secret-access-token|refreshtoken@@@kept/);
    expect(w.got[0]!.json).toEqual({
      component_appid: 'wxc0c0c0c0c0c0c0c0',
      authorizer_appid: 'wxa1a1a1a1a1a1a1a1',
      authorizer_refresh_token: 'refreshtoken@@@kept',
    });
  });
});
