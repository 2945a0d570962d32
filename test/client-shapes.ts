/**
 * The returnData shapes wecred-client declares, as values the compiler derives from its types: a
 * field added to or dropped from a client type breaks this file, and expectShape compares the
 * same descriptors with the server's real answers (test/client.test.ts). docs/design.md §2.
 */
import type * as C from 'wecred-client';
import { expect } from 'vitest';

type Base<V> = V extends string
  ? 'string'
  : V extends number
    ? 'number'
    : V extends boolean
      ? 'boolean'
      : V extends readonly unknown[]
        ? 'array'
        : 'object';
/** `?` optional, then the JSON type, then `|null` when null is allowed: `?string`, `number|null`. */
type Desc<
  T,
  K extends keyof T,
> = `${undefined extends T[K] ? '?' : ''}${Base<Exclude<T[K], null | undefined>>}${null extends T[K] ? '|null' : ''}`;
type Known<T> = keyof { [K in keyof T as string extends K ? never : K]: 0 };
export type Shape<T> = { [K in Known<T>]-?: Desc<T, K> };

export function expectShape<T>(value: unknown, shape: Shape<T>, open = false): asserts value is T {
  expect(value, 'an object').toBeTypeOf('object');
  const record = value as Record<string, unknown>;
  for (const [key, desc] of Object.entries(shape) as [string, string][]) {
    const v = record[key];
    if (v === undefined) {
      expect(desc.startsWith('?'), `${key} is required`).toBe(true);
      continue;
    }
    const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    expect(desc.replace(/^\?/, '').split('|'), `type of ${key}`).toContain(kind);
  }
  if (!open)
    expect(
      Object.keys(record).filter((k) => !(k in shape)),
      'fields the client does not declare',
    ).toEqual([]);
}

const refreshable = { expires_in: 'number', exp: 'number' } as const;

export const SHAPES = {
  accessToken: { appid: 'string', access_token: 'string', ...refreshable } satisfies Shape<C.AccessTokenData>,
  ticket: { appid: 'string', type: 'string', ticket: 'string', ...refreshable } satisfies Shape<C.TicketData>,
  jsapiConfig: {
    appId: 'string',
    timestamp: 'number',
    nonceStr: 'string',
    signature: 'string',
    url: 'string',
    jsApiList: 'array',
  } satisfies Shape<C.JsapiConfigData>,
  query: { key: 'string', value: 'string' } satisfies Shape<C.QueryData>,
  authorizeUrl: { appid: 'string', scope: 'string', url: 'string' } satisfies Shape<C.OAuthAuthorizeUrlData>,
  exchange: {
    appid: 'string',
    openid: 'string',
    unionid: '?string',
    scope: 'string',
    snapshot: '?boolean',
    user: '?object',
  } satisfies Shape<C.OAuthExchangeData>,
  oauthUser: {
    openid: 'string',
    nickname: 'string',
    sex: 'number',
    province: 'string',
    city: 'string',
    country: 'string',
    headimgurl: 'string',
    privilege: 'array',
    unionid: '?string',
  } satisfies Shape<C.OAuthUser>,
  login: {
    id: 'string',
    skey: 'string',
    appid: 'string',
    unionid: '?string',
    user_info: '?object',
    duration: 'number',
  } satisfies Shape<C.SessionLoginData>,
  check: {
    user_info: 'object|null',
    appid: 'string',
    openid: 'string',
    unionid: '?string',
  } satisfies Shape<C.SessionCheckData>,
  userInfo: {
    id: 'string',
    skey: 'string',
    appid: 'string',
    user_info: 'object|null',
  } satisfies Shape<C.SessionUserInfoData>,
  qrcode: {
    appid: 'string',
    ticket: 'string',
    url: 'string',
    image_url: 'string',
    expire_seconds: 'number|null',
  } satisfies Shape<C.QrcodeCreateData>,
  status: {
    now: 'number',
    store: 'string',
    storeRoundTripMs: 'number',
    degradedSince: 'number|null',
    refreshAheadSeconds: 'number',
    credentials: 'array',
    quotaClears: 'array',
  } satisfies Shape<C.StatusData>,
  credential: {
    key: 'string',
    owner: 'string',
    appType: 'string',
    present: 'boolean',
    usable: 'boolean',
    fresh: 'boolean',
    state: 'string',
    exp: 'number|null',
    refreshedAt: 'number|null',
    forcedAt: 'number|null',
    version: 'number',
    refreshing: 'boolean',
    blockedUntil: 'number|null',
    failures: 'number',
    heldUntil: 'number|null',
    lastError: 'object|null',
    today: 'object',
    hourlyBudgets: 'array',
  } satisfies Shape<C.CredentialStatus>,
  today: {
    fetches: 'number',
    refresh: 'object',
    force: 'object',
    rejected: 'object',
    probe: 'object',
    reports: 'object',
    dailyBudget: 'number|null',
    forceBudget: 'number|null',
  } satisfies Shape<C.CredentialStatus['today']>,
  cosCredentials: {
    tmpSecretId: 'string',
    tmpSecretKey: 'string',
    sessionToken: 'string',
    expiredTime: 'number',
    bucket: 'string',
    region: 'string',
    prefix: 'string',
    actions: 'array',
  } satisfies Shape<C.CosCredentialsData>,
  cosSign: {
    authorization: 'string',
    securityToken: 'string',
    startTime: 'number',
    expiredTime: 'number',
    host: 'string',
    action: 'string',
  } satisfies Shape<C.CosSignData>,
  workAccessToken: {
    corpid: 'string',
    agentid: 'string',
    access_token: 'string',
    ...refreshable,
  } satisfies Shape<C.WorkAccessTokenData>,
  workTicket: {
    corpid: 'string',
    agentid: 'string',
    ticket: 'string',
    ...refreshable,
  } satisfies Shape<C.WorkTicketData>,
  workAgentTicket: {
    corpid: 'string',
    agentid: 'string',
    agent_ticket: 'string',
    ...refreshable,
  } satisfies Shape<C.WorkAgentTicketData>,
  workJsapiConfig: { config: 'object', agentConfig: '?object' } satisfies Shape<C.WorkJsapiConfigData>,
  workConfig: {
    beta: 'boolean',
    appId: 'string',
    timestamp: 'number',
    nonceStr: 'string',
    signature: 'string',
    jsApiList: 'array',
  } satisfies Shape<C.WorkConfig>,
  workAgentConfig: {
    corpid: 'string',
    agentid: 'string',
    timestamp: 'number',
    nonceStr: 'string',
    signature: 'string',
    jsApiList: 'array',
  } satisfies Shape<C.WorkAgentConfig>,
  componentAuthorizeUrl: {
    component_appid: 'string',
    pc_url: 'string',
    mobile_url: 'string',
    expires_in: 'number',
  } satisfies Shape<C.ComponentAuthorizeUrlData>,
  componentAuthorizers: { components: 'array', authorizers: 'array' } satisfies Shape<C.ComponentAuthorizersData>,
  registerAgent: {
    corpid: 'string',
    agentid: 'string',
    remark: '?string',
    created: 'boolean',
    replaced: 'boolean',
  } satisfies Shape<C.WorkRegisterAgentData>,
};
