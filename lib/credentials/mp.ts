/**
 * Official Account / Mini Program credentials: the access_token and the tickets that depend on it.
 * docs/design.md §5.5, §5.8.
 */
import type { AppConfig } from '../config/types';
import type { MpClient, TicketType } from '../wechat/mp';
import { classifyUpstream, WechatError } from '../wechat/errors';
import { CredentialError } from './errors';
import type { Lifecycle } from './lifecycle';
import type { CallContext, CredentialSource } from './source';

export function mpTokenSource(app: AppConfig, client: MpClient): CredentialSource {
  const stable = app.tokenMode === 'stable';
  return {
    key: `mp:${app.appid}:token`,
    owner: app.appid,
    service: 'WeChat',
    eager: true,
    dailyBudget: stable ? undefined : 2000,
    forceBudget: stable ? 20 : undefined,
    // Stable mode: 45009 on a forced call means the 20/day force budget is gone; normal calls still work.
    quotaBlocksAll: (force) => !stable || !force,
    probe: (value, timeoutMs) => client.probe(value, timeoutMs),
    fetch: ({ force, timeoutMs }) =>
      fromTokenEndpoint(app.appid, "the app's", () =>
        stable
          ? client.stableToken(app.appid, app.secret, force, timeoutMs())
          : client.token(app.appid, app.secret, timeoutMs()),
      ),
  };
}

/**
 * A call of a token endpoint (appid or corpid + secret) for `owner`. There 40001 means the secret
 * is wrong, not that a token went stale: a configuration fault naming `whose` secret to check.
 */
export async function fromTokenEndpoint<T>(owner: string, whose: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WechatError && classifyUpstream(err) === 'token') {
      throw new CredentialError(
        'config_fault',
        `${err.endpoint} for ${owner} answered errcode ${err.errcode}: check ${whose} secret`,
        err.errcode,
      );
    }
    throw err;
  }
}

/**
 * A ticket is fetched with the app's token. When WeChat rejects that token (40001/40014/42001),
 * the token is force-refreshed with stale = the rejected one (so concurrent reporters rotate it
 * once) and the ticket fetch is retried once.
 */
export function mpTicketSource(
  app: AppConfig,
  type: TicketType,
  token: CredentialSource,
  lifecycle: Pick<Lifecycle, 'get'>,
  client: MpClient,
): CredentialSource {
  return {
    key: `mp:${app.appid}:ticket:${type}`,
    owner: app.appid,
    service: 'WeChat',
    eager: false,
    quotaBlocksAll: () => true,
    async fetch({ timeoutMs, call, deadline }) {
      // The token is fetched inside this attempt's time: our lease on the ticket must not run out meanwhile.
      return withAccessToken(lifecycle, token, { call, deadline }, (accessToken) =>
        client.ticket(accessToken, type, timeoutMs()),
      );
    },
  };
}

/**
 * `use` called with the app's access_token. When WeChat rejects that token (40001/40014/42001),
 * the token is force-refreshed with stale = the rejected one (so concurrent reporters rotate it
 * once) and `use` is called once more with the replacement. Other failures pass through.
 */
export async function withAccessToken<T>(
  lifecycle: Pick<Lifecycle, 'get'>,
  token: CredentialSource,
  opts: { call: CallContext; deadline?: number },
  use: (accessToken: string) => Promise<T>,
): Promise<T> {
  const used = await lifecycle.get(token, opts);
  try {
    return await use(used.value);
  } catch (err) {
    if (classifyUpstream(err) !== 'token') throw err;
    const replaced = await lifecycle.get(token, { ...opts, mode: 'stale', stale: used.value, confirmed: true });
    return use(replaced.value);
  }
}
