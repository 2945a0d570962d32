/**
 * The console page's script (docs/design.md §18), as the text the page carries and its CSP hash
 * names. Plain browser JavaScript, no framework: it signs each envelope call with WebCrypto as
 * every realm call is signed (§3.4), keeps the realm secret in sessionStorage only, and builds
 * the page with textContent (no HTML from data). Over 400 lines with its labels in two languages.
 */
import { ERRCODE_MEANINGS } from '../../wechat/errcodes';

const LABELS = {
  en: {
    title: 'wecred console',
    realm: 'Admin realm key',
    secret: 'Realm secret',
    signIn: 'Sign in',
    signOut: 'Sign out',
    signedIn: 'Signed in as {realm}',
    updated: 'Updated {t}, every {n} s',
    store: 'Store',
    reachable: 'reachable',
    unreachable: 'not answering',
    roundTrip: 'round trip {ms} ms',
    degraded: 'failing since {t}: values in memory are served',
    state: {
      fresh: 'fresh',
      due: 'due',
      refreshing: 'refreshing',
      failing: 'failing',
      refused: 'refused',
      absent: 'absent',
    },
    kind: {
      mp: 'Official Account access_token',
      mina: 'Mini Program access_token',
      web: 'Website app access_token',
      jsapi: 'jsapi_ticket',
      wx_card: 'wx_card ticket',
      work: 'WeCom access_token',
      corp: 'WeCom jsapi_ticket',
      agent: 'WeCom agent ticket',
      cos: 'COS temporary keys',
      component: 'component_access_token',
    },
    refreshed: 'refreshed {t}',
    expires: 'expires {t}',
    expiresIn: 'expires in {d}',
    expired: 'expired',
    window: 'refresh window from {t}',
    noValue: 'no value yet',
    lastError: 'Last error {t}',
    since: '(a refresh has succeeded since)',
    ip: 'Add {ip} to the IP allow-list',
    held: 'next attempt after {t}',
    blocked: 'quota used up: no calls before {t}',
    today: 'Fetches today: {n}',
    reasons: { refresh: 'refresh', force: 'force', rejected: 'rejected', probe: 'probe' },
    daily: 'daily quota',
    forces: 'forced refreshes',
    hourly: 'per hour',
    callers: 'by caller: {list}',
    force: 'Force refresh',
    forceAsk: 'Fetch a new value now? It counts against the daily quota.',
    confirm: 'Yes, refresh',
    cancel: 'Cancel',
    forced: 'Refreshed.',
    h: 'h',
    min: 'min',
    s: 's',
    errors: {
      7001: 'The call was not signed.',
      7002: 'Wrong realm key or secret: wecred refused the signature.',
      7003: "This computer's clock is too far from the server's.",
      7006: 'This realm is not an admin realm.',
      7201: 'The store does not answer.',
      network: 'wecred did not answer.',
      insecure: 'The console needs HTTPS (or localhost): browsers offer WebCrypto only there.',
    },
  },
  zh: {
    title: 'wecred 控制台',
    realm: '管理 realm 名称',
    secret: 'realm 密钥',
    signIn: '登录',
    signOut: '退出',
    signedIn: '已登录：{realm}',
    updated: '更新于 {t}，每 {n} 秒自动刷新',
    store: '存储',
    reachable: '连接正常',
    unreachable: '无法连接',
    roundTrip: '往返 {ms} 毫秒',
    degraded: '自 {t} 起故障：使用内存中的值',
    state: {
      fresh: '正常',
      due: '待刷新',
      refreshing: '刷新中',
      failing: '刷新失败',
      refused: '被拒绝',
      absent: '暂无',
    },
    kind: {
      mp: '公众号 access_token',
      mina: '小程序 access_token',
      web: '网站应用 access_token',
      jsapi: 'jsapi_ticket',
      wx_card: '卡券 api_ticket',
      work: '企业微信 access_token',
      corp: '企业微信 jsapi_ticket',
      agent: '企业微信应用 ticket',
      cos: 'COS 临时密钥',
      component: '第三方平台 component_access_token',
    },
    refreshed: '刷新于 {t}',
    expires: '过期于 {t}',
    expiresIn: '{d}后过期',
    expired: '已过期',
    window: '{t} 起可提前刷新',
    noValue: '尚无值',
    lastError: '最近错误 {t}',
    since: '（之后已刷新成功）',
    ip: '请将 {ip} 加入 IP 白名单',
    held: '{t} 后再次尝试',
    blocked: '额度已用完：{t} 前不再调用',
    today: '今日调用：{n} 次',
    reasons: { refresh: '刷新', force: '强制', rejected: '失效替换', probe: '探测' },
    daily: '每日额度',
    forces: '强制刷新额度',
    hourly: '每小时',
    callers: '调用方：{list}',
    force: '强制刷新',
    forceAsk: '立即获取新值？会计入每日额度。',
    confirm: '确定刷新',
    cancel: '取消',
    forced: '已刷新。',
    h: '小时',
    min: '分',
    s: '秒',
    errors: {
      7001: '请求未签名。',
      7002: 'realm 名称或密钥错误：签名被拒绝。',
      7003: '本机时钟与服务器相差太多。',
      7006: '该 realm 不是管理 realm。',
      7201: '存储无法连接。',
      network: 'wecred 没有响应。',
      insecure: '控制台需要 HTTPS（或 localhost）：浏览器只在安全环境中提供 WebCrypto。',
    },
  },
};

/** Runs in the browser: everything it uses is inside it (the page carries its source text). */
const MAIN = String.raw`
const zh = /^zh\b/i.test(navigator.language || '');
const T = zh ? LABELS.zh : LABELS.en;
document.documentElement.lang = zh ? 'zh-CN' : 'en';
const $ = (id) => document.getElementById(id);
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
const base = location.pathname.replace(/\/console\/?$/, '');
const every = Math.max(1, Number(new URLSearchParams(location.search).get('every')) || 10);
const enc = new TextEncoder();
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
let offset = 0;
let timer = 0;
let realm = sessionStorage.getItem('wecred.realm') || '';
let key = null;

function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}

for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];
document.title = T.title;

async function syncClock() {
  const t0 = Date.now();
  const res = await fetch(base + '/ping', { cache: 'no-store', credentials: 'omit' });
  const { pong } = await res.json();
  offset = pong - (t0 + Date.now()) / 2;
}

async function importKey(secret) {
  return crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** One signed envelope call: METHOD, PATH ('/'), TIMESTAMP, NONCE and the body's SHA-256, HMAC-SHA256 under the realm secret. */
async function call(interfaceName, para, retried) {
  const body = JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } });
  const ts = String(Math.floor((Date.now() + offset) / 1000));
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18))))
    .replace(/\+/g, '-').replace(/\//g, '_');
  const bodyHash = hex(await crypto.subtle.digest('SHA-256', enc.encode(body)));
  const signature = hex(await crypto.subtle.sign('HMAC', key, enc.encode(['POST', '/', ts, nonce, bodyHash].join('\n'))));
  const res = await fetch(base + '/', {
    method: 'POST',
    cache: 'no-store',
    credentials: 'omit',
    headers: {
      'content-type': 'application/json',
      'x-wecred-realm': realm,
      'x-wecred-timestamp': ts,
      'x-wecred-nonce': nonce,
      'x-wecred-signature': signature,
    },
    body,
  });
  const json = await res.json();
  if (json.returnCode === 7003 && !retried) {
    await syncClock();
    return call(interfaceName, para, true);
  }
  return json;
}

function showError(text) {
  $('message').textContent = text;
  $('message').hidden = !text;
}

function errorText(json) {
  return T.errors[json.returnCode] || (json.returnMessage + ' (' + json.returnCode + ')');
}

const time = (s) => new Date(s * 1000).toLocaleTimeString(zh ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });

function duration(s) {
  const hours = Math.floor(s / 3600);
  const mins = Math.floor((s % 3600) / 60);
  if (hours) return hours + ' ' + T.h + ' ' + mins + ' ' + T.min;
  if (mins) return mins + ' ' + T.min;
  return s + ' ' + T.s;
}

/** What a key names: its kind, and the force-refresh call that renews it (none for COS keys and component tokens). */
function describe(c) {
  const p = c.key.split(':');
  if (p[0] === 'mp' && p[2] === 'token') return { kind: c.appType, force: ['access_token', { appid: p[1] }] };
  if (p[0] === 'mp') return { kind: p[3], force: ['ticket', { appid: p[1], type: p[3] }] };
  if (p[0] === 'suite' || p[2] === 'suite') return { kind: 'work', force: null };
  if (p[0] === 'work') {
    // a secret without an agent stands under its kind where the agentid would be
    const ids = /^[0-9]+$/.test(p[2]) ? { corpid: p[1], agentid: p[2] } : { corpid: p[1], kind: p[2] };
    if (p[3] === 'token') return { kind: 'work', force: ['work.access_token', ids] };
    return { kind: p[3] === 'ticket' ? 'corp' : 'agent', force: [p[3] === 'ticket' ? 'work.ticket' : 'work.agent_ticket', ids] };
  }
  if (p[0] === 'component') return { kind: 'component', force: null };
  return { kind: 'cos', force: null };
}

function timeline(c, now, ahead) {
  const box = h('div', 'timeline');
  if (!c.present || !c.exp || !c.refreshedAt) {
    box.append(h('div', 'bar empty', T.noValue));
    return box;
  }
  const span = Math.max(1, c.exp - c.refreshedAt);
  const pct = (t) => Math.min(100, Math.max(0, ((t - c.refreshedAt) / span) * 100)) + '%';
  const bar = h('div', 'bar');
  const win = h('div', 'window');
  win.style.left = pct(c.exp - ahead);
  win.style.right = '0';
  const used = h('div', 'used');
  used.style.width = pct(now);
  const mark = h('div', 'now');
  mark.style.left = pct(now);
  bar.append(used, win, mark);
  const left = c.exp > now ? fill(T.expiresIn, { d: duration(c.exp - now) }) : T.expired;
  const legend = h('div', 'legend');
  legend.append(
    h('span', '', fill(T.refreshed, { t: time(c.refreshedAt) })),
    h('span', 'win', fill(T.window, { t: time(c.exp - ahead) })),
    h('span', '', fill(T.expires, { t: time(c.exp) }) + ' · ' + left),
  );
  box.append(bar, legend);
  return box;
}

function meter(label, used, limit) {
  const row = h('div', 'meter');
  const bar = h('div', 'bar');
  const fillEl = h('div', used >= limit * 0.8 ? 'used high' : 'used');
  fillEl.style.width = Math.min(100, (used / limit) * 100) + '%';
  bar.append(fillEl);
  row.append(h('span', 'label', label), bar, h('span', 'count', used + ' / ' + limit));
  return row;
}

function lastError(c) {
  const e = c.lastError;
  const box = h('div', e.current ? 'error' : 'error past');
  box.append(h('div', 'when', fill(T.lastError, { t: time(e.at) }) + (e.current ? '' : ' ' + T.since)));
  const meaning = e.errcode === undefined ? undefined : ERRCODES[e.errcode];
  if (e.errcode !== undefined)
    box.append(h('div', 'errcode', 'errcode ' + e.errcode + (meaning ? ': ' + meaning[zh ? 1 : 0] : '')));
  if (e.ip) box.append(h('div', 'ip', fill(T.ip, { ip: e.ip })));
  box.append(h('div', 'detail', e.message));
  return box;
}

function usage(c) {
  const box = h('div', 'usage');
  const t = c.today;
  box.append(h('div', 'total', fill(T.today, { n: t.fetches })));
  const reasons = ['refresh', 'force', 'rejected', 'probe'].filter((r) => t[r].total > 0);
  if (reasons.length) box.append(h('div', 'reasons', reasons.map((r) => T.reasons[r] + ' ' + t[r].total).join(' · ')));
  const callers = {};
  for (const r of ['refresh', 'force', 'rejected', 'probe'])
    for (const [who, n] of Object.entries(t[r].byCaller)) callers[who] = (callers[who] || 0) + n;
  const list = Object.entries(callers).map(([who, n]) => who + ' ' + n).join(', ');
  if (list) box.append(h('div', 'callers', fill(T.callers, { list })));
  if (t.dailyBudget) box.append(meter(T.daily, t.fetches, t.dailyBudget));
  if (t.forceBudget) box.append(meter(T.forces, t.force.total + t.rejected.total, t.forceBudget));
  for (const b of c.hourlyBudgets) box.append(meter(T.hourly + ' · ' + b.scope, b.used, b.limit));
  return box;
}

/** Cards are drawn anew at each refresh: what the operator is doing with one is kept here, by key. */
const asking = new Set();
const notes = new Map();

function button(cls, text, onClick) {
  const b = h('button', cls, text);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function actions(c, what) {
  const box = h('div', 'actions');
  const redraw = () => box.replaceChildren(...parts());
  const parts = () => {
    if (asking.has(c.key))
      return [h('span', 'ask', T.forceAsk), button('confirm', T.confirm, confirm), button('cancel', T.cancel, cancel)];
    const note = notes.get(c.key);
    return [button('force', T.force, ask), ...(note ? [h('span', note[0], note[1])] : [])];
  };
  const ask = () => {
    asking.add(c.key);
    notes.delete(c.key);
    redraw();
  };
  const cancel = () => {
    asking.delete(c.key);
    redraw();
  };
  const confirm = async () => {
    asking.delete(c.key);
    notes.set(c.key, ['pending', '…']);
    redraw();
    const json = await call(what[0], Object.assign({ force: true }, what[1])).catch(() => null);
    if (!json) notes.set(c.key, ['failed', T.errors.network]);
    else notes.set(c.key, json.returnCode === 0 ? ['done', T.forced] : ['failed', errorText(json)]);
    await refresh();
  };
  redraw();
  return box;
}

function card(c, now, ahead) {
  const what = describe(c);
  const el = h('article', 'cred');
  el.dataset.key = c.key;
  el.dataset.state = c.state;
  const head = h('header');
  const title = h('div', 'title');
  title.append(h('h2', '', T.kind[what.kind] || what.kind), h('div', 'key', c.key));
  head.append(title, h('span', 'state ' + c.state, T.state[c.state] || c.state));
  el.append(head, timeline(c, now, ahead));
  if (c.heldUntil) el.append(h('div', 'hold', fill(T.held, { t: time(c.heldUntil) })));
  if (c.blockedUntil) el.append(h('div', 'hold', fill(T.blocked, { t: time(c.blockedUntil) })));
  if (c.lastError) el.append(lastError(c));
  el.append(usage(c));
  if (what.force) el.append(actions(c, what.force));
  return el;
}

function render(data) {
  const store = $('store');
  store.replaceChildren(
    h('h2', '', T.store),
    h('span', 'adapter', data.store),
    h('span', 'reachable ok', T.reachable),
    h('span', 'rtt', fill(T.roundTrip, { ms: data.storeRoundTripMs < 0.1 ? '< 0.1' : data.storeRoundTripMs })),
  );
  if (data.degradedSince) store.append(h('span', 'degraded', fill(T.degraded, { t: time(data.degradedSince) })));
  $('creds').replaceChildren(...data.credentials.map((c) => card(c, data.now, data.refreshAheadSeconds)));
  $('updated').textContent = fill(T.updated, { t: time(data.now), n: every });
}

async function refresh() {
  clearTimeout(timer);
  let json;
  try {
    json = await call('status', {});
  } catch {
    showError(T.errors.network);
    timer = setTimeout(refresh, every * 1000);
    return;
  }
  if (json.returnCode === 0) {
    showError('');
    render(json.returnData);
  } else if (json.returnCode === 7201) {
    showError(T.errors[7201]);
    const store = $('store').querySelector('.reachable');
    if (store) {
      store.className = 'reachable down';
      store.textContent = T.unreachable;
    }
  } else {
    signOut();
    showError(errorText(json));
    return;
  }
  timer = setTimeout(refresh, every * 1000);
}

async function start() {
  $('signin').hidden = true;
  $('dash').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = fill(T.signedIn, { realm });
  try {
    await syncClock();
  } catch {
    // signing with this computer's clock; a 7003 answer syncs it again
  }
  await refresh();
}

function signOut() {
  clearTimeout(timer);
  sessionStorage.removeItem('wecred.realm');
  sessionStorage.removeItem('wecred.secret');
  key = null;
  asking.clear();
  notes.clear();
  $('creds').replaceChildren();
  $('store').replaceChildren();
  $('dash').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = '';
  $('updated').textContent = '';
  $('signin').hidden = false;
  showError('');
}

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const secret = $('secret').value;
  $('secret').value = '';
  realm = $('realm').value.trim();
  if (!realm || !secret) return;
  key = await importKey(secret);
  sessionStorage.setItem('wecred.realm', realm);
  sessionStorage.setItem('wecred.secret', secret);
  await start();
});
$('signout').addEventListener('click', signOut);

if (!window.isSecureContext || !crypto.subtle) {
  $('signin').hidden = true;
  showError(T.errors.insecure);
} else if (realm && sessionStorage.getItem('wecred.secret')) {
  importKey(sessionStorage.getItem('wecred.secret')).then((k) => {
    key = k;
    return start();
  });
} else {
  $('realm').value = realm;
}
`;

/** The script the page carries: the labels and errcode meanings, then MAIN, in one strict-mode scope. */
export const CONSOLE_SCRIPT = `(() => {\n'use strict';\nconst LABELS = ${json(LABELS)};\nconst ERRCODES = ${json(ERRCODE_MEANINGS)};\n${MAIN}\n})();\n`;

/** JSON that cannot end the script element it stands in. */
function json(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}
