/** The decrypted notices of docs/protocol.md §11.1 and §11.4, as WeChat's pages show them. */
import { describe, expect, it } from 'vitest';
import { readNotice } from './component-notice';

describe('readNotice, on the official examples', () => {
  it('reads the verify ticket push (验证票据)', () => {
    const xml =
      '<xml>\n<AppId>some_appid</AppId>\n<CreateTime>1413192605</CreateTime>\n<InfoType>component_verify_ticket</InfoType>\n<ComponentVerifyTicket>some_verify_ticket</ComponentVerifyTicket>\n</xml>';
    expect(readNotice(xml)).toEqual({
      kind: 'component_verify_ticket',
      appid: 'some_appid',
      createTime: 1413192605,
      ticket: 'some_verify_ticket',
    });
  });

  it('reads the authorization change notices (授权变更通知推送)', () => {
    const authorized = (type: string) =>
      `<xml><AppId>第三方平台appid</AppId><CreateTime>1413192760</CreateTime><InfoType>${type}</InfoType><AuthorizerAppid>公众号appid</AuthorizerAppid><AuthorizationCode>授权码</AuthorizationCode><AuthorizationCodeExpiredTime>过期时间</AuthorizationCodeExpiredTime><PreAuthCode>预授权码</PreAuthCode></xml>`;
    for (const type of ['authorized', 'updateauthorized'])
      expect(readNotice(authorized(type))).toEqual({
        kind: type,
        appid: '第三方平台appid',
        createTime: 1413192760,
        authorizer: '公众号appid',
        code: '授权码',
      });
    const cancelled =
      '<xml><AppId>第三方平台appid</AppId><CreateTime>1413192760</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>公众号appid</AuthorizerAppid></xml>';
    expect(readNotice(cancelled)).toEqual({
      kind: 'unauthorized',
      appid: '第三方平台appid',
      createTime: 1413192760,
      authorizer: '公众号appid',
    });
  });

  it('tells other notices and unreadable ones apart', () => {
    expect(
      readNotice(
        '<xml><AppId>a</AppId><CreateTime>1</CreateTime><InfoType>notify_third_fasteregister</InfoType></xml>',
      ),
    ).toEqual({ kind: 'other', appid: 'a', createTime: 1, infoType: 'notify_third_fasteregister' });
    expect(readNotice('<xml><AppId>a</AppId><InfoType>unauthorized</InfoType></xml>')).toBeUndefined();
    expect(readNotice('not xml')).toBeUndefined();
  });

  it('a notice missing what its kind needs is "other"; one missing AppId, InfoType or a whole CreateTime is unreadable', () => {
    const notice = (fields: Record<string, string>) =>
      `\n  <xml>${Object.entries(fields)
        .map(([k, v]) => `<${k}>${v}</${k}>`)
        .join('')}</xml>\n`;
    const base = { AppId: 'a', CreateTime: '7' };
    const other = (infoType: string) => ({ kind: 'other', appid: 'a', createTime: 7, infoType });
    expect(readNotice(notice({ ...base, InfoType: 'component_verify_ticket' }))).toEqual(
      other('component_verify_ticket'),
    );
    for (const type of ['authorized', 'updateauthorized']) {
      expect(readNotice(notice({ ...base, InfoType: type, AuthorizerAppid: 'wxa' }))).toEqual(other(type));
      expect(readNotice(notice({ ...base, InfoType: type, AuthorizationCode: 'c' }))).toEqual(other(type));
    }
    expect(readNotice(notice({ ...base, InfoType: 'unauthorized' }))).toEqual(other('unauthorized'));
    // another kind's fields make no notice of that kind
    expect(
      readNotice(
        notice({ ...base, InfoType: 'x', ComponentVerifyTicket: 't', AuthorizerAppid: 'wxa', AuthorizationCode: 'c' }),
      ),
    ).toEqual(other('x'));
    expect(readNotice(notice({ CreateTime: '7', InfoType: 'unauthorized', AuthorizerAppid: 'wxa' }))).toBeUndefined();
    expect(readNotice(notice({ AppId: 'a', CreateTime: '7', AuthorizerAppid: 'wxa' }))).toBeUndefined();
    expect(readNotice(notice({ AppId: 'a', CreateTime: '7.5', InfoType: 'unauthorized' }))).toBeUndefined();
    expect(readNotice(notice({ AppId: 'a', InfoType: 'unauthorized' }))).toBeUndefined();
    expect(readNotice(notice({ AppId: '', CreateTime: '7', InfoType: 'unauthorized' }))).toBeUndefined();
  });
});
