/**
 * The signing test vector shown in wecred's README ("Signing"): asserted here against sign() and,
 * in wecred's own tests, against the server's check (lib/crypto/realm.ts). Computed independently:
 *   bh=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
 *   printf 'POST\n/\n1714036504\nn0nce-Abc123\n%s' "$bh" | openssl dgst -sha256 -hmac realm-secret-1 -r
 */
export const VECTOR = {
  realm: 'biz',
  secret: 'realm-secret-1',
  method: 'POST',
  path: '/',
  timestamp: '1714036504',
  nonce: 'n0nce-Abc123',
  body: '{"version":1,"interface":{"interfaceName":"access_token","para":{"appid":"wx1234567890abcdef"}}}',
  bodySha256: 'e4567609b9c1604b9961eb0cff577845a514d942c0d025ca0c16eefb5803617f',
  signature: 'eea0d230d22ef536c11c05ffb83454f1c65212766cff343aaabe1acb22fea897',
};
