/**
 * GET /metrics (docs/design.md §16): this process's figures and the shared ones read from the
 * store, in Prometheus text format, for the bearer token of `metrics.bearer`; no route without it.
 */
import { safeEqual } from '../../crypto/realm';
import { ApiError, type Services } from '../../interfaces';
import { credentialStates, storeRoundTrip } from '../../interfaces/admin';
import type { Gauge } from '../../metrics';
import { routeError } from '../envelope';
import { defineRoute } from './types';

export const metricsRoute = defineRoute({
  label: 'metrics',
  paths: ['/metrics'],
  methods: ['GET'],
  async handle({ req, path, services }) {
    const bearer = services.config.metrics.bearer;
    if (!services.metrics || bearer === undefined) throw new ApiError('not_found', `no route ${req.method} ${path}`);
    const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (given === undefined || !safeEqual(given, bearer)) {
      const res = routeError(
        new ApiError('unsigned', 'GET /metrics needs the header Authorization: Bearer <metrics.bearer>'),
      );
      res.headers['www-authenticate'] = 'Bearer realm="wecred metrics"';
      return res;
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
      body: services.metrics.prometheus(await sharedGauges(services)),
    };
  },
});

/**
 * The figures every instance shares, read from the store: each credential's state, expiry and
 * today's fetches against its budgets, the hourly budgets, and whether the store answers.
 */
export async function sharedGauges(services: Services): Promise<Gauge[]> {
  let roundTripMs: number;
  let states: Awaited<ReturnType<typeof credentialStates>>;
  try {
    roundTripMs = await storeRoundTrip(services);
    states = await credentialStates(services);
  } catch {
    return [gauge('wecred_store_up', 'Whether the store answered this scrape.', [{ labels: {}, value: 0 }])];
  }
  const fetches: Gauge['samples'] = [];
  const byCaller: Gauge['samples'] = [];
  const hourly = new Map<string, { used: number; limit: number }>();
  for (const c of states) {
    for (const reason of ['refresh', 'force', 'rejected', 'probe'] as const) {
      const { total, byCaller: callers } = c.today[reason];
      fetches.push({ labels: { credential: c.key, reason }, value: total });
      for (const [caller, n] of Object.entries(callers))
        byCaller.push({ labels: { credential: c.key, reason, caller }, value: n });
    }
    for (const b of c.hourlyBudgets) hourly.set(b.scope, b);
  }
  const perCredential = (value: (c: (typeof states)[number]) => number | null) =>
    states.flatMap((c) => {
      const v = value(c);
      return v === null ? [] : [{ labels: { credential: c.key }, value: v }];
    });
  return [
    gauge('wecred_store_up', 'Whether the store answered this scrape.', [{ labels: {}, value: 1 }]),
    gauge('wecred_store_round_trip_seconds', 'One store read, as this scrape timed it.', [
      { labels: {}, value: roundTripMs / 1000 },
    ]),
    gauge(
      'wecred_credential_state',
      'Each credential: 1 for its state (fresh, due, refreshing, failing, refused, absent).',
      states.map((c) => ({ labels: { credential: c.key, state: c.state }, value: 1 })),
    ),
    gauge(
      'wecred_credential_expiry_timestamp_seconds',
      'When the stored value expires (unix seconds).',
      perCredential((c) => c.exp),
    ),
    gauge(
      'wecred_credential_failures',
      'Failed refreshes in a row.',
      perCredential((c) => c.failures),
    ),
    gauge('wecred_fetches_today', 'Upstream fetches today (Beijing day), every instance together, by reason.', fetches),
    gauge('wecred_fetches_today_by_caller', 'Upstream fetches today, by reason and caller.', byCaller),
    gauge(
      'wecred_daily_budget',
      "WeChat's daily fetch quota (classic tokens).",
      perCredential((c) => c.today.dailyBudget),
    ),
    gauge(
      'wecred_force_budget',
      'The daily budget of forced refreshes (stable tokens).',
      perCredential((c) => c.today.forceBudget),
    ),
    gauge(
      'wecred_hourly_budget_used',
      "Calls in this clock hour and the previous one, against WeCom's hourly limit.",
      [...hourly].map(([scope, b]) => ({ labels: { scope }, value: b.used })),
    ),
    gauge(
      'wecred_hourly_budget_limit',
      "WeCom's hourly limit.",
      [...hourly].map(([scope, b]) => ({ labels: { scope }, value: b.limit })),
    ),
  ];
}

const gauge = (name: string, help: string, samples: Gauge['samples']): Gauge => ({ name, help, samples });
