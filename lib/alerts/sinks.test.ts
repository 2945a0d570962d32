import { describe, expect, it } from 'vitest';
import { robotText } from './sinks';

describe("the robot's text", () => {
  it('says what fires and what ended, with the errcode in plain words and the IP to allow-list', () => {
    const text = robotText([
      {
        condition: 'refresh:mp:wx1:token',
        status: 'firing',
        kind: 'failing',
        subject: 'mp:wx1:token',
        owner: 'wx1',
        errcode: 40001,
        detail: 'cgi-bin/token for wx1 answered errcode 40001',
      },
      { condition: 'budget:x', status: 'resolved', kind: 'budget', subject: 'x', detail: 'back under 80 %' },
    ]);
    expect(text).toBe(
      [
        'wecred 告警 / alerts',
        '❗ mp:wx1:token (wx1): 刷新失败，已无可用值 / refresh failed, nothing usable left',
        '   errcode 40001: AppSecret 错误（获取 token 时），或 token 已被替换 / the AppSecret is wrong (from a token endpoint), or the token was replaced',
        '   cgi-bin/token for wx1 answered errcode 40001',
        '✅ x: 已恢复 / recovered',
      ].join('\n'),
    );
  });

  it('fits in the 2048 bytes a robot text holds, cut on a character', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({
      condition: `budget:s${i}`,
      status: 'firing' as const,
      kind: 'budget' as const,
      subject: `范围${i}`,
      detail: '1700 of 2000 calls used today (85 %)',
    }));
    const text = robotText(items);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(2048);
    expect(Buffer.byteLength(text)).toBeGreaterThan(2040);
    expect(text.endsWith('…')).toBe(true);
    expect(text).not.toContain('\uFFFD');
  });
});
