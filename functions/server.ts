/**
 * `npm start`: wecred on node:http (PORT, default 3030; HOST, default 127.0.0.1). With no
 * configuration it runs demo mode: the simulator in-process, demo apps, a WeCom agent and an
 * admin realm, unless WECRED_STORE or WECRED_MASTER_KEY says this is a real deployment
 * (docs/design.md §3.5).
 */
import { ConfigError } from '../lib/config/errors';
import { DEMO_APPS, DEMO_REALM, DEMO_WORK, demoConfig, demoRefusal, loadConfig } from '../lib/config/load';
import type { Config } from '../lib/config/types';
import { bootApp } from '../lib/gateway/boot';
import { batchedWriter, createLogger } from '../lib/log/logger';
import { createNodeServer, listen } from '../lib/platform/node-http';
import { SECRET_SOURCES } from '../lib/wechat/secret-sources';
import { WechatSim } from '../sim';

const REFRESH_EVERY_MS = 60_000;

async function main(): Promise<void> {
  let config: Config | null = await loadConfig(process.env, process.cwd(), SECRET_SOURCES);
  let sim: WechatSim | undefined;
  if (!config) {
    const refusal = demoRefusal(process.env);
    if (refusal) throw refusal;
    sim = await WechatSim.start();
    for (const app of DEMO_APPS) sim.addApp(app.appid, app.secret, { type: app.type });
    for (const agent of DEMO_WORK) sim.addWorkApp(agent.corpid, agent.agentid, agent.secret);
    config = demoConfig(sim.url);
  }
  const out = batchedWriter();
  const app = await bootApp(config, { log: createLogger(out.write) });
  const server = createNodeServer(app);
  const url = await listen(server, Number(process.env.PORT ?? 3030), process.env.HOST ?? '127.0.0.1');
  if (sim) printDemoBanner(url, config);
  else
    process.stderr.write(
      `wecred listening on ${url} (store ${config.store.split(':')[0]}, ${config.apps.length} apps)\n`,
    );

  // No platform timer here: refresh on our own schedule (the first run a minute after start,
  // so a cold start costs WeChat nothing until something is asked for).
  const timer = setInterval(() => void app.refresh(), REFRESH_EVERY_MS);

  const stop = async () => {
    clearInterval(timer);
    server.close();
    server.closeAllConnections();
    await app.close();
    await sim?.close();
    out.flush();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function printDemoBanner(url: string, config: Config): void {
  const [mp] = DEMO_APPS;
  const [work] = DEMO_WORK;
  const mina = DEMO_APPS.find((a) => a.type === 'mina');
  process.stderr.write(
    [
      '',
      '  wecred DEMO MODE: no configuration found (wecred.json, WECRED_CONFIG or WECRED_CONFIG_JSON),',
      `  so a WeChat simulator runs in-process at ${config.upstream.mp} and nothing reaches WeChat.`,
      `  Demo apps: ${DEMO_APPS.map((a) => `${a.appid} (${a.type})`).join(', ')}; WeCom agent ${DEMO_WORK.map((w) => `${w.corpid}/${w.agentid}`).join(', ')}; admin realm "${DEMO_REALM.key}" (secret in lib/config/load.ts).`,
      `  Listening on ${url}`,
      `    the console: ${url}/console (realm "${DEMO_REALM.key}", its secret in lib/config/load.ts)`,
      `    curl ${url}/ping`,
      `    curl -X POST ${url}/jsapi/${mp?.appid}/config -H 'content-type: application/json' -d '{"url":"https://example.com/page"}'`,
      `    curl -X POST ${url}/ -H 'content-type: application/json' -d '{"interface":{"interfaceName":"work.jsapi.config","para":{"corpid":"${work?.corpid}","agentid":"${work?.agentid}","url":"https://example.com/page"}}}'`,
      `  Mini Program login: curl '${config.upstream.mp}/sim/wx.login?appid=${mina?.appid}' plays wx.login + wx.getUserInfo; send its`,
      '  code, encryptedData and iv as session.login {code, encrypt_data, iv} (public: no realm needed).',
      '',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : `wecred failed to start: ${(err as Error).message}`}\n`,
  );
  process.exit(1);
});
