/**
 * OAuth web login routes, browsers only: `GET /oauth/:appid/authorize` (302 to WeChat, setting the login cookie) and
 * `GET /oauth/:appid/callback` (302 to the allowed target with the signed result). Failures never redirect: an HTML
 * page for browsers, else the routes' JSON error. docs/design.md §3.3, §11.2.
 */
import { admitLogin } from '../../interfaces/login-limit';
import { oauthApp, oauthError, oauthFlow } from '../../interfaces/oauth';
import { crashFields } from '../../log/crash';
import { clientAddress } from '../client-address';
import type { HttpRequest, HttpResponse } from '../http';
import { defineRoute, type RouteContext } from './types';

const NO_STORE = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

/** `work` answers the Location and may put headers (set-cookie) in `extra`, which go out with a failure too. */
async function answer(
  ctx: RouteContext,
  work: (extra: Record<string, string>) => Promise<string>,
): Promise<HttpResponse> {
  const extra: Record<string, string> = {};
  try {
    const location = await work(extra);
    return { status: 302, headers: { location, ...NO_STORE, ...extra }, body: '' };
  } catch (err) {
    const { error, reason } = oauthError(err);
    if (error.code === 'internal')
      ctx.services.log.log('error', 'route_crashed', { route: 'oauth', ...crashFields(err) });
    const body = { error: { ...error.toJSON(), ...(reason === undefined ? {} : { reason }) } };
    if (wantsHtml(ctx.req))
      return {
        status: error.httpStatus,
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'none'",
          ...NO_STORE,
          ...extra,
        },
        body: errorPage(error.message, reason ?? error.code),
      };
    return {
      status: error.httpStatus,
      headers: { 'content-type': 'application/json; charset=utf-8', ...NO_STORE, ...extra },
      body: JSON.stringify(body),
    };
  }
}

function wantsHtml(req: HttpRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function errorPage(message: string, reason: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>微信登录失败</title></head>
<body><h1>微信登录失败 / WeChat login failed</h1><p id="message">${escapeHtml(message)}</p><p id="reason"><code>${escapeHtml(reason)}</code></p></body></html>`;
}

/** A query value, undefined when absent. */
const q = (req: HttpRequest, name: string) => req.query[name];

export const oauthAuthorize = defineRoute({
  label: 'oauth_authorize',
  paths: ['/oauth/:appid/authorize'],
  methods: ['GET'],
  handle: (ctx) =>
    answer(ctx, async (extra) => {
      const app = await oauthApp(ctx.services, null, ctx.params.appid);
      const { location, setCookie } = await oauthFlow(ctx.services).begin(app, {
        redirect: q(ctx.req, 'redirect'),
        scope: q(ctx.req, 'scope') || undefined,
        state: q(ctx.req, 'state') || undefined,
      });
      extra['set-cookie'] = setCookie;
      return location;
    }),
});

export const oauthCallback = defineRoute({
  label: 'oauth_callback',
  paths: ['/oauth/:appid/callback'],
  methods: ['GET'],
  handle: (ctx) =>
    answer(ctx, async (extra) => {
      const app = await oauthApp(ctx.services, null, ctx.params.appid);
      const flow = oauthFlow(ctx.services);
      // A callback ends this browser's login whatever happens: nothing is left to retry with.
      const clear = flow.clearCookie(app);
      if (clear !== undefined) extra['set-cookie'] = clear;
      const client = clientAddress(ctx.req, ctx.services.config.clients.addressHeader);
      return flow.finish(
        app,
        {
          code: q(ctx.req, 'code'),
          state: q(ctx.req, 'state'),
          cookie: ctx.req.headers.cookie,
          admit: () => admitLogin(ctx.services, client),
        },
        ctx.call,
      );
    }),
});
