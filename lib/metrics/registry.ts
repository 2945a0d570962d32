/**
 * Counters and histograms with labels, kept in memory, and their Prometheus text exposition
 * (format 0.0.4). Small on purpose: an increment is one map lookup (docs/design.md §16).
 */

/** Past this many label combinations a family counts the rest under `other`: labels may echo upstream errcodes. */
const MAX_SERIES = 500;
const OTHER = 'other';

interface Series {
  labels: readonly string[];
  /** Counters: the count. Histograms: the number of observations. */
  value: number;
  /** Histograms: observations per bucket (not cumulative; the last is +Inf) and their sum. */
  buckets?: number[];
  sum?: number;
}

/** Gauges read when exposed (the shared figures from the store): name, help and one value per label set. */
export interface Gauge {
  name: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

export class Family {
  readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    /** Upper bounds of a histogram's buckets (seconds); absent for a counter. */
    readonly bounds?: readonly number[],
  ) {}

  inc(labels: readonly string[]): void {
    this.get(labels).value++;
  }

  observe(labels: readonly string[], v: number): void {
    const s = this.get(labels);
    s.value++;
    s.sum! += v;
    const bounds = this.bounds!;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    s.buckets![i]!++;
  }

  private get(labels: readonly string[]): Series {
    const s = this.series.get(labels.length === 1 ? labels[0]! : labels.join('\u0001'));
    if (s) return s;
    if (this.series.size < MAX_SERIES) return this.create(labels);
    const other = labels.map(() => OTHER);
    return this.series.get(other.join('\u0001')) ?? this.create(other);
  }

  private create(labels: readonly string[]): Series {
    const s: Series = { labels, value: 0 };
    if (this.bounds) {
      s.buckets = new Array<number>(this.bounds.length + 1).fill(0);
      s.sum = 0;
    }
    this.series.set(labels.join('\u0001'), s);
    return s;
  }
}

/** The Prometheus text exposition of `families` and `gauges`. */
export function prometheusText(families: readonly Family[], gauges: readonly Gauge[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.bounds ? 'histogram' : 'counter'}`);
    for (const s of f.series.values()) {
      const labels = f.labelNames.map((n, i) => [n, s.labels[i]!] as const);
      if (!f.bounds) {
        out.push(`${f.name}${labelText(labels)} ${num(s.value)}`);
        continue;
      }
      let cumulative = 0;
      f.bounds.forEach((le, i) => {
        cumulative += s.buckets![i]!;
        out.push(`${f.name}_bucket${labelText([...labels, ['le', num(le)]])} ${cumulative}`);
      });
      out.push(`${f.name}_bucket${labelText([...labels, ['le', '+Inf']])} ${s.value}`);
      out.push(`${f.name}_sum${labelText(labels)} ${num(s.sum!)}`, `${f.name}_count${labelText(labels)} ${s.value}`);
    }
  }
  for (const g of gauges) {
    out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
    for (const s of g.samples) out.push(`${g.name}${labelText(Object.entries(s.labels))} ${num(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}

function labelText(labels: readonly (readonly [string, string])[]): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([n, v]) => `${n}="${v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',')}}`;
}

function num(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}
