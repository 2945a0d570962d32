import { describe, expect, it } from 'vitest';
import { ROUTES } from '.';
import { compilePaths } from './match';

/** The first route whose patterns match, as the app tries them: its label and parameters. */
function route(path: string): [string, Record<string, string>] | null {
  for (const r of ROUTES) {
    const params = r.match(path);
    if (params) return [r.label, params];
  }
  return null;
}

describe('path patterns', () => {
  it('a :name takes one non-empty segment; literals match themselves, regex characters included', () => {
    const match = compilePaths(['/a/:x/b.c']);
    expect(match('/a/1/b.c')).toEqual({ x: '1' });
    expect(match('/a/%2F/b.c')).toEqual({ x: '%2F' }); // raw, not decoded
    for (const p of ['/a//b.c', '/a/1/2/b.c', '/a/1/bxc', '/a/1/b.c/', 'x/a/1/b.c', '/a/1/b.cd'])
      expect(match(p)).toBeNull();
  });

  it('a (rule) after the name replaces the default; the first pattern that matches names the parameters', () => {
    const match = compilePaths(['/f_:code([0-9]{2}).txt', '/:name/:code']);
    expect(match('/f_12.txt')).toEqual({ code: '12' });
    expect(match('/f_123.txt')).toBeNull();
    expect(match('/n/c')).toEqual({ name: 'n', code: 'c' });
    expect(Object.keys(match('/f_12.txt')!)).toEqual(['code']);
  });

  it('refuses a pattern it would read wrongly', () => {
    expect(() => compilePaths(['x/:a'])).toThrow("must start with '/'");
    expect(() => compilePaths(['/:a/:a'])).toThrow('names :a twice');
  });
});

describe('the route table', () => {
  it('serves each route at its spellings, with named parameters', () => {
    const code = 'AbCdEfGh01234567';
    expect(route('/ping')).toEqual(['ping', {}]);
    expect(route(`/MP_verify_${code}.txt`)).toEqual(['verify_file', { code }]);
    expect(route(`/WW_verify_${code}.txt`)).toEqual(['verify_file', { code }]);
    expect(route('/jsapi/wx1/config')).toEqual(['jsapi_config', { appid: 'wx1' }]);
    expect(route('/jsapi/config/wx1')).toEqual(['jsapi_config', { appid: 'wx1' }]);
    expect(route('/jsapi/wx1/query')).toEqual(['jsdkd_query', { appid: 'wx1' }]);
    expect(route('/jsapi/query/ticket')).toEqual(['jsdkd_query', { key: 'ticket' }]);
    expect(route('/wechat/wx1')).toEqual(['wechat_server', { appid: 'wx1' }]);
    expect(route('/oauth/wx1/authorize')).toEqual(['oauth_authorize', { appid: 'wx1' }]);
    expect(route('/oauth/wx1/callback')).toEqual(['oauth_callback', { appid: 'wx1' }]);
  });

  it('resolves the paths two spellings share as before: our spelling of config first, jsdkd’s of query first', () => {
    expect(route('/jsapi/config/config')).toEqual(['jsapi_config', { appid: 'config' }]);
    expect(route('/jsapi/query/config')).toEqual(['jsapi_config', { appid: 'query' }]); // the table's order
    expect(route('/jsapi/query/query')).toEqual(['jsdkd_query', { key: 'query' }]);
    expect(route('/jsapi/config/query')).toEqual(['jsapi_config', { appid: 'query' }]);
  });

  it('serves nothing else', () => {
    const code = 'AbCdEfGh01234567';
    for (const p of [
      '/',
      '/ping/',
      '/pingx',
      `/MP_verify_${code.slice(1)}.txt`, // 15 characters
      `/MP_verify_${code}8.txt`, // 17
      `/MP_verify_${code.slice(1)}-.txt`,
      `/MP_verify_${code.slice(1)}_.txt`,
      `/mp_verify_${code}.txt`,
      `/XX_verify_${code}.txt`,
      `/MP_verify_${code}.txt/`,
      `/MP_verify_${code}xtxt`,
      `/MP_verify_${code}`,
      '/jsapi//config',
      '/jsapi/config/',
      '/jsapi/a/b/config',
      '/jsapi/config/a/b',
      '/jsapi/config',
      '/jsapi/query',
      '/jsapi//query',
      '/jsapi/query/',
      '/wechat/',
      '/wechat/a/b',
      '/wechat',
      '/oauth//authorize',
      '/oauth/wx1/authorize/',
      '/oauth/wx1/login',
      '/x/ping',
    ])
      expect(route(p), p).toBeNull();
  });
});
