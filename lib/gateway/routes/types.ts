/** The shape of the route table (docs/design.md §3.3): a new route is one `defineRoute` and one handler. */
import type { CallContext } from '../../credentials';
import type { Services } from '../../interfaces';
import type { HttpRequest, HttpResponse } from '../http';
import { compilePaths, type PathMatcher, type PathParams } from './match';

export interface RouteContext<Params = Readonly<Record<string, string | undefined>>> {
  req: HttpRequest;
  /** The path below the deployment's base path. */
  path: string;
  /** The path's parameters, by the names in the pattern that matched (`params.appid`). */
  params: Params;
  call: CallContext;
  services: Services;
}

type Methods = readonly ('GET' | 'POST')[];
type Handler<Params> = (ctx: RouteContext<Params>) => Promise<HttpResponse> | HttpResponse;

export interface Route {
  /** For the log line and method errors. */
  label: string;
  /** The parameters of a path this route serves, or null (its patterns, compiled once). */
  match: PathMatcher;
  /** Accepted methods; GET implies HEAD. Others get 405 with an Allow header. */
  methods: Methods;
  /** Throw an ApiError for a structured JSON error with its status. */
  handle: Handler<Readonly<Record<string, string | undefined>>>;
}

/** A route serving `paths` (match.ts patterns, the first that matches wins); `handle` sees their parameters typed. */
export function defineRoute<const P extends string>(def: {
  label: string;
  paths: readonly P[];
  methods: Methods;
  handle: Handler<PathParams<P>>;
}): Route {
  return {
    label: def.label,
    match: compilePaths(def.paths),
    methods: def.methods,
    handle: def.handle as Route['handle'],
  };
}
