import { describe, expect, it } from 'vitest';
import { isTokenRejected, wechatErrcode } from '../src/errors';

/** Errors as the SDKs throw them for WeChat's answer {"errcode":40001,...}. */
const sdkError = (props: Record<string, unknown>, message = 'invalid credential') =>
  Object.assign(new Error(message), props);

describe('isTokenRejected', () => {
  it('reads errcode or a numeric code, on the error or on the answer it carries', () => {
    expect(isTokenRejected(sdkError({ name: 'WeChatAPIError', code: 40001 }))).toBe(true); // co-wechat-api, wechat-api
    expect(isTokenRejected(sdkError({ errcode: 42001 }))).toBe(true);
    expect(isTokenRejected(sdkError({ code: '40014' }))).toBe(true);
    expect(isTokenRejected(sdkError({ response: { data: { errcode: 40001, errmsg: 'x' } } }))).toBe(true); // axios
    expect(isTokenRejected(sdkError({ data: { errcode: 40014 } }))).toBe(true);
    expect(wechatErrcode(sdkError({ code: 45009 }))).toBe(45009);
  });

  it('finds the errcode in a message when no property carries it', () => {
    expect(isTokenRejected(new Error('WeChat said errcode 40001: invalid credential'))).toBe(true);
    expect(isTokenRejected(new Error('{"errcode":42001,"errmsg":"access_token expired"}'))).toBe(true);
    expect(isTokenRejected('errcode=40014')).toBe(true);
  });

  it('is false for other errors, other codes and numbers that only contain a rejected code', () => {
    expect(isTokenRejected(sdkError({ code: 45009 }, 'errcode 40001 mentioned'))).toBe(false);
    expect(isTokenRejected(sdkError({ code: 'ECONNRESET' }))).toBe(false);
    expect(isTokenRejected(new Error('order 400011 failed'))).toBe(false);
    expect(isTokenRejected(new Error('timeout'))).toBe(false);
    expect(isTokenRejected(null)).toBe(false);
    expect(isTokenRejected(undefined)).toBe(false);
  });
});
