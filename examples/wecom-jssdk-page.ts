/**
 * The page side of WeCom's JS-SDK (npm @wecom/jssdk), bundled into the page: ww.register's
 * getConfigSignature and getAgentConfigSignature fed from wecred's public `work.jsapi.config`,
 * one call per page URL for both (the same timestamp and nonceStr, the corp ticket and the
 * agent's). README "Use it from your SDK".
 *
 *   registerWecom('https://cred.example.com', { corpid: 'ww0123456789abcdef', agentid: '1000002' }, ['getContext']);
 *   const { entry } = await ww.getContext();
 */
import * as ww from '@wecom/jssdk';
import type { WorkAgentPara, WorkJsapiConfigData } from 'wecred-client';

export function registerWecom(wecredUrl: string, agent: WorkAgentPara, jsApiList: string[]): void {
  const signatures = new Map<string, Promise<WorkJsapiConfigData>>();
  const signed = (url: string) => {
    let answer = signatures.get(url);
    if (!answer) {
      answer = workJsapiConfig(wecredUrl, { ...agent, url, jsApiList });
      signatures.set(url, answer);
    }
    return answer;
  };
  ww.register({
    corpId: agent.corpid,
    agentId: agent.agentid,
    jsApiList,
    getConfigSignature: async (url) => (await signed(url)).config,
    getAgentConfigSignature: async (url) => (await signed(url)).agentConfig!,
  });
}

/** wecred's envelope API from the browser: a public interface, so nothing is signed. */
async function workJsapiConfig(wecredUrl: string, para: object): Promise<WorkJsapiConfigData> {
  const res = await fetch(`${wecredUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ interface: { interfaceName: 'work.jsapi.config', para } }),
  });
  const answer = (await res.json()) as { returnCode: number; returnMessage: string; returnData: WorkJsapiConfigData };
  if (answer.returnCode !== 0)
    throw new Error(`work.jsapi.config: ${answer.returnMessage} (returnCode ${answer.returnCode})`);
  return answer.returnData;
}
