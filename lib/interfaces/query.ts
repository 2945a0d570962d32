/**
 * jsdkd's query: an app's bare access_token or jsapi ticket as `{key, value}`, as the envelope
 * interface `query` (HMAC) and `GET /jsapi/:appid/query` (md5, lib/gateway/routes/jsdkd.ts).
 * Both need the key's interface (KEY_SCOPE) in realm.interfaces, not `query`. docs/design.md §3.3.
 */
import type { RealmConfig } from '../config/types';
import type { CallContext } from '../credentials';
import { resolveApp } from './apps';
import { ApiError } from './errors';
import { optionalString } from './para';
import type { InterfaceDef, Services } from './types';

const QUERY_KEYS = ['token', 'ticket'] as const;
export type QueryKey = (typeof QUERY_KEYS)[number];

/** The interface whose scope a key falls under (realm.interfaces). */
export const KEY_SCOPE: Record<QueryKey, string> = { token: 'access_token', ticket: 'ticket' };

/** `token` or `ticket`, else 400 (1003). */
export function queryKey(v: unknown, where = 'key'): QueryKey {
  if (v === undefined || v === null || v === '')
    throw new ApiError('bad_para', `${where} is required: token or ticket`);
  if (typeof v !== 'string' || !(QUERY_KEYS as readonly string[]).includes(v))
    throw new ApiError('bad_para', `${where} must be token or ticket`);
  return v as QueryKey;
}

/**
 * The value for `key` of an app within realm.apps (when listed). The caller has checked the
 * key's interface scope (KEY_SCOPE). `realm` is null behind a trusted gateway.
 */
export async function queryCredential(
  services: Services,
  realm: RealmConfig | null,
  appid: string | undefined,
  key: QueryKey,
  call: CallContext,
): Promise<{ key: QueryKey; value: string }> {
  const app = await resolveApp(services, realm, appid, key === 'ticket' ? ['mp'] : ['mp', 'mina']);
  const source = key === 'token' ? services.credentials.token(app) : services.credentials.ticket(app, 'jsapi');
  const c = await services.credentials.get(source, { call });
  return { key, value: c.value };
}

export const query: InterfaceDef = {
  name: 'query',
  access: 'realm',
  scope: (para) => KEY_SCOPE[queryKey(para.key, 'para.key')],
  async handle({ para, realm, call, services }) {
    const key = queryKey(para.key, 'para.key');
    return queryCredential(services, realm, optionalString(para, 'appid', 64), key, call);
  },
};
