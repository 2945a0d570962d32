/**
 * Official Account / Mini Program interfaces: access_token, tickets and wx.config parameters. docs/design.md §3.2, §5.
 */
import type { AppConfig } from '../config/types';
import type { CallContext, Credential, GetOptions } from '../credentials';
import { jsapiSignature, withoutFragment } from '../crypto/jsapi';
import { randomNonce } from '../crypto/random';
import { resolveApp } from './apps';
import { ApiError } from './errors';
import { flag, oneOf, optionalString, optionalStringList, requiredString } from './para';
import type { InterfaceDef, Services } from './types';

const TICKET_TYPES = ['jsapi', 'wx_card'] as const;

/** `force` with an optional `stale` (the value WeChat just rejected) as the lifecycle's mode. */
export function refreshOptions(para: Record<string, unknown>, call: CallContext): GetOptions {
  const force = flag(para, 'force');
  const stale = optionalString(para, 'stale', 1024);
  if (stale !== undefined && !force) throw new ApiError('bad_para', 'para.stale is only meaningful with force: true');
  if (!force) return { call };
  return stale === undefined ? { call, mode: 'force' } : { call, mode: 'stale', stale };
}

/** expires_in (seconds left, by our clock) and exp (unix seconds) of a credential. */
export function lifetime(services: Services, c: Credential) {
  const exp = Math.floor(c.expiresAt / 1000);
  return { expires_in: Math.max(0, exp - Math.floor(services.clock() / 1000)), exp };
}

export const accessToken: InterfaceDef = {
  name: 'access_token',
  aliases: ['qcloud.mimi.access_token'],
  access: 'realm',
  async handle({ para, realm, call, services }) {
    const app = await resolveApp(services, realm, optionalString(para, 'appid', 64));
    const token = await services.credentials.get(services.credentials.token(app), refreshOptions(para, call));
    return { appid: app.appid, access_token: token.value, ...lifetime(services, token) };
  },
};

export const ticket: InterfaceDef = {
  name: 'ticket',
  access: 'realm',
  async handle({ para, realm, call, services }) {
    const app = await resolveApp(services, realm, optionalString(para, 'appid', 64), ['mp']);
    const type = oneOf(para, 'type', TICKET_TYPES, 'jsapi');
    const t = await services.credentials.get(services.credentials.ticket(app, type), refreshOptions(para, call));
    return { appid: app.appid, type, ticket: t.value, ...lifetime(services, t) };
  },
};

/** para.url, the absolute http(s) URL of the page, without its #fragment: what the JS-SDK signs. */
export function pageUrl(para: Record<string, unknown>): string {
  const url = requiredString(para, 'url', 4096);
  if (!/^https?:\/\/[^\s]+$/i.test(url))
    throw new ApiError('bad_para', 'para.url must be the absolute http(s) URL of the page');
  return withoutFragment(url);
}

/**
 * wx.config parameters for `url`. Every other field of `body` is echoed back (jsdkd's
 * behaviour: pages pass jsApiList, debug, ... through). The url is signed without its #fragment.
 */
export async function wxConfig(
  services: Services,
  app: AppConfig,
  body: Record<string, unknown>,
  call: CallContext,
): Promise<Record<string, unknown>> {
  const url = pageUrl(body);
  optionalStringList(body, 'jsApiList');
  const ticket = await services.credentials.get(services.credentials.ticket(app, 'jsapi'), { call });
  const timestamp = Math.floor(services.clock() / 1000);
  const nonceStr = randomNonce(16);
  const signature = jsapiSignature({ ticket: ticket.value, nonceStr, timestamp, url });
  return { ...body, appId: app.appid, timestamp, nonceStr, signature };
}

export const jsapiConfig: InterfaceDef = {
  name: 'jsapi.config',
  access: 'public',
  async handle({ para, realm, call, services }) {
    const app = await resolveApp(services, realm, optionalString(para, 'appid', 64), ['mp']);
    const { appid: _appid, ...body } = para;
    return wxConfig(services, app, { jsApiList: [], ...body }, call);
  },
};
