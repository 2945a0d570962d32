/**
 * Structured JSON logs, one object per line. Every value passes through `redact`, so a
 * secret, token, ticket or session key put into a log field by mistake is masked rather
 * than leaked.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

const SENSITIVE_KEY = /secret|token|ticket|session_?key|skey|signature|password|authorization|credential|encrypt|iv$/i;

/** A deep copy of `value` with every sensitive-looking field masked. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEY.test(k) && v !== '' && v != null && typeof v !== 'boolean' && typeof v !== 'number' ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

export function createLogger(write: (line: string) => void = (line) => process.stdout.write(line + '\n'), minLevel: LogLevel = 'info'): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(level, event, fields = {}) {
      if (order[level] < order[minLevel]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, event, ...(redact(fields) as LogFields) }));
    },
  };
}

/** For tests and quiet embedding. */
export const silentLogger: Logger = { log() {} };
