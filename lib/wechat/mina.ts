/**
 * Mini Program login on api.weixin.qq.com (docs/protocol.md §3.1): `GET /sns/jscode2session`, which
 * answers text/plain (callJson parses the body whatever the Content-Type). One attempt: the
 * code is single-use, a blind retry after a timeout would only meet 40163.
 */
import { UpstreamUnavailable } from './errors';
import { callJson, upstreamUrl } from './http';

export const JSCODE2SESSION = 'sns/jscode2session';

export interface MinaSession {
  openid: string;
  /** base64 of 16 bytes; WeChat keeps one valid per user, a newer login replaces it. */
  sessionKey: string;
  /** Only when the Mini Program is bound to an open-platform account. */
  unionid?: string;
}

const SESSION_KEY = /^[A-Za-z0-9+/]{22}==$/;

/** `baseUrl` is e.g. `https://api.weixin.qq.com`. A non-zero errcode throws WechatError. */
export async function code2Session(
  baseUrl: string,
  appid: string,
  secret: string,
  code: string,
  timeoutMs: number,
): Promise<MinaSession> {
  const url = upstreamUrl(baseUrl, JSCODE2SESSION, { appid, secret, js_code: code, grant_type: 'authorization_code' });
  const body = await callJson(JSCODE2SESSION, url, { method: 'GET', timeoutMs });
  const { openid, session_key: sessionKey, unionid } = body;
  if (typeof openid !== 'string' || openid === '') throw new UpstreamUnavailable(JSCODE2SESSION, 'body');
  if (typeof sessionKey !== 'string' || !SESSION_KEY.test(sessionKey))
    throw new UpstreamUnavailable(JSCODE2SESSION, 'body');
  const session: MinaSession = { openid, sessionKey };
  if (typeof unionid === 'string' && unionid !== '') session.unionid = unionid;
  return session;
}
