/**
 * Structured JSON logs, one object per line. Every field passes through the redacting
 * replacer, so a secret, token, ticket or session key put into a log field by mistake is
 * masked rather than leaked, at any depth. docs/design.md §15.
 */
import { writeSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

const SENSITIVE_KEY = /secret|token|ticket|session_?key|skey|signature|password|authorization|credential|encrypt|iv$/i;
const verdicts = new Map<string, boolean>();

function sensitive(key: string): boolean {
  let v = verdicts.get(key);
  if (v === undefined) {
    v = SENSITIVE_KEY.test(key);
    if (verdicts.size < 4096) verdicts.set(key, v); // field names repeat; the regex runs once per name
  }
  return v;
}

/** JSON.stringify replacer masking the values of sensitive-looking keys (numbers and booleans are kept: counts, flags). */
function redactor(key: string, value: unknown): unknown {
  if (key === '' || value === '' || value == null || typeof value === 'number' || typeof value === 'boolean')
    return value;
  return sensitive(key) ? '[redacted]' : value;
}

/** True when some field is nested or has a sensitive-looking name. */
function needsRedaction(fields: LogFields): boolean {
  for (const key in fields) {
    const v = fields[key];
    if ((typeof v === 'object' && v !== null) || sensitive(key)) return true;
  }
  return false;
}

export function createLogger(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  minLevel: LogLevel = 'info',
): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  let lastMs = 0;
  let lastIso = '';
  return {
    log(level, event, fields = {}) {
      if (order[level] < order[minLevel]) return;
      const now = Date.now();
      if (now !== lastMs) {
        lastMs = now;
        lastIso = new Date(now).toISOString();
      }
      const line = { time: lastIso, level, event, ...fields };
      // JSON.stringify's fast path is lost with a replacer: use it only where a field could hide a secret.
      write(needsRedaction(fields) ? JSON.stringify(line, redactor) : JSON.stringify(line));
    },
  };
}

/**
 * A long-running server's log sink: lines gathered during one event-loop turn go out in one
 * write (one syscall for a burst of requests instead of one each). Not for serverless
 * functions, which may be frozen right after answering: they write each line at once.
 */
export function batchedWriter(fd = 1): { write: (line: string) => void; flush: () => void } {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = `${pending.join('\n')}\n`;
    pending = [];
    try {
      writeSync(fd, text);
    } catch {
      // a closed or full stdout must not take the server down
    }
  };
  return {
    write(line) {
      if (pending.push(line) === 1) setImmediate(flush);
    },
    flush,
  };
}

/** For tests and quiet embedding. */
export const silentLogger: Logger = { log() {} };
