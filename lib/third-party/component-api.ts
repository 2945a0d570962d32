/**
 * A third-party platform's (第三方平台) endpoints on api.weixin.qq.com (docs/protocol.md §11): one
 * typed function per endpoint, one attempt each; nothing here knows about stores or leases.
 */
import { UpstreamUnavailable } from '../wechat/errors';
import { callJson, upstreamUrl } from '../wechat/http';
import { type Issued, issued } from '../wechat/mp';

export const COMPONENT_TOKEN = 'cgi-bin/component/api_component_token';
export const PRE_AUTH_CODE = 'cgi-bin/component/api_create_preauthcode';
export const QUERY_AUTH = 'cgi-bin/component/api_query_auth';
export const AUTHORIZER_TOKEN = 'cgi-bin/component/api_authorizer_token';

/** An authorizer's credentials as WeChat hands them out (api_query_auth, api_authorizer_token). */
export interface AuthorizerIssued {
  appid: string;
  accessToken: Issued;
  refreshToken: string;
  /** The permission sets granted (func_info ids); only api_query_auth says. */
  funcInfo?: number[];
}

export interface ComponentClient {
  componentToken(component: { appid: string; secret: string }, ticket: string, timeoutMs: number): Promise<Issued>;
  preAuthCode(componentAppid: string, componentToken: string, timeoutMs: number): Promise<Issued>;
  queryAuth(componentAppid: string, componentToken: string, code: string, timeoutMs: number): Promise<AuthorizerIssued>;
  authorizerToken(
    componentAppid: string,
    componentToken: string,
    authorizer: { appid: string; refreshToken: string },
    timeoutMs: number,
  ): Promise<AuthorizerIssued>;
}

export function createComponentClient(baseUrl: string): ComponentClient {
  const post = (endpoint: string, token: string | undefined, json: unknown, timeoutMs: number) =>
    callJson(
      endpoint,
      upstreamUrl(baseUrl, endpoint, token === undefined ? undefined : { component_access_token: token }),
      {
        method: 'POST',
        json,
        timeoutMs,
      },
    );
  return {
    async componentToken(component, ticket, timeoutMs) {
      const json = {
        component_appid: component.appid,
        component_appsecret: component.secret,
        component_verify_ticket: ticket,
      };
      const body = await post(COMPONENT_TOKEN, undefined, json, timeoutMs);
      return issued(COMPONENT_TOKEN, { ...body, access_token: body.component_access_token }, 'access_token');
    },

    async preAuthCode(componentAppid, token, timeoutMs) {
      const body = await post(PRE_AUTH_CODE, token, { component_appid: componentAppid }, timeoutMs);
      return issued(PRE_AUTH_CODE, { ...body, access_token: body.pre_auth_code }, 'access_token');
    },

    async queryAuth(componentAppid, token, code, timeoutMs) {
      const json = { component_appid: componentAppid, authorization_code: code };
      const info = (await post(QUERY_AUTH, token, json, timeoutMs)).authorization_info;
      if (typeof info !== 'object' || info === null) throw new UpstreamUnavailable(QUERY_AUTH, 'body');
      return authorizerIssued(QUERY_AUTH, info as Record<string, unknown>, undefined);
    },

    async authorizerToken(componentAppid, token, authorizer, timeoutMs) {
      const json = {
        component_appid: componentAppid,
        authorizer_appid: authorizer.appid,
        authorizer_refresh_token: authorizer.refreshToken,
      };
      return authorizerIssued(AUTHORIZER_TOKEN, await post(AUTHORIZER_TOKEN, token, json, timeoutMs), authorizer.appid);
    },
  };
}

/** The authorizer's credentials out of a success body; one without them is 'body' (never echoed). */
function authorizerIssued(endpoint: string, b: Record<string, unknown>, appid: string | undefined): AuthorizerIssued {
  const accessToken = issued(
    endpoint,
    { access_token: b.authorizer_access_token, expires_in: b.expires_in },
    'access_token',
  );
  const refreshToken = b.authorizer_refresh_token;
  const who = appid ?? b.authorizer_appid;
  if (typeof refreshToken !== 'string' || refreshToken === '' || typeof who !== 'string' || who === '')
    throw new UpstreamUnavailable(endpoint, 'body');
  const funcInfo = Array.isArray(b.func_info)
    ? b.func_info
        .map((f) => (f as { funcscope_category?: { id?: unknown } })?.funcscope_category?.id)
        .filter((id): id is number => typeof id === 'number')
    : undefined;
  return { appid: who, accessToken, refreshToken, ...(funcInfo === undefined ? {} : { funcInfo }) };
}
