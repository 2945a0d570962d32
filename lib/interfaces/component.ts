/**
 * Third-party platforms (docs/design.md §19): the envelope interfaces `component.authorize_url`
 * (realm) and `component.authorizers` (admin), and what the component routes use. The flow itself
 * is lib/third-party/component-flow.ts.
 */
import type { RealmConfig } from '../config/types';
import { createComponentFlow, AUTH_TYPES, FlowError } from '../third-party/component-flow';
import { authorizerApp } from '../third-party/authorizers';
import type { ComponentConfig } from '../third-party/component-credentials';
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';
import { assertRealmMayUse } from './apps';
import { ApiError, toApiError, type ErrorName } from './errors';
import { lifetime } from './mp';
import { optionalString, requiredString } from './para';
import { perServices } from './per-services';
import type { InterfaceDef, Services } from './types';

/** The component flow over this deployment's config, store and credentials (one per Services). */
export const componentFlow = perServices((services) =>
  createComponentFlow({
    config: services.config,
    store: services.store,
    clock: services.clock,
    log: services.log,
    credentials: services.credentials,
  }),
);

/** The configured component `appid` names (or the only one), within the realm's apps. */
export function resolveComponent(
  services: Services,
  realm: RealmConfig | null,
  appid: string | undefined,
): ComponentConfig {
  const all = services.config.components;
  const component = appid === undefined ? (all.length === 1 ? all[0] : undefined) : all.find((c) => c.appid === appid);
  if (!component) {
    if (appid === undefined)
      throw new ApiError('bad_para', 'para.component_appid is required: this deployment has no single component');
    throw new ApiError('unknown_app', `unknown component ${appid}`);
  }
  assertRealmMayUse(realm, component.appid, 'app');
  return component;
}

const FLOW_ERRORS: Record<FlowError['reason'], ErrorName> = {
  not_configured: 'not_found',
  redirect_not_allowed: 'bad_para',
  bad_link: 'bad_para',
  link_used: 'bad_para',
  refused: 'bad_para',
};

/** Any failure of the flow as an ApiError: WeChat's refusal of a code is 40029 with its errcode. */
export function componentError(err: unknown): ApiError {
  if (err instanceof FlowError) return new ApiError(FLOW_ERRORS[err.reason], err.message);
  if (err instanceof UpstreamUnavailable)
    return new ApiError('upstream_unavailable', `WeChat did not answer ${err.endpoint} (${err.reason})`);
  if (err instanceof WechatError) {
    const what = `${err.endpoint} answered errcode ${err.errcode}`;
    if (err.errcode === 61009 || err.errcode === 61010)
      return new ApiError('bad_code', `${what}: the auth_code is used, expired or unknown`, err.errcode);
    const fault = classifyUpstream(err);
    const code: ErrorName =
      fault === 'config' ? 'config_fault' : fault === 'retry' ? 'upstream_unavailable' : 'upstream_error';
    return new ApiError(code, what, err.errcode);
  }
  return toApiError(err);
}

export const componentAuthorizeUrl: InterfaceDef = {
  name: 'component.authorize_url',
  access: 'realm',
  async handle({ para, realm, call, services }) {
    const component = resolveComponent(services, realm, optionalString(para, 'component_appid', 64));
    const landing = requiredString(para, 'redirect_uri', 2048);
    const state = optionalString(para, 'state', 128);
    const raw = para.auth_type;
    const authType =
      raw === undefined ? 3 : typeof raw === 'number' || typeof raw === 'string' ? Number(raw) : Number.NaN;
    if (!(AUTH_TYPES as readonly number[]).includes(authType))
      throw new ApiError(
        'bad_para',
        'para.auth_type must be 1 (Official Accounts), 2 (Mini Programs), 3 (both) or 4 to 6',
      );
    const bizAppid = optionalString(para, 'biz_appid', 64);
    if (bizAppid !== undefined && !/^wx[0-9a-zA-Z]{16}$/.test(bizAppid))
      throw new ApiError('bad_para', 'para.biz_appid must be an appid ("wx" followed by 16 letters or digits)');
    try {
      const links = await componentFlow(services).links(
        component,
        {
          landing,
          authType,
          ...(state === undefined ? {} : { state }),
          ...(bizAppid === undefined ? {} : { bizAppid }),
        },
        call,
      );
      return { component_appid: component.appid, ...links };
    } catch (err) {
      throw componentError(err);
    }
  },
};

export const componentAuthorizers: InterfaceDef = {
  name: 'component.authorizers',
  access: 'admin',
  async handle({ services }) {
    const { credentials } = services;
    const authorizers = await credentials.components.authorizers.all();
    const now = services.clock();
    const components = await Promise.all(
      services.config.components.map(async (c) => {
        const created = await credentials.components.tickets.createdAt(c.appid, now);
        return { component_appid: c.appid, verify_ticket_at: created ?? null };
      }),
    );
    const listed = await Promise.all(
      authorizers.map(async (a) => {
        const state = await credentials.peek(credentials.token(authorizerApp(a)), []);
        const row = state.row && state.row.value !== '' ? state.row : null;
        return {
          authorizer_appid: a.appid,
          component_appid: a.component,
          state: a.state,
          func_info: a.funcInfo,
          authorized_at: Math.floor(a.authorizedAt / 1000),
          updated_at: Math.floor(a.updatedAt / 1000),
          token: row ? { fresh: state.fresh, ...lifetime(services, row) } : null,
        };
      }),
    );
    return { components, authorizers: listed };
  },
};
