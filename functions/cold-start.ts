/**
 * One App per function instance, built on the first invocation and reused while the
 * instance stays warm. A failed start is not cached, so a fixed secret or store recovers
 * without a redeploy.
 */
import { loadConfig } from '../lib/config/load';
import { bootApp } from '../lib/gateway/boot';
import type { App } from '../lib/gateway/http';
import { SECRET_SOURCES } from '../lib/wechat/secret-sources';

let app: Promise<App> | undefined;

export function getApp(): Promise<App> {
  app ??= (async () => {
    const config = await loadConfig(process.env, process.cwd(), SECRET_SOURCES);
    if (!config)
      throw new Error('wecred has no configuration: set WECRED_CONFIG_JSON (or WECRED_CONFIG) on the function');
    return bootApp(config);
  })().catch((err: unknown) => {
    app = undefined;
    throw err;
  });
  return app;
}
