/** Strict decoders for what WeChat sends: a loose decoder would accept bytes WeChat never produced. */

/** Standard base64 with its padding: no whitespace, no url-safe alphabet, padding only at the end. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Stateless between calls (no streaming): one instance serves every decode. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `text` as bytes when it is canonical standard base64 (unused trailing bits zero); null otherwise. */
export function strictBase64(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
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
