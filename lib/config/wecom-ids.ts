/**
 * The one reading of WeCom ids, shared by `config.work` and the `work.*` interfaces' para, so that
 * every agent that can be configured can be asked for, and the reverse (':' never reaches a store
 * key built from them). See docs/design.md §3.5 and docs/protocol.md §4.5.
 */
// WeCom shows "ww" + 16 hex digits (older corps "wx" + 16, as docs/protocol.md §4.5's
// wx5823bf96d3bd56c7), but no shape is documented: letters and digits, bounded.
const CORPID = /^[A-Za-z0-9]{1,32}$/;
// A positive decimal integer (WeCom's look like 1000002); the JSON number 1000002 names the same agent.
const AGENTID = /^[1-9][0-9]{0,9}$/;

/** What a field failing the checks below is told (after its name). */
export const CORPID_RULE = 'must be 1 to 32 letters or digits (WeCom corpids look like "ww" + 16 hex digits)';
export const AGENTID_RULE =
  'must be a positive whole number of at most 10 digits, as a number or a string without leading zeros';

/** The corpid, or undefined when `v` is not one. */
export function canonicalCorpid(v: unknown): string | undefined {
  return typeof v === 'string' && CORPID.test(v) ? v : undefined;
}

/** The agentid as its canonical decimal string, or undefined when `v` is not one. */
export function canonicalAgentid(v: unknown): string | undefined {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  return typeof s === 'string' && AGENTID.test(s) ? s : undefined;
}

/**
 * What a WeCom secret opens: an agent's API, or the contacts (通讯录同步) or customer-contact
 * (客户联系) API, whose secrets have no agentid. A secret without an agent stands under its kind
 * where an agentid would be (store keys `work:<corpid>:contacts:token`): agentids are digits, so
 * the two never meet.
 */
export const WORK_SECRET_KINDS = ['agent', 'contacts', 'externalcontact'] as const;
export type WorkSecretKind = (typeof WORK_SECRET_KINDS)[number];

/** The kind of secret an agentid slot names: a kind's name, or 'agent' for an agentid. */
export function secretKindOf(agentid: string): WorkSecretKind {
  return agentid === 'contacts' || agentid === 'externalcontact' ? agentid : 'agent';
}
