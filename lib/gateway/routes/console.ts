/**
 * GET /console (docs/design.md §18): one self-contained page, its style and script inline and
 * named by hash in a strict Content-Security-Policy, so nothing else may run or load; it talks
 * to this origin only (GET /ping for the clock, POST / signed in the browser).
 */
import { createHash } from 'node:crypto';
import { defineRoute } from './types';
import { CONSOLE_SCRIPT } from './console-script';

const STYLE = `
:root { color-scheme: light; --ink: #1d2129; --muted: #6b7280; --line: #e5e7eb; --ok: #07c160; --warn: #f59e0b;
  --bad: #e53935; --info: #2563eb; font: 15px/1.45 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; color: var(--ink); background: #f5f6f8; }
body > header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 12px 20px;
  background: #fff; border-bottom: 1px solid var(--line); }
body > header h1 { font-size: 18px; margin: 0; flex: 1 1 auto; }
#who, #updated { color: var(--muted); font-size: 13px; }
main { padding: 16px 20px 40px; max-width: 1280px; margin: 0 auto; }
form#signin { display: grid; gap: 10px; max-width: 360px; margin: 40px auto; background: #fff; padding: 20px;
  border: 1px solid var(--line); border-radius: 10px; }
label { display: grid; gap: 4px; font-size: 13px; color: var(--muted); }
input { font: inherit; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.primary, button.confirm { background: var(--ok); border-color: var(--ok); color: #fff; }
#message { max-width: 720px; margin: 12px auto; padding: 10px 14px; border-radius: 8px; background: #fdecea;
  color: #8a1c1c; border: 1px solid #f5c2c0; }
#store { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: baseline; background: #fff; padding: 12px 16px;
  border: 1px solid var(--line); border-radius: 10px; margin-bottom: 16px; }
#store h2 { font-size: 15px; margin: 0; }
.adapter { font-weight: 600; }
.reachable.ok { color: var(--ok); } .reachable.down, .degraded { color: var(--bad); }
#creds { display: grid; gap: 14px; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); }
.cred { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; display: grid;
  gap: 10px; align-content: start; }
.cred > header { display: flex; justify-content: space-between; gap: 8px; align-items: flex-start; }
.cred h2 { font-size: 15px; margin: 0; }
.key { color: var(--muted); font-size: 12px; word-break: break-all; }
.state { font-size: 12px; padding: 2px 8px; border-radius: 99px; white-space: nowrap; background: #eef2f7; }
.state.fresh { background: #e6f8ee; color: #067a3d; } .state.due, .state.refreshing { background: #e8effd; color: var(--info); }
.state.failing, .state.refused { background: #fdecea; color: #b3261e; } .state.absent { color: var(--muted); }
.timeline .bar, .meter .bar { position: relative; height: 10px; background: #eef2f7; border-radius: 5px; overflow: hidden; }
.timeline .bar.empty { height: auto; padding: 4px 8px; font-size: 12px; color: var(--muted); }
.timeline .used { position: absolute; inset: 0 auto 0 0; background: #b7e4c7; }
.timeline .window { position: absolute; top: 0; bottom: 0; background: repeating-linear-gradient(45deg, #fcd9a4 0 4px, #fde9c8 4px 8px); }
.timeline .now { position: absolute; top: -2px; bottom: -2px; width: 2px; background: var(--ink); }
.legend { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 2px 10px; font-size: 12px; color: var(--muted); margin-top: 4px; }
.legend .win { color: #b45309; }
.error { background: #fdecea; border-radius: 8px; padding: 8px 10px; font-size: 13px; display: grid; gap: 2px; }
.error.past { background: #f3f4f6; color: var(--muted); }
.error .errcode { font-weight: 600; } .error .ip { font-weight: 600; color: #b3261e; }
.error .detail { color: var(--muted); word-break: break-word; }
.hold { font-size: 13px; color: #b45309; }
.usage { font-size: 13px; display: grid; gap: 4px; }
.reasons, .callers { color: var(--muted); }
.meter { display: grid; grid-template-columns: minmax(90px, auto) 1fr auto; gap: 8px; align-items: center; }
.meter .label { color: var(--muted); font-size: 12px; word-break: break-all; }
.meter .used { height: 100%; background: var(--info); } .meter .used.high { background: var(--bad); }
.meter .count { font-variant-numeric: tabular-nums; font-size: 12px; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; font-size: 13px; }
.actions .done { color: var(--ok); } .actions .failed { color: var(--bad); }
@media (max-width: 480px) {
  body > header, main { padding-left: 12px; padding-right: 12px; }
  #creds { grid-template-columns: 1fr; }
}
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Only this page's own style and script; requests to this origin only; no framing, forms or base URL. */
const CSP = [
  "default-src 'none'",
  `script-src ${sha256(CONSOLE_SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>wecred console</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 data-t="title">wecred console</h1>
<span id="who"></span>
<span id="updated"></span>
<button id="signout" type="button" data-t="signOut" hidden>Sign out</button>
</header>
<main>
<p id="message" role="alert" hidden></p>
<form id="signin" autocomplete="off">
<label><span data-t="realm">Admin realm key</span><input id="realm" autocomplete="username" required></label>
<label><span data-t="secret">Realm secret</span><input id="secret" type="password" autocomplete="current-password" required></label>
<button class="primary" type="submit" data-t="signIn">Sign in</button>
</form>
<section id="dash" hidden>
<div id="store"></div>
<div id="creds"></div>
</section>
</main>
<script>${CONSOLE_SCRIPT}</script>
</body>
</html>
`;

export const consoleRoute = defineRoute({
  label: 'console',
  paths: ['/console'],
  methods: ['GET'],
  handle: () => ({
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CSP,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    },
    body: PAGE,
  }),
});
