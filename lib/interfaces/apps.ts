/**
 * Which app a request means (configured, or an authorizer of a configured component), and whether its realm may use
 * it. docs/design.md §3.2, §19.
 */
import type { AppType, RealmConfig } from '../config/types';
import type { App } from '../credentials';
import { authorizerApp as asApp, unauthorizedError } from '../third-party/authorizers';
import { ApiError, toApiError } from './errors';
import type { Services } from './types';

const KIND: Record<AppType, string> = { mp: 'an Official Account', mina: 'a Mini Program', web: 'a website app' };

/**
 * The app named by `appid`, or, when omitted, the deployment's default app of the wanted
 * kind (or its only one). `types` limits the kinds that fit (tickets are for Official Accounts).
 * An appid that is not configured may be an authorizer of a configured component (docs/design.md §19):
 * it counts as an Official Account, and a realm may use it when it lists the appid or its component.
 */
export async function resolveApp(
  services: Services,
  realm: RealmConfig | null,
  appid: string | undefined,
  types: readonly AppType[] = ['mp', 'mina'],
): Promise<App> {
  const apps = services.config.apps;
  let app: App | undefined;
  if (appid !== undefined) {
    app = apps.find((a) => a.appid === appid) ?? (await authorizerApp(services, realm, appid, types));
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
  if (app.component === undefined) assertRealmMayUse(realm, app.appid, 'app');
  return app;
}

/** An authorizer of a configured component as an app (its secret is never used), else undefined. */
async function authorizerApp(
  services: Services,
  realm: RealmConfig | null,
  appid: string,
  types: readonly AppType[],
): Promise<App | undefined> {
  if (services.config.components.length === 0) return undefined;
  const found = await services.credentials.components.authorizers.find(appid);
  if (!found) return undefined;
  if (!types.includes('mp'))
    throw new ApiError(
      'bad_para',
      `${appid} is an authorizer of a third-party platform; this interface needs a configured app`,
    );
  if (realm && realm.apps.length > 0 && !realm.apps.includes(appid) && !realm.apps.includes(found.component))
    throw new ApiError('app_not_allowed', `realm ${realm.key} may not use app ${appid}`);
  if (found.state !== 'authorized') throw toApiError(unauthorizedError(appid, found.component));
  return asApp(found);
}

/** 7005 when the realm lists apps (appids, corpids, buckets) and `id` is not among them. */
export function assertRealmMayUse(realm: RealmConfig | null, id: string, what: 'app' | 'corp' | 'bucket'): void {
  if (realm && realm.apps.length > 0 && !realm.apps.includes(id))
    throw new ApiError('app_not_allowed', `realm ${realm.key} may not use ${what} ${id}`);
}
