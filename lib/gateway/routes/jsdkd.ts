/**
 * jsdkd's query route, `GET /jsapi/:appid/query?key=token|ticket&realm&nonce&ts&sign` (and jsdkd's own
 * `/jsapi/query/:key?appid=…`), answering `{key, value}` to realms with `legacyMd5`. Its md5 signature, window and
 * nonce follow auth.ts's rules, cheapest check first. The signature and every refusal: docs/design.md §3.3.
 */
import type { RealmConfig } from '../../config/types';
import { jsdkdSignature } from '../../crypto/jsdkd';
import { safeEqual } from '../../crypto/realm';
import { ApiError, type Services } from '../../interfaces';
import { KEY_SCOPE, queryCredential, queryKey } from '../../interfaces/query';
import { authorizeScope, checkTimestamp, spendNonce } from '../auth';
import { jsonResponse } from '../envelope';
import { defineRoute } from './types';

/** jsdkd put no bound on its nonces; any 1 to 64 visible ASCII characters. */
const NONCE = /^[\x21-\x7e]{1,64}$/;

export const jsdkdQuery = defineRoute({
  label: 'jsdkd_query',
  // jsdkd's: the key in the path, the appid in the query string; ours: the other way round
  paths: ['/jsapi/query/:key', '/jsapi/:appid/query'],
  methods: ['GET'],
  async handle({ req, params, call, services }) {
    const key = queryKey(params.key ?? req.query.key);
    const appid = params.appid ?? (req.query.appid || undefined);
    const realm = await authenticateMd5(req.query, services);
    call.caller = realm.key;
    authorizeScope(realm, KEY_SCOPE[key]);
    const res = jsonResponse(await queryCredential(services, realm, appid, key, call));
    res.headers['cache-control'] = 'no-store'; // a credential in a GET answer: no shared cache may keep it
    return res;
  },
});

/** jsdkd's md5 query signature, for realms with legacyMd5. */
export async function authenticateMd5(q: Record<string, string>, services: Services): Promise<RealmConfig> {
  const { realm: key, nonce, ts, sign } = q;
  if (!key || !nonce || !ts || !sign) {
    throw new ApiError(
      'unsigned',
      'this query needs jsdkd\'s signature: realm, nonce, ts (unix ms) and sign = md5("realm=…&nonce=…&ts=…" + "." + realm secret)',
    );
  }
  if (!NONCE.test(nonce)) throw new ApiError('unsigned', 'nonce must be 1 to 64 visible ASCII characters');
  const realm = services.config.realms.find((r) => r.key === key && r.legacyMd5);
  const expected = realm ? jsdkdSignature(realm.secret, { realm: key, nonce, ts }) : '';
  if (!realm || !safeEqual(sign.toLowerCase(), expected)) {
    throw new ApiError(
      'bad_signature',
      "the query signature does not match (or the realm does not accept jsdkd's md5 signature: legacyMd5)",
    );
  }
  const now = services.clock();
  checkTimestamp(ts, 'milliseconds', now, 'ts');
  await spendNonce(services, realm, nonce, now);
  return realm;
}
