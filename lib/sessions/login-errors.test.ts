import { describe, expect, it } from 'vitest';
import { UpstreamUnavailable, WechatError } from '../wechat/errors';
import { exchangeRefusal } from './login-errors';

const refusal = (errcode: number) =>
  exchangeRefusal(new WechatError('sns/oauth2/access_token', errcode, 'x'), 'sns/oauth2/access_token', 'start again');

describe('exchangeRefusal', () => {
  it("names each of WeChat's answers to a code exchange, and what to do", () => {
    expect(refusal(40029)).toEqual({
      reason: 'code_invalid',
      message: 'WeChat does not know this code (40029): start again',
      errcode: 40029,
    });
    expect(refusal(45011)).toEqual({
      reason: 'upstream_unavailable',
      message: 'sns/oauth2/access_token: this user logs in too often (45011); wait a minute, then start again',
      errcode: 45011,
    });
    expect(refusal(-1)).toEqual({
      reason: 'upstream_unavailable',
      message: 'sns/oauth2/access_token: WeChat is unavailable (errcode -1); start again',
      errcode: -1,
    });
    expect(refusal(40125)).toEqual({
      reason: 'upstream_config',
      message:
        "sns/oauth2/access_token: WeChat refused this app's configuration (errcode 40125): check its appid, secret and IP allow-list",
      errcode: 40125,
    });
    expect(refusal(45009)).toEqual({
      reason: 'upstream_quota',
      message: "sns/oauth2/access_token: WeChat's daily quota for this app is exhausted (errcode 45009)",
      errcode: 45009,
    });
    expect(refusal(48001)).toEqual({
      reason: 'upstream_error',
      message: 'sns/oauth2/access_token answered errcode 48001',
      errcode: 48001,
    });
    expect(exchangeRefusal(new UpstreamUnavailable('sns/oauth2/access_token', 'timeout'), 'e', 'start again')).toEqual({
      reason: 'upstream_unavailable',
      message: 'e: WeChat is unavailable (timeout); start again',
    });
  });

  it('rethrows what is not an upstream failure', () => {
    const bug = new TypeError('bug');
    expect(() => exchangeRefusal(bug, 'e', 'again')).toThrow(bug);
  });
});
