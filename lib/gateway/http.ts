/**
 * The neutral HTTP request and response every platform adapter converts to and from.
 * Nothing below lib/platform knows which cloud produced the request. docs/design.md §2, §4.
 */
export interface HttpRequest {
  /** Upper-case method, e.g. 'GET'. */
  method: string;
  /** Path without the query string, always starting with '/'; the deployment base path is not yet stripped. */
  path: string;
  /** Decoded query parameters (last value wins for repeated keys). */
  query: Record<string, string>;
  /** Header names lower-cased; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The body as text ('' when none); base64 bodies are decoded by the adapter. */
  body: string;
  /**
   * The body's bytes, when the platform handed bytes (node:http, base64 events): what a signature
   * covers, as decoding may have replaced bytes that are not UTF-8. Absent: `body`'s UTF-8 bytes.
   */
  bytes?: Buffer;
  /** Client IP when the platform tells it. */
  sourceIp?: string;
}

export interface HttpResponse {
  status: number;
  /** Header names lower-case. */
  headers: Record<string, string>;
  body: string;
}

/** What a node:http server in front of the App allows a client (config.maxBodyBytes and config.http). */
export interface ServerLimits {
  maxBodyBytes: number;
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  maxConnections: number;
  maxBodyBytesInFlight: number;
}

/** The application core every adapter drives. */
export interface App {
  /** For lib/platform/node-http.ts, which holds connections and bodies before the App sees them. */
  readonly limits: ServerLimits;
  /** Serve one HTTP request. Never throws: every failure is a response. */
  http(req: HttpRequest): Promise<HttpResponse>;
  /** The scheduled refresh (timer events). Never throws. */
  refresh(): Promise<RefreshReport>;
  /**
   * On SCF and Lambda, after each invocation: what this instance counted since the previous
   * line, with the shared figures from the store when `shared` (timer invocations), as one
   * log line in CloudWatch's embedded metric format; null when metrics.log is off or nothing
   * happened. Never throws.
   */
  metricsLine?(shared: boolean): Promise<string | null>;
  /** Release stores and timers (tests, local server shutdown). */
  close(): Promise<void>;
}

export interface RefreshReport {
  /** Credentials inspected. */
  checked: number;
  /** Credentials fetched upstream by this run. */
  refreshed: number;
  /** Credentials whose refresh failed, with a short reason (never a secret). */
  failed: { key: string; reason: string }[];
}
