import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { Metrics } from '.';
import { Family, prometheusText } from './registry';

describe('Prometheus text', () => {
  it('writes counters, cumulative histogram buckets and gauges, escaping label values', () => {
    const counter = new Family('t_calls_total', 'Calls.', ['endpoint', 'errcode']);
    counter.inc(['cgi-bin/token', '0']);
    counter.inc(['cgi-bin/token', '0']);
    counter.inc(['a "quoted"\\path\nline', '40164']);
    const histogram = new Family('t_seconds', 'Time.', ['route'], [0.01, 0.1]);
    histogram.observe(['ping'], 0.001);
    histogram.observe(['ping'], 0.05);
    histogram.observe(['ping'], 3);
    const text = prometheusText(
      [counter, histogram],
      [{ name: 't_up', help: 'Up.', samples: [{ labels: {}, value: 1 }] }],
    );
    expect(text).toBe(
      [
        '# HELP t_calls_total Calls.',
        '# TYPE t_calls_total counter',
        't_calls_total{endpoint="cgi-bin/token",errcode="0"} 2',
        't_calls_total{endpoint="a \\"quoted\\"\\\\path\\nline",errcode="40164"} 1',
        '# HELP t_seconds Time.',
        '# TYPE t_seconds histogram',
        't_seconds_bucket{route="ping",le="0.01"} 1',
        't_seconds_bucket{route="ping",le="0.1"} 2',
        't_seconds_bucket{route="ping",le="+Inf"} 3',
        't_seconds_sum{route="ping"} 3.051',
        't_seconds_count{route="ping"} 3',
        '# HELP t_up Up.',
        '# TYPE t_up gauge',
        't_up 1',
        '',
      ].join('\n'),
    );
    const parsed = parsePrometheusTextFormat(text);
    expect(parsed[0]!.metrics[1]!.labels).toEqual({ endpoint: 'a "quoted"\\path\nline', errcode: '40164' });
  });

  it('counts label sets past 500 per family under "other", so strangers cannot grow it', () => {
    const f = new Family('t_total', 'T.', ['errcode']);
    for (let i = 0; i < 2000; i++) f.inc([String(i)]);
    expect(f.series.size).toBe(501);
    expect(f.series.get('other')?.value).toBe(1500);
  });
});

describe('the embedded-metric-format line', () => {
  it('holds what changed since the previous line, the mean duration, and the gauges given', () => {
    const m = new Metrics();
    expect(m.emf([], 1000)).toBeNull();
    m.request('ping', 'ok', 0.002);
    m.request('ping', 'ok', 0.004);
    m.upstream('cgi-bin/token', '40164');
    const first = JSON.parse(m.emf([], 1000)!);
    expect(first).toMatchObject({
      Service: 'wecred',
      'requests.ping.ok': 2,
      'request_duration_seconds.ping': 0.003,
      'upstream_calls.cgi-bin/token.40164': 1,
    });
    expect(first._aws).toEqual({
      Timestamp: 1000,
      CloudWatchMetrics: [
        {
          Namespace: 'wecred',
          Dimensions: [['Service']],
          Metrics: [
            { Name: 'requests.ping.ok', Unit: 'Count' },
            { Name: 'request_duration_seconds.ping', Unit: 'Seconds' },
            { Name: 'upstream_calls.cgi-bin/token.40164', Unit: 'Count' },
          ],
        },
      ],
    });
    m.request('ping', 'ok', 0.01);
    const second = JSON.parse(
      m.emf([{ name: 'wecred_store_up', help: '', samples: [{ labels: {}, value: 1 }] }], 2000)!,
    );
    expect(second['requests.ping.ok']).toBe(1);
    expect(second['request_duration_seconds.ping']).toBeCloseTo(0.01);
    expect(second).not.toHaveProperty(['upstream_calls.cgi-bin/token.40164']);
    expect(second.store_up).toBe(1);
    expect(m.emf([], 3000)).toBeNull();
  });

  it('splits past 100 metrics into several directives, as CloudWatch wants', () => {
    const m = new Metrics();
    for (let i = 0; i < 250; i++) m.refresh('refresh', `r${i}`);
    const doc = JSON.parse(m.emf([], 1)!);
    expect(doc._aws.CloudWatchMetrics.map((d: { Metrics: unknown[] }) => d.Metrics.length)).toEqual([100, 100, 50]);
  });
});
