/**
 * node-easywechat with wecred's access_token: a custom access-token handler (setAccessToken)
 * backed by wecred, so the SDK holds no secret and fetches no token. node-easywechat hands
 * WeChat's errors back as answers; wechatCall turns one into an error carrying `errcode`, so
 * that withAccessToken replaces a rejected token once and retries once. README "Use it from your SDK".
 *
 *   const app = officialAccount(wecred, 'wx0123456789abcdef');
 *   const qr = await wecred.withAccessToken('wx0123456789abcdef', () =>
 *     wechatCall(app, 'cgi-bin/qrcode/create', { expire_seconds: 1800, action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1001 } } }));
 */
import { OfficialAccount, type OfficialAccountConfig } from 'node-easywechat';
import type { WecredClient } from 'wecred-client';

/** node-easywechat's AccessTokenInterface, answered by wecred. */
export class WecredAccessToken {
  constructor(
    private readonly wecred: WecredClient,
    private readonly appid: string,
  ) {}

  async getToken(): Promise<string> {
    return (await this.wecred.accessToken(this.appid)).access_token;
  }

  async toQuery(): Promise<Record<string, string>> {
    return { access_token: await this.getToken() };
  }
}

export function officialAccount(
  wecred: WecredClient,
  appid: string,
  config: OfficialAccountConfig = {},
): OfficialAccount {
  const app = new OfficialAccount({ app_id: appid, secret: '', ...config });
  app.setAccessToken(new WecredAccessToken(wecred, appid));
  return app;
}

/** POST `body` as JSON to WeChat's `path`: the answer, or an Error with WeChat's `errcode`. */
export async function wechatCall(app: OfficialAccount, path: string, body: object): Promise<Record<string, unknown>> {
  const answer = (await app.getClient().postJson(path, body)).toObject() as Record<string, unknown>;
  if (typeof answer.errcode === 'number' && answer.errcode !== 0)
    throw Object.assign(new Error(`${path}: errcode ${answer.errcode} ${answer.errmsg}`), { errcode: answer.errcode });
  return answer;
}
