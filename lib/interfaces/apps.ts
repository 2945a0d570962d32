/** Which configured app a request means, and whether its realm may use it. docs/design.md §3.2. */
import type { AppConfig, AppType, RealmConfig } from '../config/types';
import { ApiError } from './errors';
import type { Services } from './types';

const KIND: Record<AppType, string> = { mp: 'an Official Account', mina: 'a Mini Program', web: 'a website app' };

/**
 * The app named by `appid`, or, when omitted, the deployment's default app of the wanted
 * kind (or its only one). `types` limits the kinds that fit (tickets are for Official Accounts).
 */
export function resolveApp(
  services: Services,
  realm: RealmConfig | null,
  appid: string | undefined,
  types: readonly AppType[] = ['mp', 'mina'],
): AppConfig {
  const apps = services.config.apps;
  let app: AppConfig | undefined;
  if (appid !== undefined) {
    app = apps.find((a) => a.appid === appid);
    if (!app) throw new ApiError('unknown_app', `unknown appid ${appid}`);
  } else {
    const fitting = apps.filter((a) => types.includes(a.type));
    app = fitting.length === 1 ? fitting[0] : fitting.find((a) => a.default);
    if (!app)
      throw new ApiError('bad_para', 'para.appid is required: this deployment has no single default app for it');
  }
  if (!types.includes(app.type)) {
    throw new ApiError(
      'bad_para',
      `${app.appid} is ${KIND[app.type]}; this interface needs ${types.map((t) => KIND[t]).join(' or ')}`,
    );
  }
  assertRealmMayUse(realm, app.appid, 'app');
  return app;
}

/** 7005 when the realm lists apps (appids, corpids, buckets) and `id` is not among them. */
export function assertRealmMayUse(realm: RealmConfig | null, id: string, what: 'app' | 'corp' | 'bucket'): void {
  if (realm && realm.apps.length > 0 && !realm.apps.includes(id))
    throw new ApiError('app_not_allowed', `realm ${realm.key} may not use ${what} ${id}`);
}
