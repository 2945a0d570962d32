/**
 * wechat-api with wecred's access_token. wechat-api calls getToken again after WeChat answers
 * 40001, and retries the call once with what it gets: this getToken then reports the rejected
 * token to wecred as `stale`, so the retry gets its replacement (one rotation however many
 * servers report it). The token that failed is read off the answers, by wrapping `request`.
 * README "Use it from your SDK".
 *
 *   const api = wechatApi(wecred, 'wx0123456789abcdef');
 *   api.createTmpQRCode(1001, 1800, (err, qr) => { … });
 */
import API from 'wechat-api';
import { TOKEN_REJECTED, type WecredClient } from 'wecred-client';

export function wechatApi(wecred: WecredClient, appid: string): API {
  let rejected: string | undefined;
  const api = new API(
    appid,
    '', // no AppSecret here: wecred holds it
    (callback) => {
      const stale = rejected;
      rejected = undefined;
      wecred.accessToken(stale === undefined ? { appid } : { appid, force: true, stale }).then(
        ({ access_token, exp }) => callback(null, { accessToken: access_token, expireTime: exp * 1000 }),
        (err: Error) => callback(err),
      );
    },
    (_token, callback) => callback(null), // wecred keeps the token
  );
  const request = api.request;
  api.request = function (url, opts, callback) {
    request.call(this, url, opts, (err, data, res) => {
      if ((TOKEN_REJECTED as readonly unknown[]).includes(data?.errcode))
        rejected = new URL(url).searchParams.get('access_token') ?? undefined;
      callback(err, data, res);
    });
  };
  return api;
}
