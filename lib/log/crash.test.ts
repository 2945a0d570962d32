import { describe, expect, it } from 'vitest';
import { crashFields } from './crash';

describe('crashFields', () => {
  it('names the error and where it was thrown, never the data its message quotes', () => {
    let err: unknown;
    try {
      JSON.parse('{"userInfo":{"nickName":"ann-private"');
    } catch (e) {
      err = e;
    }
    const fields = crashFields(err);
    expect(fields).toMatchObject({ error: 'SyntaxError', at: expect.stringMatching(/^at /) });
    expect(JSON.stringify(fields)).not.toContain('ann-private');
    expect(crashFields('a thrown string with data')).toEqual({ error: 'string' });
  });
});
