/**
 * co-wechat-api with wecred's access_token: getToken asks wecred, saveToken does nothing, and
 * tokenFromCustom (the fifth argument) stops the SDK from ever fetching a token itself. Wrap calls
 * in withAccessToken: a token WeChat rejects (40001) is reported to wecred as stale once and the
 * call made once more with its replacement. README "Use it from your SDK".
 *
 *   const api = coWechatApi(wecred, 'wx0123456789abcdef');
 *   const qr = await wecred.withAccessToken('wx0123456789abcdef', () => api.createTmpQRCode(1001, 1800));
 */
import API from 'co-wechat-api';
import type { WecredClient } from 'wecred-client';

export function coWechatApi(wecred: WecredClient, appid: string): API {
  return new API(
    appid,
    '', // no AppSecret here: wecred holds it
    async () => {
      const { access_token, exp } = await wecred.accessToken(appid);
      return { accessToken: access_token, expireTime: exp * 1000 };
    },
    async () => {}, // wecred keeps the token
    // On 40001/42001 throw instead of fetching cgi-bin/token with the (empty) secret, which
    // would also kill the token every other server is using.
    true,
  );
}
