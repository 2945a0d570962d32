import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cosSign, cosUrlEncode } from './cos-sign';

// The official vectors of COS 《请求签名》 (docs/protocol.md §6).
const SECRET_ID = 'AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q';
const SECRET_KEY = 'BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz';
/** The headers of the official PUT example. */
const PUT_HEADERS = {
  Date: 'Thu, 16 May 2019 06:45:51 GMT',
  Host: 'examplebucket-1250000000.cos.ap-beijing.myqcloud.com',
  'Content-Type': 'text/plain',
  'Content-Length': '13',
  'Content-MD5': 'mQ/fVh815F3k6TAUm8m0eg==',
  'x-cos-acl': 'private',
  'x-cos-grant-read': 'uin="100000000011"',
};
const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');

describe('cosSign: the official vectors', () => {
  it('PUT /exampleobject(腾讯云) with seven headers', () => {
    const s = cosSign({
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
      method: 'PUT',
      pathname: '/exampleobject(腾讯云)',
      headers: PUT_HEADERS,
      startTime: 1557989151,
      endTime: 1557996351,
    });
    expect(s.keyTime).toBe('1557989151;1557996351');
    expect(s.signKey).toBe('eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f');
    expect(s.headerList).toBe('content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read');
    expect(s.httpHeaders).toBe(
      'content-length=13&content-md5=mQ%2FfVh815F3k6TAUm8m0eg%3D%3D&content-type=text%2Fplain&date=Thu%2C%2016%20May%202019%2006%3A45%3A51%20GMT&host=examplebucket-1250000000.cos.ap-beijing.myqcloud.com&x-cos-acl=private&x-cos-grant-read=uin%3D%22100000000011%22',
    );
    expect(s.httpParameters).toBe('');
    expect(sha1(s.httpString)).toBe('8b2751e77f43a0995d6e9eb9477f4b685cca4172');
    expect(s.stringToSign).toBe('sha1\n1557989151;1557996351\n8b2751e77f43a0995d6e9eb9477f4b685cca4172\n');
    expect(s.signature).toBe('3b8851a11a569213c17ba8fa7dcf2abec6935172');
    expect(s.authorization).toBe(
      'q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&q-sign-time=1557989151;1557996351&q-key-time=1557989151;1557996351&q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read&q-url-param-list=&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172',
    );
  });

  it('signs the same whatever order the headers and parameters come in', () => {
    const headers = PUT_HEADERS;
    const query = { b: '2', 'response-content-type': 'text/plain', a: '1', z: '26' };
    const sign = (h: Record<string, string>, q: Record<string, string>) =>
      cosSign({
        secretId: SECRET_ID,
        secretKey: SECRET_KEY,
        method: 'PUT',
        pathname: '/exampleobject(腾讯云)',
        headers: h,
        query: q,
        startTime: 1557989151,
        endTime: 1557996351,
      });
    const reversed = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).reverse());
    const forward = sign(headers, query);
    const backward = sign(reversed(headers), reversed(query));
    expect(forward.headerList).toBe('content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read');
    expect(forward.urlParamList).toBe('a;b;response-content-type;z');
    expect(backward.authorization).toBe(forward.authorization);
  });

  it('GET /exampleobject(腾讯云) with two response-* parameters', () => {
    const s = cosSign({
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
      method: 'GET',
      pathname: '/exampleobject(腾讯云)',
      // decoded values: the signer encodes them once
      query: { 'response-content-type': 'application/octet-stream', 'response-cache-control': 'max-age=600' },
      headers: { Date: 'Thu, 16 May 2019 06:55:53 GMT', Host: 'examplebucket-1250000000.cos.ap-beijing.myqcloud.com' },
      startTime: 1557989753,
      endTime: 1557996953,
    });
    expect(s.signKey).toBe('937914bf490e9e8c189836aad2052e4feeb35eaf');
    expect(s.urlParamList).toBe('response-cache-control;response-content-type');
    expect(s.httpParameters).toBe(
      'response-cache-control=max-age%3D600&response-content-type=application%2Foctet-stream',
    );
    expect(s.headerList).toBe('date;host');
    expect(sha1(s.httpString)).toBe('54ecfe22f59d3514fdc764b87a32d8133ea611e6');
    expect(s.signature).toBe('01681b8c9d798a678e43b685a9f1bba0f6c0e012');
  });

  it('the legacy GET /testfile with a range header', () => {
    const s = cosSign({
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
      method: 'get',
      pathname: '/testfile',
      headers: { host: 'bucket1-1254000000.cos.ap-beijing.myqcloud.com', range: 'bytes=0-3' },
      startTime: 1417773892,
      endTime: 1417853898,
    });
    expect(s.signature).toBe('4b6cbab14ce01381c29032423481ebffd514e8be');
  });

  it('keeps the empty lines of an unsigned query and header set, and signs a bare parameter as k=', () => {
    const s = cosSign({
      secretId: 'id',
      secretKey: 'key',
      method: 'GET',
      pathname: '/exampleobject',
      startTime: 1,
      endTime: 2,
    });
    expect(s.httpString).toBe('get\n/exampleobject\n\n\n');
    expect(
      cosSign({
        secretId: 'id',
        secretKey: 'key',
        method: 'GET',
        pathname: '/',
        query: { acl: '' },
        startTime: 1,
        endTime: 2,
      }).httpParameters,
    ).toBe('acl=');
  });
});

describe('cosUrlEncode', () => {
  it("encodes !'()* and space, with uppercase hex, and UTF-8", () => {
    expect(cosUrlEncode("a!'()*b c")).toBe('a%21%27%28%29%2Ab%20c');
    expect(cosUrlEncode('腾')).toBe('%E8%85%BE');
    expect(cosUrlEncode('-_.~')).toBe('-_.~');
  });
});
