/**
 * The fields of a pushed XML body (WeChat's and WeCom's message pushes, docs/protocol.md §1.6, §4.5):
 * a small scanner, not an XML parser. Nothing is expanded or resolved, and CDATA sections are
 * skipped whole, so a follower's text holding `<Encrypt>` or `<MsgId>` is only text.
 */

/**
 * One token, matched at the scan position: a CDATA section (1), a comment, a processing
 * instruction, a DOCTYPE (internal subset skipped whole), a tag (2 `/`, 3 name, 4 `/`) or text (5).
 * Nothing else may follow, so a stray `<` refuses the body. Each alternative fails in one pass at a
 * position (no quadratic backtracking on 64 KB bodies).
 */
const XML_TOKEN =
  /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^[>]*(?:\[[^\]]*\][^>]*)?>|<(\/?)([A-Za-z_][\w.:-]*)(?=[\s/>])[^>]*?(\/?)>|([^<]+)/y;

/**
 * The values of the direct children of the root `<xml>`, by name, in order: a child's one CDATA
 * section or text (whitespace around it ignored; '' when empty), or null when it holds elements,
 * a comment or several pieces. Undefined when the body is not one well-nested `<xml>` element.
 */
export function xmlChildren(xml: string): Map<string, (string | null)[]> | undefined {
  const open: string[] = [];
  const children = new Map<string, (string | null)[]>();
  let rooted = false;
  /** The pieces of the direct child being read (null once it is not a plain value). */
  let pieces: string[] | null = [];
  for (let at = 0; at < xml.length; at = XML_TOKEN.lastIndex) {
    XML_TOKEN.lastIndex = at;
    const m = XML_TOKEN.exec(xml);
    if (!m) return undefined;
    const [, cdata, close, name, selfClosing, text] = m;
    if (cdata !== undefined || text !== undefined) {
      const piece = cdata ?? text!.trim();
      if (open.length === 0 && piece !== '') return undefined; // text outside the root
      if (open.length === 2 && pieces && (cdata !== undefined || piece !== '')) pieces.push(piece);
    } else if (name === undefined) {
      if (open.length === 2) pieces = null; // a comment or declaration inside a child
    } else if (close) {
      if (open.pop() !== name) return undefined;
      if (open.length === 1) {
        const values = children.get(name) ?? [];
        values.push(pieces && pieces.length <= 1 ? (pieces[0] ?? '') : null);
        children.set(name, values);
      }
    } else {
      if (open.length === 0 && (rooted || name !== 'xml')) return undefined;
      rooted = true;
      if (open.length === 2) pieces = null; // an element inside a child
      if (selfClosing) {
        if (open.length === 1) children.set(name, [...(children.get(name) ?? []), '']);
      } else {
        open.push(name);
        if (open.length === 2) pieces = [];
      }
    }
  }
  return rooted && open.length === 0 ? children : undefined;
}
