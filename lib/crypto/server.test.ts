import { describe, expect, it } from 'vitest';
import { serverSignature, verifyServerSignature } from './server';

describe('serverSignature (docs/protocol.md §1.6, Token=AAAAA)', () => {
  it('matches the official GET verification vector', () => {
    expect(serverSignature('AAAAA', '1714036504', '1514711492')).toBe('f464b24fc39322e44b38aa78f5edd27bd1441696');
  });
  it('matches the official plaintext POST vector', () => {
    expect(serverSignature('AAAAA', '1714037059', '486452656')).toBe('899cf89e464efb63f54ddac96b0a0a235f53aa78');
  });
  it('depends on the values only, not on their argument order', () => {
    expect(serverSignature('1514711492', 'AAAAA', '1714036504')).toBe('f464b24fc39322e44b38aa78f5edd27bd1441696');
  });
});

describe('verifyServerSignature', () => {
  it('accepts the official vectors and refuses anything else', () => {
    expect(verifyServerSignature('AAAAA', '1714036504', '1514711492', 'f464b24fc39322e44b38aa78f5edd27bd1441696')).toBe(
      true,
    );
    expect(verifyServerSignature('AAAAA', '1714112445', '415670741', '6c5c811b55cc85e0e1b54100749188c20beb3f5d')).toBe(
      true,
    );
    expect(verifyServerSignature('AAAAA', '1714036504', '1514711492', 'F464B24FC39322E44B38AA78F5EDD27BD1441696')).toBe(
      true,
    );
    expect(verifyServerSignature('AAAAB', '1714036504', '1514711492', 'f464b24fc39322e44b38aa78f5edd27bd1441696')).toBe(
      false,
    );
    expect(verifyServerSignature('AAAAA', '1714036505', '1514711492', 'f464b24fc39322e44b38aa78f5edd27bd1441696')).toBe(
      false,
    );
    expect(verifyServerSignature('AAAAA', '1714036504', '1514711492', 'f464b24fc39322e44b38aa78f5edd27bd144169')).toBe(
      false,
    );
    expect(verifyServerSignature('AAAAA', '1714036504', '1514711492', '')).toBe(false);
  });
});
