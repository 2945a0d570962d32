import { describe, expect, it } from 'vitest';
import { parseDynamoUrl } from './dynamodb';

describe('dynamodb store URL', () => {
  it('reads the table, region and endpoint', () => {
    expect(parseDynamoUrl(' dynamodb://wecred-table/?region=ap-east-1&endpoint=http://127.0.0.1:8000 ')).toEqual({
      table: 'wecred-table',
      region: 'ap-east-1',
      endpoint: 'http://127.0.0.1:8000',
    });
    expect(parseDynamoUrl('DynamoDB://t.b_c')).toEqual({ table: 't.b_c' });
  });

  it('refuses what it cannot use', () => {
    for (const url of [
      'x-dynamodb://table',
      'dynamodb://table/x',
      'dynamodb://ab',
      'dynamodb://table?region=',
      'dynamodb://table?endpoint=ftp://h',
      'dynamodb://table?endpoint=x-http://h',
      'dynamodb://table?endpoint=http://',
      'dynamodb://table?endpoint=http:///path',
      'dynamodb://table?other=1',
    ])
      expect(() => parseDynamoUrl(url), url).toThrow(/store URL/);
  });
});
