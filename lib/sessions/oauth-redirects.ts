/**
 * The redirect allow-list of OAuth web login (lib/sessions/oauth.ts): config.oauth.redirects, and patterns that do not
 * pin the host. docs/design.md §11.2.
 */
import type { Logger } from '../log/logger';

const MAX_REDIRECT = 2048;
/** Hosts nobody owns, to probe whether a redirect pattern pins the host (see allowedRedirect). */
const PROBE_HOST_SUFFIX = '.wecred-probe.invalid';
const PROBE_LABEL = 'wecredprobe';
const UNSAFE_URL = /[\\\s\u0000-\u001f\u007f]/;

// Compiled once per config array, not on every authorize request (anonymous traffic would
// otherwise pay for it each time); a WeakMap so that a reloaded config compiles its own.
const compiled = new WeakMap<readonly string[], RegExp[]>();

/** Each pattern must match the whole string, case-insensitively (the rule of CORS, docs/design.md §3.3); its own ^ and $ may stay. */
function redirectMatchers(patterns: readonly string[]): RegExp[] {
  let res = compiled.get(patterns);
  if (!res) {
    res = patterns.map((p) => new RegExp(`^(?:${p})$`, 'i'));
    compiled.set(patterns, res);
  }
  return res;
}

/**
 * The normalised URL to send the browser to, or null when `raw` is not an allowed target:
 * an absolute http(s) URL without userinfo, backslashes, whitespace or control characters whose
 * normalised form (lower-case host, default port dropped) matches one of `patterns` entirely.
 *
 * A pattern that matches does not pin the host if it also matches the same URL on a host nobody
 * owns: `<hostname>.wecred-probe.invalid` (`https://app\.example\.com.*` admits
 * app.example.com.evil.net), or the last two labels glued to a foreign one, `wecredprobeexample.com`
 * (`https://.*example\.com/.*` admits evilexample.com; deeper levels could be the owner's own
 * subdomains). Such a pattern allows nothing, and `onLoose` hears its index.
 */
export function allowedRedirect(
  patterns: readonly string[],
  raw: string,
  onLoose?: (index: number) => void,
): string | null {
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_REDIRECT || UNSAFE_URL.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null; // relative, protocol-relative (//evil.net) or garbage
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '' || url.hostname === '') return null;
  const href = url.href;
  const probes = probeUrls(url);
  let allowed = false;
  for (const [i, re] of redirectMatchers(patterns).entries()) {
    if (!re.test(href)) continue;
    if (probes.some((probe) => re.test(probe))) {
      onLoose?.(i);
      return null; // fail closed, whatever the other patterns say
    }
    allowed = true;
  }
  return allowed ? href : null;
}

/** `url` on the probe hosts; built as text, as the URL setter would silently refuse them for an IPv6 address. */
function probeUrls(url: URL): string[] {
  const rest = `${url.port === '' ? '' : `:${url.port}`}${url.pathname}${url.search}${url.hash}`;
  const labels = url.hostname.split('.');
  const hosts = [`${url.hostname}${PROBE_HOST_SUFFIX}`];
  if (labels.length >= 2) hosts.push(PROBE_LABEL + labels.slice(-2).join('.'));
  return hosts.map((host) => `${url.protocol}//${host}${rest}`);
}

/** allowedRedirect's `onLoose` as one warning line naming the pattern (never the URL). */
export function warnLoosePattern(log: Logger | undefined): (index: number) => void {
  return (i) =>
    log?.log('warn', 'oauth_redirect_pattern_loose', {
      pattern: `oauth.redirects[${i}]`,
      note: 'does not pin the host, so it allows nothing',
    });
}
