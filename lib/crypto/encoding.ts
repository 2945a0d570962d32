/**
 * Strict decoders for what WeChat sends: a loose decoder would accept bytes WeChat never produced.
 * docs/protocol.md §1.7, §3.2.
 */

/** Stateless between calls (no streaming): one instance serves every decode. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * `text` as bytes when it is canonical standard base64: padded, no whitespace, no url-safe
 * letters, unused trailing bits zero. Node's decoder takes all of those; only canonical text
 * encodes back to itself.
 */
export function strictBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** `bytes` as text when they are valid UTF-8 (a BOM is kept as U+FEFF); null otherwise. */
export function strictUtf8(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}
