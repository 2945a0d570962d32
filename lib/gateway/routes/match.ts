/**
 * Path patterns for the route table (docs/design.md §3.3), e.g. `/jsapi/:appid/config`: a `:name` matches one or more
 * characters other than '/', or what the `(rule)` right after it says (a regex without parentheses,
 * `/MP_verify_:code([0-9A-Za-z]{16}).txt`); everything else matches itself. A route's patterns compile once into one
 * anchored regular expression (the first that matches wins); values are the path's raw text, not percent-decoded.
 */

/** `S` up to the first `D`. */
type Cut<S extends string, D extends string> = S extends `${infer H}${D}${string}` ? H : S;
/** The parameter names of pattern `P`: `:name` ends at '/', '.' or '('. */
export type PathParamName<P extends string> = P extends `${string}:${infer Rest}`
  ? Cut<Cut<Cut<Rest, '/'>, '.'>, '('> | PathParamName<Rest>
  : never;
/** What a route with patterns `P` (a union) hands its handler: a value is undefined only when some pattern lacks it. */
export type PathParams<P extends string> = {
  readonly [K in PathParamName<P>]: P extends unknown ? (K extends PathParamName<P> ? string : undefined) : never;
};

/** The parameters of a matching path, or null. */
export type PathMatcher = (path: string) => Record<string, string> | null;

const PARAM = /:([A-Za-z][A-Za-z0-9]*)(?:\(([^)]*)\))?/g;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function compilePaths(patterns: readonly string[]): PathMatcher {
  const names: string[] = [];
  const alternatives = patterns.map((pattern) => {
    if (!pattern.startsWith('/')) throw new Error(`route pattern ${pattern} must start with '/'`);
    const own = new Set<string>();
    let source = '';
    let last = 0;
    for (const m of pattern.matchAll(PARAM)) {
      const [whole, name, rule = '[^/]+'] = m;
      if (own.has(name!)) throw new Error(`route pattern ${pattern} names :${name} twice`);
      own.add(name!);
      names.push(name!);
      source += `${escapeRegExp(pattern.slice(last, m.index))}(${rule})`;
      last = m.index + whole.length;
    }
    return source + escapeRegExp(pattern.slice(last));
  });
  const re = new RegExp(`^(?:${alternatives.join('|')})$`);
  return (path) => {
    const m = re.exec(path);
    if (m === null) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) {
      const value = m[i + 1];
      if (value !== undefined) params[names[i]!] = value;
    }
    return params;
  };
}
