/**
 * jsdkd's query signature (DESIGN §3.3), kept for realms with `legacyMd5`. Pure functions.
 *
 *   sign = lowercase hex md5( "realm=" REALM "&nonce=" NONCE "&ts=" TS "." REALM_SECRET )
 *
 * exactly as jsdkd computes it (src/lib/sdk.js, verifyRealmSign): the decoded query values as
 * received, no escaping, no sorting, the secret appended after a ".".
 */
import { hash } from 'node:crypto';

export function jsdkdPayload(p: { realm: string; nonce: string; ts: string }): string {
  return `realm=${p.realm}&nonce=${p.nonce}&ts=${p.ts}`;
}

export function jsdkdSignature(secret: string, p: { realm: string; nonce: string; ts: string }): string {
  return hash('md5', `${jsdkdPayload(p)}.${secret}`, 'hex');
}
