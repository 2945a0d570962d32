/** The shape of the route table (DESIGN §3.3): a new route is one entry and one handler. */
import type { CallContext } from '../../credentials';
import type { Services } from '../../interfaces';
import type { HttpRequest, HttpResponse } from '../http';

export interface RouteContext {
  req: HttpRequest;
  /** The path below the deployment's base path. */
  path: string;
  /** The pattern's capture groups (undefined for groups that did not take part). */
  params: (string | undefined)[];
  call: CallContext;
  services: Services;
}

export interface Route {
  /** For the log line and method errors. */
  label: string;
  /** Matched against the whole path. */
  pattern: RegExp;
  /** Accepted methods; GET implies HEAD. Others get 405 with an Allow header. */
  methods: readonly ('GET' | 'POST')[];
  /** Throw an ApiError for a structured JSON error with its status. */
  handle(ctx: RouteContext): Promise<HttpResponse> | HttpResponse;
}
