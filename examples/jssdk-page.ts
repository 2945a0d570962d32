/**
 * The page side of the official JS-SDK (npm weixin-js-sdk, i.e. jweixin), bundled into the page:
 * wx.config fed from wecred's public `POST /jsapi/:appid/config`. wecred signs the URL without
 * its #fragment, as WeChat checks it, so `location.href` goes as it is, query and fragment
 * included. README "Use it from your SDK".
 *
 *   await configureWx('https://cred.example.com', 'wx0123456789abcdef', ['updateAppMessageShareData']);
 *   wx.updateAppMessageShareData({ … });
 */
import wx from 'weixin-js-sdk';

declare const location: { href: string };

/** Resolves once WeChat accepted the configuration (wx.ready); rejects with wx.error's answer. */
export async function configureWx(wecredUrl: string, appid: string, jsApiList: wx.ApiMethod[]): Promise<void> {
  const res = await fetch(`${wecredUrl}/jsapi/${appid}/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: location.href, jsApiList }),
  });
  if (!res.ok) throw new Error(`wecred answered HTTP ${res.status}`);
  const config = (await res.json()) as Parameters<typeof wx.config>[0];
  await new Promise<void>((resolve, reject) => {
    wx.config(config);
    wx.ready(resolve);
    wx.error(reject);
  });
}
