/**
 * A small XML reader for TwiML documents: elements, attributes, text, the five named entities
 * and numeric references, comments, CDATA, the XML declaration. No namespaces, no DTDs. Written
 * for the simulator so it does not share the edge's TwiML builder (xmlbuilder) or any parser.
 * Throws an Error naming the position on malformed input.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const named = NAMED[ref];
    if (named === undefined) throw new Error(`unknown XML entity ${whole}`);
    return named;
  });
}

export function parseXml(source: string): XmlElement {
  // Sticky regexes carry lastIndex state: one set per parse.
  const NAME = /[A-Za-z_:][A-Za-z0-9_.:-]*/y;
  const SPACE = /\s*/y;
  const ATTR_VALUE_DQ = /"([^"<]*)"/y;
  const ATTR_VALUE_SQ = /'([^'<]*)'/y;
  let pos = 0;

  const fail = (what: string): never => {
    throw new Error(`XML: ${what} at offset ${pos}`);
  };
  const skipSpace = () => {
    SPACE.lastIndex = pos;
    SPACE.exec(source);
    pos = SPACE.lastIndex;
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(source);
    if (!m) return fail('expected a name');
    pos = NAME.lastIndex;
    return m[0];
  };
  /** Skips declarations, comments and processing instructions between nodes. */
  const skipMisc = (): boolean => {
    if (source.startsWith('<?', pos)) {
      const end = source.indexOf('?>', pos);
      if (end === -1) fail('unterminated processing instruction');
      pos = end + 2;
      return true;
    }
    if (source.startsWith('<!--', pos)) {
      const end = source.indexOf('-->', pos);
      if (end === -1) fail('unterminated comment');
      pos = end + 3;
      return true;
    }
    if (source.startsWith('<!DOCTYPE', pos)) {
      const end = source.indexOf('>', pos);
      if (end === -1) fail('unterminated DOCTYPE');
      pos = end + 1;
      return true;
    }
    return false;
  };

  const readElement = (): XmlElement => {
    if (source[pos] !== '<') fail('expected <');
    pos++;
    const name = readName();
    const attrs: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (source.startsWith('/>', pos)) {
        pos += 2;
        return { name, attrs, children: [] };
      }
      if (source[pos] === '>') {
        pos++;
        break;
      }
      const attr = readName();
      skipSpace();
      if (source[pos] !== '=') fail(`expected = after attribute ${attr}`);
      pos++;
      skipSpace();
      const re = source[pos] === "'" ? ATTR_VALUE_SQ : ATTR_VALUE_DQ;
      re.lastIndex = pos;
      const m = re.exec(source);
      if (!m) return fail(`bad value for attribute ${attr}`);
      pos = re.lastIndex;
      if (Object.hasOwn(attrs, attr)) fail(`duplicate attribute ${attr}`);
      attrs[attr] = decodeEntities(m[1] ?? '');
    }
    const children: XmlNode[] = [];
    for (;;) {
      if (pos >= source.length) fail(`unclosed element <${name}>`);
      if (source.startsWith('</', pos)) {
        pos += 2;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        skipSpace();
        if (source[pos] !== '>') fail('expected >');
        pos++;
        return { name, attrs, children };
      }
      if (source.startsWith('<![CDATA[', pos)) {
        const end = source.indexOf(']]>', pos);
        if (end === -1) fail('unterminated CDATA');
        children.push(source.slice(pos + 9, end));
        pos = end + 3;
        continue;
      }
      if (skipMisc()) continue;
      if (source[pos] === '<') {
        children.push(readElement());
        continue;
      }
      const next = source.indexOf('<', pos);
      const end = next === -1 ? source.length : next;
      children.push(decodeEntities(source.slice(pos, end)));
      pos = end;
    }
  };

  for (;;) {
    skipSpace();
    if (!skipMisc()) break;
  }
  const root = readElement();
  for (;;) {
    skipSpace();
    if (pos >= source.length) break;
    if (!skipMisc()) fail('content after the root element');
  }
  return root;
}

/** Concatenated text content of an element (trimmed). */
export function textOf(element: XmlElement): string {
  let out = '';
  for (const c of element.children) out += typeof c === 'string' ? c : textOf(c);
  return out.trim();
}
