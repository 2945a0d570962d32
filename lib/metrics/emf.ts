/**
 * The figures as one log line in CloudWatch's embedded metric format, for SCF and Lambda, where
 * nobody can scrape an instance: what changed since the previous line, plus the gauges given
 * (docs/design.md §16). CLS indexes the same JSON fields as they are.
 */
import type { Family, Gauge } from './registry';

/** CloudWatch takes at most 100 metrics per directive. */
const PER_DIRECTIVE = 100;

/** What each series had reached at the previous line. */
export type EmfMarks = Map<Family, Map<unknown, { value: number; sum: number }>>;

/** The line, or null when nothing happened and no gauge is given. */
export function emfLine(
  families: readonly Family[],
  gauges: readonly Gauge[],
  now: number,
  marks: EmfMarks,
): string | null {
  const values: Record<string, number> = {};
  const units: Record<string, string> = {};
  for (const f of families) {
    const seen = marks.get(f) ?? marks.set(f, new Map()).get(f)!;
    for (const s of f.series.values()) {
      const last = seen.get(s) ?? { value: 0, sum: 0 };
      const count = s.value - last.value;
      if (count === 0) continue;
      const name = [short(f.name), ...s.labels].join('.');
      if (f.bounds) {
        values[name] = (s.sum! - last.sum) / count; // the mean of this invocation's observations
        units[name] = 'Seconds';
      } else {
        values[name] = count;
        units[name] = 'Count';
      }
      seen.set(s, { value: s.value, sum: s.sum ?? 0 });
    }
  }
  for (const g of gauges) {
    for (const sample of g.samples) {
      const name = [short(g.name), ...Object.values(sample.labels)].join('.');
      values[name] = sample.value;
      units[name] = 'None';
    }
  }
  const names = Object.keys(values);
  if (names.length === 0) return null;
  const directives = [];
  for (let i = 0; i < names.length; i += PER_DIRECTIVE) {
    directives.push({
      Namespace: 'wecred',
      Dimensions: [['Service']],
      Metrics: names.slice(i, i + PER_DIRECTIVE).map((Name) => ({ Name, Unit: units[Name] })),
    });
  }
  return JSON.stringify({ _aws: { Timestamp: now, CloudWatchMetrics: directives }, Service: 'wecred', ...values });
}

/** `wecred_requests_total` → `requests`, `wecred_request_duration_seconds` → `request_duration_seconds`. */
function short(name: string): string {
  return name.replace(/^wecred_/, '').replace(/_total$/, '');
}
