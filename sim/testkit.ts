/** Small fetch helpers for the simulator's own tests (not used by the server). docs/design.md §8. */
import type { WechatSim } from './wechat-sim';

export type Json = Record<string, unknown>;

export async function getJson(sim: WechatSim, pathAndQuery: string): Promise<Json> {
  const res = await fetch(sim.url + pathAndQuery);
  return (await res.json()) as Json;
}

export function classic(sim: WechatSim, appid: string, secret: string): Promise<Json> {
  const q = new URLSearchParams({ grant_type: 'client_credential', appid, secret });
  return getJson(sim, `/cgi-bin/token?${q}`);
}

export async function stable(sim: WechatSim, body: unknown): Promise<Json> {
  const res = await fetch(`${sim.url}/cgi-bin/stable_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return (await res.json()) as Json;
}

export function ticket(sim: WechatSim, accessToken: string, type = 'jsapi'): Promise<Json> {
  const q = new URLSearchParams({ access_token: accessToken, type });
  return getJson(sim, `/cgi-bin/ticket/getticket?${q}`);
}
