/**
 * A third-party platform's credentials as sources of the one lifecycle (docs/design.md §5, §19):
 * the component_access_token (from the stored verify ticket) and each authorizer's
 * authorizer_access_token (from its stored refresh token, which is replaced only once the new one is stored).
 */
import type { Config } from '../config/types';
import { CredentialError } from '../credentials/errors';
import type { Lifecycle } from '../credentials/lifecycle';
import { withAccessToken } from '../credentials/mp';
import type { CredentialSource } from '../credentials/source';
import type { MpClient } from '../wechat/mp';
import { WechatError } from '../wechat/errors';
import { type AuthorizerRegistry, unauthorizedError } from './authorizers';
import type { ComponentClient } from './component-api';
import type { VerifyTickets } from './component-ticket';

export type ComponentConfig = Config['components'][number];

/** WeChat's answers about the verify ticket: expired (61005) or not one it issued (61006). */
const TICKET_REFUSED = new Set([61005, 61006]);
/** The component itself is refused: not a third-party platform's appid (61011), a wrong secret (40125, 41004). */
const COMPONENT_FAULT = new Set([61011]);

export function componentTokenSource(
  component: ComponentConfig,
  tickets: VerifyTickets,
  client: ComponentClient,
  clock: () => number,
): CredentialSource {
  return {
    key: `component:${component.appid}:token`,
    owner: component.appid,
    service: 'WeChat',
    // Fetched once something needs it (an authorizer's token, a pre-auth code), then kept fresh.
    eager: false,
    quotaBlocksAll: () => true,
    ready: async () => {
      await tickets.current(component.appid, clock());
    },
    async fetch({ timeoutMs }) {
      const ticket = await tickets.current(component.appid, clock());
      try {
        return await client.componentToken(component, ticket, timeoutMs());
      } catch (err) {
        if (!(err instanceof WechatError)) throw err;
        if (TICKET_REFUSED.has(err.errcode))
          throw new CredentialError(
            'no_pushed_ticket',
            `${err.endpoint} for ${component.appid} refused the latest verify ticket (errcode ${err.errcode}): the next push brings another`,
            err.errcode,
          );
        if (COMPONENT_FAULT.has(err.errcode) || err.errcode === 40001)
          throw new CredentialError(
            'config_fault',
            `${err.endpoint} for ${component.appid} answered errcode ${err.errcode}: check components[].appid and secret`,
            err.errcode,
          );
        throw err;
      }
    },
  };
}

/**
 * An authorizer's authorizer_access_token, stored under the account's own token key
 * (`mp:<appid>:token`), so that its tickets, QR codes and probes work as for a configured app.
 */
export function authorizerTokenSource(
  appid: string,
  deps: {
    config: Pick<Config, 'components'>;
    registry: AuthorizerRegistry;
    componentToken: (component: ComponentConfig) => CredentialSource;
    lifecycle: Pick<Lifecycle, 'get'>;
    client: ComponentClient;
    mp: MpClient;
  },
): CredentialSource {
  return {
    key: `mp:${appid}:token`,
    owner: appid,
    service: 'WeChat',
    eager: false,
    quotaBlocksAll: () => true,
    probe: (value, timeoutMs) => deps.mp.probe(value, timeoutMs),
    ready: () => deps.registry.requireAuthorized(appid),
    async fetch({ timeoutMs, call, deadline }) {
      const stored = await deps.registry.refreshToken(appid);
      const component = deps.config.components.find((c) => c.appid === stored.component);
      if (!component)
        throw new CredentialError(
          'config_fault',
          `${appid} authorized third-party platform ${stored.component}, which is no longer in config.components`,
        );
      let issued: Awaited<ReturnType<ComponentClient['authorizerToken']>>;
      try {
        issued = await withAccessToken(deps.lifecycle, deps.componentToken(component), { call, deadline }, (token) =>
          deps.client.authorizerToken(
            component.appid,
            token,
            { appid, refreshToken: stored.refreshToken },
            timeoutMs(),
          ),
        );
      } catch (err) {
        if (!(err instanceof WechatError)) throw err;
        if (err.errcode === 61003) {
          await deps.registry.unauthorize(component.appid, appid);
          throw unauthorizedError(appid, component.appid);
        }
        if (err.errcode === 61023)
          throw new CredentialError(
            'app_unauthorized',
            `WeChat no longer accepts the refresh token stored for ${appid} (61023): the account must authorize again`,
            err.errcode,
          );
        throw err;
      }
      // Stored before the token is committed: a process dying now leaves the one used, still valid.
      if (issued.refreshToken !== stored.refreshToken)
        await deps.registry.replaceRefreshToken(appid, stored.sealed, issued.refreshToken);
      return issued.accessToken;
    },
  };
}
