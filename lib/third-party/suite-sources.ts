/**
 * The credentials of a WeCom third-party app (suite) as lifecycle sources (lib/credentials/source.ts):
 * the suite_access_token, the pre-auth code and each authorized corp's access_token, each leased,
 * refreshed ahead and fetched once per refresh across instances. docs/design.md §20.
 */
import type { Config } from '../config/types';
import { HOUR_MS } from '../credentials/day';
import { CredentialError } from '../credentials/errors';
import type { Lifecycle } from '../credentials/lifecycle';
import { fromTokenEndpoint, withAccessToken } from '../credentials/mp';
import type { CredentialSource } from '../credentials/source';
import type { WorkClient } from '../wechat/work';
import type { SuiteClient } from './suite-client';

type Suite = Config['suites'][number];

/** WeCom's blocks of an exhausted limit last an hour (as for its other APIs, docs/protocol.md §4.6). */
const oneHourLater = (now: number) => now + HOUR_MS;

/** `service/get_suite_token` with the latest pushed suite_ticket; without one, a clear refusal and no call. */
export function suiteTokenSource(
  suite: Suite,
  ticketOf: (suiteId: string) => Promise<string | undefined>,
  client: SuiteClient,
): CredentialSource {
  const { suiteId } = suite;
  /** The latest suite_ticket; without one, a clear refusal before anything counts as a fetch. */
  const pushedTicket = async () => {
    const ticket = await ticketOf(suiteId);
    if (ticket === undefined)
      throw new CredentialError(
        'no_pushed_ticket',
        `no suite_ticket of suite ${suiteId} has arrived yet: WeCom pushes one every 10 minutes to POST /work/suite/${suiteId} (the suite's 指令回调URL)`,
      );
    return ticket;
  };
  return {
    key: `suite:${suiteId}:token`,
    owner: suiteId,
    service: 'WeCom',
    // Fetched once used (a deployment may wait for its first ticket), then kept fresh by the refresher.
    eager: false,
    quotaBlocksAll: () => true,
    quotaResetsAt: oneHourLater,
    ready: async () => {
      await pushedTicket();
    },
    async fetch({ timeoutMs }) {
      const ticket = await pushedTicket();
      return fromTokenEndpoint(suiteId, "the suite's", () =>
        client.suiteToken(suiteId, suite.secret, ticket, timeoutMs()),
      );
    },
  };
}

/** `service/get_pre_auth_code` (20 minutes), shared by every install link made while it lives. */
export function suitePreAuthSource(
  suite: Suite,
  token: CredentialSource,
  lifecycle: Pick<Lifecycle, 'get'>,
  client: SuiteClient,
): CredentialSource {
  return {
    key: `suite:${suite.suiteId}:pre_auth_code`,
    owner: suite.suiteId,
    service: 'WeCom',
    eager: false,
    quotaBlocksAll: () => true,
    quotaResetsAt: oneHourLater,
    fetch: ({ timeoutMs, call, deadline }) =>
      withAccessToken(lifecycle, token, { call, deadline }, (t) => client.preAuthCode(t, timeoutMs())),
  };
}

/**
 * `service/get_corp_token` for an authorized corp, with its permanent code (read and opened at each
 * fetch: a cancellation stops the next one) and the suite_access_token (a rejected one is replaced once).
 */
export function suiteCorpTokenSource(
  suite: Suite,
  corpid: string,
  permanentCodeOf: (suiteId: string, corpid: string) => Promise<string>,
  token: CredentialSource,
  lifecycle: Pick<Lifecycle, 'get'>,
  client: SuiteClient,
  work: WorkClient,
): CredentialSource {
  return {
    key: `work:${corpid}:suite:${suite.suiteId}:token`,
    owner: corpid,
    service: 'WeCom',
    eager: false,
    probe: (value, timeoutMs) => work.probe(value, timeoutMs),
    quotaBlocksAll: () => true,
    quotaResetsAt: oneHourLater,
    async fetch({ timeoutMs, call, deadline }) {
      const code = await permanentCodeOf(suite.suiteId, corpid);
      return withAccessToken(lifecycle, token, { call, deadline }, (t) =>
        client.corpToken(t, corpid, code, timeoutMs()),
      );
    },
  };
}
