/** The route table (docs/design.md §3.3), tried in this order; `POST /` (the envelope) is the app's own. */
import { jsapiConfig, ping, verifyFile } from './basic';
import { componentCallback, componentPush } from './component';
import { consoleRoute } from './console';
import { jsdkdQuery } from './jsdkd';
import { metricsRoute } from './metrics';
import { oauthAuthorize, oauthCallback } from './oauth';
import type { Route } from './types';
import { suitePush } from '../../third-party/suite-push';
import { wechatServer } from './wechat-server';

export const ROUTES: readonly Route[] = [
  ping,
  verifyFile,
  jsapiConfig,
  jsdkdQuery,
  wechatServer,
  componentPush,
  componentCallback,
  suitePush,
  oauthAuthorize,
  oauthCallback,
  consoleRoute,
  metricsRoute,
];

export { defineRoute, type Route, type RouteContext } from './types';
