/**
 * The suite URL against WeCom's official examples (docs/protocol.md §4.5, §12.2): the callback
 * crypto vectors (URL check and an encrypted push, receiveId wx5823bf96d3bd56c7) and the
 * documented suite_ticket event, each at the instant its timestamp names.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encryptFor, sha1Sorted } from '../sim/suite';
import { startStack, type Stack } from './support/stack';

const TOKEN = 'QDG6eK';
const KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

async function at(seconds: number, suiteId: string): Promise<Stack> {
  const s = await startStack({
    simOptions: { now: seconds * 1000 },
    env: { WECRED_MASTER_KEY: MASTER_KEY },
    config: { suites: [{ suiteId, secret: 'vector-suite-secret', token: TOKEN, encodingAESKey: KEY }] },
  });
  open.push(s, s.sim);
  return s;
}

describe("WeCom's official vectors at the suite URL", () => {
  it('the URL check (VerifyURL vector) answers the decrypted echostr', async () => {
    const s = await at(1409659589, 'wx5823bf96d3bd56c7');
    const echostr = 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==';
    const q = new URLSearchParams({
      msg_signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
      timestamp: '1409659589',
      nonce: '263014780',
      echostr,
    });
    const res = await fetch(`${s.url}/work/suite/wx5823bf96d3bd56c7?${q}`);
    expect([res.status, await res.text()]).toEqual([200, '1616140317555161061']);
    q.set('nonce', '263014781');
    expect((await fetch(`${s.url}/work/suite/wx5823bf96d3bd56c7?${q}`)).status).toBe(401);
  });

  it('the encrypted push (DecryptMsg vector) is accepted at its instant, and refused as stale a day later', async () => {
    const encrypt =
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==';
    const q = 'msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813&nonce=1372623149';
    const body = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`;
    const s = await at(1409659813, 'wx5823bf96d3bd56c7');
    const res = await fetch(`${s.url}/work/suite/wx5823bf96d3bd56c7?${q}`, { method: 'POST', body });
    expect([res.status, await res.text()]).toEqual([200, 'success']);
    expect(s.logs.some((l) => l.event === 'suite_event')).toBe(true);
    s.sim.advance(86_400_000);
    expect((await fetch(`${s.url}/work/suite/wx5823bf96d3bd56c7?${q}`, { method: 'POST', body })).status).toBe(401);
  });

  it('the documented suite_ticket event (with its space before the CDATA) is kept', async () => {
    const suiteId = 'ww4asffe99e54c0fxxxx';
    const s = await at(1403610513, suiteId);
    const xml =
      '<xml>\n<SuiteId><![CDATA[ww4asffe99e54c0fxxxx]]></SuiteId>\n<InfoType> <![CDATA[suite_ticket]]></InfoType>\n<TimeStamp>1403610513</TimeStamp>\n<SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket>\n</xml>';
    const encrypted = encryptFor(KEY, suiteId, xml);
    const signature = sha1Sorted([TOKEN, '1403610513', '380320359', encrypted]);
    const res = await fetch(
      `${s.url}/work/suite/${suiteId}?msg_signature=${signature}&timestamp=1403610513&nonce=380320359`,
      {
        method: 'POST',
        body: `<xml><ToUserName><![CDATA[${suiteId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`,
      },
    );
    expect([res.status, await res.text()]).toEqual([200, 'success']);
    const record = await s.store.getRecord(`suite:${suiteId}:ticket`, s.sim.now());
    expect(JSON.parse(record!).ticket).toBe('asdfasfdasdfasdf');
  });
});
