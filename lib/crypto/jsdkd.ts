/**
 * jsdkd's query signature, kept for realms with `legacyMd5`: lowercase hex md5 of
 * `realm=…&nonce=…&ts=…` + "." + the realm secret, over the values as received. Pure functions.
 * docs/protocol.md §10; docs/design.md §3.3.
 */
import { hash } from 'node:crypto';

export function jsdkdPayload(p: { realm: string; nonce: string; ts: string }): string {
  return `realm=${p.realm}&nonce=${p.nonce}&ts=${p.ts}`;
}

export function jsdkdSignature(secret: string, p: { realm: string; nonce: string; ts: string }): string {
  return hash('md5', `${jsdkdPayload(p)}.${secret}`, 'hex');
}
