/**
 * One App per function instance, built on the first invocation and reused while the
 * instance stays warm. A failed start is not cached, so a fixed secret or store recovers
 * without a redeploy. docs/design.md §4.
 */
import { CONFIG_FILE, loadConfig } from '../lib/config/load';
import { refuseOnServerless } from '../lib/config/serverless';
import { bootApp } from '../lib/gateway/boot';
import type { App } from '../lib/gateway/http';
import { SECRET_SOURCES } from '../lib/wechat/secret-sources';

/**
 * Where a packaged wecred.json sits and a relative WECRED_CONFIG is read from: the bundle's own
 * folder (the platforms' working directory may differ), else the working directory.
 */
const BUNDLE_DIR = typeof __dirname === 'string' ? __dirname : process.cwd();

let app: Promise<App> | undefined;

export function getApp(): Promise<App> {
  app ??= (async () => {
    const config = await loadConfig(process.env, BUNDLE_DIR, SECRET_SOURCES);
    if (!config)
      throw new Error(
        `wecred has no configuration: set WECRED_CONFIG_JSON or WECRED_CONFIG (a path, ssm:NAME or secretsmanager:ID) on the function, or package a ${CONFIG_FILE} (npm run package -- --config FILE)`,
      );
    refuseOnServerless(config, process.env);
    return bootApp(config);
  })().catch((err: unknown) => {
    app = undefined;
    throw err;
  });
  return app;
}
