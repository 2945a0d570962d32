/**
 * OAuth2 user endpoints on api.weixin.qq.com (docs/protocol.md §2.2, §2.4): the code exchange and
 * sns/userinfo, the two the web login calls. One attempt each (a code is single-use: a blind
 * retry after a timeout would only meet 40163).
 */
import { UpstreamUnavailable } from './errors';
import { callJson, upstreamUrl } from './http';

export type SnsScope = 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';

/** A user-level token as WeChat issued it (not the app's global access_token). */
export interface SnsToken {
  accessToken: string;
  /** Seconds, as WeChat said (7200). */
  expiresIn: number;
  /** Valid 30 days from the authorization, not extended by refreshes. */
  refreshToken: string;
  openid: string;
  /** The scope(s) granted, as WeChat wrote them (comma-separated when several). */
  scope: string;
  /** Only for snsapi_userinfo / snsapi_login when the app is bound to an open-platform account. */
  unionid?: string;
  /** 快照页 user (is_snapshotuser: 1): a virtual openid, and sns/userinfo may answer 48001. */
  snapshotUser: boolean;
}

export interface SnsUser {
  openid: string;
  nickname: string;
  /** 1 male, 2 female, 0 unknown. */
  sex: number;
  province: string;
  city: string;
  country: string;
  /** Ends in the size: 0/46/64/96/132; '' when the user has none. */
  headimgurl: string;
  privilege: string[];
  unionid?: string;
}

export interface SnsClient {
  /** `GET /sns/oauth2/access_token`: the code (single use, 5 minutes) for a user token. */
  exchangeCode(appid: string, secret: string, code: string, timeoutMs: number): Promise<SnsToken>;
  /** `GET /sns/userinfo`: needs a snsapi_userinfo / snsapi_login token (48001 for snsapi_base). */
  userinfo(accessToken: string, openid: string, timeoutMs: number, lang?: 'zh_CN' | 'zh_TW' | 'en'): Promise<SnsUser>;
}

const ACCESS_TOKEN = 'sns/oauth2/access_token';
const USERINFO = 'sns/userinfo';

/** `baseUrl` is e.g. `https://api.weixin.qq.com`. */
export function createSnsClient(baseUrl: string): SnsClient {
  return {
    async exchangeCode(appid, secret, code, timeoutMs) {
      const url = upstreamUrl(baseUrl, ACCESS_TOKEN, { appid, secret, code, grant_type: 'authorization_code' });
      return snsToken(await callJson(ACCESS_TOKEN, url, { method: 'GET', timeoutMs }));
    },

    async userinfo(accessToken, openid, timeoutMs, lang = 'zh_CN') {
      const url = upstreamUrl(baseUrl, USERINFO, { access_token: accessToken, openid, lang });
      return snsUser(await callJson(USERINFO, url, { method: 'GET', timeoutMs }));
    },
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function snsToken(body: Record<string, unknown>): SnsToken {
  const accessToken = str(body.access_token);
  const refreshToken = str(body.refresh_token);
  const openid = str(body.openid);
  const scope = str(body.scope);
  const expiresIn = body.expires_in;
  if (!accessToken || !refreshToken || !openid || !scope) throw new UpstreamUnavailable(ACCESS_TOKEN, 'body');
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0)
    throw new UpstreamUnavailable(ACCESS_TOKEN, 'body');
  const token: SnsToken = {
    accessToken,
    expiresIn,
    refreshToken,
    openid,
    scope,
    snapshotUser: body.is_snapshotuser === 1,
  };
  const unionid = str(body.unionid);
  if (unionid) token.unionid = unionid;
  return token;
}

function snsUser(body: Record<string, unknown>): SnsUser {
  const openid = str(body.openid);
  if (!openid) throw new UpstreamUnavailable(USERINFO, 'body');
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const user: SnsUser = {
    openid,
    nickname: text(body.nickname),
    sex: typeof body.sex === 'number' ? body.sex : 0,
    province: text(body.province),
    city: text(body.city),
    country: text(body.country),
    headimgurl: text(body.headimgurl),
    privilege: Array.isArray(body.privilege) ? body.privilege.filter((p): p is string => typeof p === 'string') : [],
  };
  const unionid = str(body.unionid);
  if (unionid) user.unionid = unionid;
  return user;
}
