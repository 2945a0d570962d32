import { describe, expect, it } from 'vitest';
import { cardSignature, jsapiSignature, withoutFragment } from './jsapi';

describe('jsapiSignature', () => {
  it('matches the official JS-SDK vector (docs/protocol.md §1.4, same as WeCom §4.4)', () => {
    expect(
      jsapiSignature({
        ticket: 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
        nonceStr: 'Wm3WZYTPz0wzccnW',
        timestamp: 1414587457,
        url: 'http://mp.weixin.qq.com?params=value',
      }),
    ).toBe('0f9de62fce790f9a083d5c99e95740ceb90c27ed');
  });

  it('signs the url exactly as given (no fragment stripping, no escaping)', () => {
    const base = { ticket: 't', nonceStr: 'n', timestamp: 1 };
    const a = jsapiSignature({ ...base, url: 'https://a.example/p?x=1' });
    const b = jsapiSignature({ ...base, url: 'https://a.example/p?x=1#frag' });
    const c = jsapiSignature({ ...base, url: 'https://a.example/p?x=%31' });
    expect(a).not.toBe(b);
    expect(a).not.toBe(c);
    expect(a).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('withoutFragment', () => {
  it('leaves a url without # unchanged', () => {
    expect(withoutFragment('https://a.example/p?x=1&y=2')).toBe('https://a.example/p?x=1&y=2');
  });
  it('leaves nothing of a url that is all fragment', () => {
    expect(withoutFragment('#top')).toBe('');
  });
  it('drops a trailing #', () => {
    expect(withoutFragment('https://a.example/p#')).toBe('https://a.example/p');
  });
  it('drops a hash-router fragment with its own path and query', () => {
    expect(withoutFragment('https://a.example/index.html#/path?x=1')).toBe('https://a.example/index.html');
  });
  it('keeps the query before the fragment', () => {
    expect(withoutFragment('https://a.example/p?from=singlemessage&isappinstalled=0#top')).toBe(
      'https://a.example/p?from=singlemessage&isappinstalled=0',
    );
  });
  it('cuts at the first #', () => {
    expect(withoutFragment('https://a.example/p?q=1#a#b')).toBe('https://a.example/p?q=1');
  });
});

describe('cardSignature', () => {
  it('matches the official card vector (docs/protocol.md §1.5)', () => {
    expect(
      cardSignature([
        '1434008071',
        '1404896688',
        'pjZ8Yt1XGILfi-FUsewpnnolGgZk',
        'ojZ8YtyVyr30HheH3CM73y7h4jJE',
        '123',
      ]),
    ).toBe('f137ab68b7f8112d20ee528ab6074564e2796250');
  });
  it('does not depend on the input order and does not mutate its argument', () => {
    const values = ['123', 'ojZ8YtyVyr30HheH3CM73y7h4jJE', '1404896688', 'pjZ8Yt1XGILfi-FUsewpnnolGgZk', '1434008071'];
    const copy = [...values];
    expect(cardSignature(values)).toBe('f137ab68b7f8112d20ee528ab6074564e2796250');
    expect(values).toEqual(copy);
  });
  it('sorts as strings, not numbers', () => {
    // As strings '10' < '9'; numerically 9 < 10. sha1('109') differs from sha1('910').
    // sha1('109'), computed with: node -e "console.log(require('crypto').createHash('sha1').update('109').digest('hex'))"
    expect(cardSignature(['9', '10'])).toBe('a1422e6a168630cdd214ac5e31ca01ae1bee8d92');
  });
});
