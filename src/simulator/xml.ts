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
  return new XmlReader(source).document();
}

/** One parse: a cursor over the source (sticky regexes carry lastIndex state, so one set per parse). */
class XmlReader {
  readonly #NAME = /[A-Za-z_:][A-Za-z0-9_.:-]*/y;
  readonly #SPACE = /\s*/y;
  readonly #ATTR_VALUE_DQ = /"([^"<]*)"/y;
  readonly #ATTR_VALUE_SQ = /'([^'<]*)'/y;
  #pos = 0;

  constructor(readonly source: string) {}

  document(): XmlElement {
    for (;;) {
      this.#skipSpace();
      if (!this.#skipMisc()) break;
    }
    const root = this.#element();
    for (;;) {
      this.#skipSpace();
      if (this.#pos >= this.source.length) break;
      if (!this.#skipMisc()) this.#fail('content after the root element');
    }
    return root;
  }

  #fail(what: string): never {
    throw new Error(`XML: ${what} at offset ${this.#pos}`);
  }

  #skipSpace(): void {
    this.#SPACE.lastIndex = this.#pos;
    this.#SPACE.exec(this.source);
    this.#pos = this.#SPACE.lastIndex;
  }

  #name(): string {
    this.#NAME.lastIndex = this.#pos;
    const m = this.#NAME.exec(this.source);
    if (!m) return this.#fail('expected a name');
    this.#pos = this.#NAME.lastIndex;
    return m[0];
  }

  /** Skips a declaration, comment, processing instruction or DOCTYPE; false when there is none. */
  #skipMisc(): boolean {
    for (const [open, close, what] of [['<?', '?>', 'processing instruction'], ['<!--', '-->', 'comment'], ['<!DOCTYPE', '>', 'DOCTYPE']] as const) {
      if (!this.source.startsWith(open, this.#pos)) continue;
      const end = this.source.indexOf(close, this.#pos);
      if (end === -1) this.#fail(`unterminated ${what}`);
      this.#pos = end + close.length;
      return true;
    }
    return false;
  }

  #element(): XmlElement {
    if (this.source[this.#pos] !== '<') this.#fail('expected <');
    this.#pos++;
    const name = this.#name();
    const attrs: Record<string, string> = {};
    for (;;) {
      this.#skipSpace();
      if (this.source.startsWith('/>', this.#pos)) {
        this.#pos += 2;
        return { name, attrs, children: [] };
      }
      if (this.source[this.#pos] === '>') {
        this.#pos++;
        return { name, attrs, children: this.#children(name) };
      }
      this.#attribute(attrs);
    }
  }

  #attribute(attrs: Record<string, string>): void {
    const attr = this.#name();
    this.#skipSpace();
    if (this.source[this.#pos] !== '=') this.#fail(`expected = after attribute ${attr}`);
    this.#pos++;
    this.#skipSpace();
    const re = this.source[this.#pos] === "'" ? this.#ATTR_VALUE_SQ : this.#ATTR_VALUE_DQ;
    re.lastIndex = this.#pos;
    const m = re.exec(this.source);
    if (!m) return this.#fail(`bad value for attribute ${attr}`);
    this.#pos = re.lastIndex;
    if (Object.hasOwn(attrs, attr)) this.#fail(`duplicate attribute ${attr}`);
    attrs[attr] = decodeEntities(m[1] ?? '');
  }

  /** The content of element `name` up to and including its closing tag. */
  #children(name: string): XmlNode[] {
    const source = this.source;
    const children: XmlNode[] = [];
    for (;;) {
      if (this.#pos >= source.length) this.#fail(`unclosed element <${name}>`);
      if (source.startsWith('</', this.#pos)) {
        this.#pos += 2;
        const closing = this.#name();
        if (closing !== name) this.#fail(`</${closing}> closes <${name}>`);
        this.#skipSpace();
        if (source[this.#pos] !== '>') this.#fail('expected >');
        this.#pos++;
        return children;
      }
      if (source.startsWith('<![CDATA[', this.#pos)) {
        const end = source.indexOf(']]>', this.#pos);
        if (end === -1) this.#fail('unterminated CDATA');
        children.push(source.slice(this.#pos + 9, end));
        this.#pos = end + 3;
        continue;
      }
      if (this.#skipMisc()) continue;
      if (source[this.#pos] === '<') {
        children.push(this.#element());
        continue;
      }
      const next = source.indexOf('<', this.#pos);
      const end = next === -1 ? source.length : next;
      children.push(decodeEntities(source.slice(this.#pos, end)));
      this.#pos = end;
    }
  }
}

/** Concatenated text content of an element (trimmed). */
export function textOf(element: XmlElement): string {
  let out = '';
  for (const c of element.children) out += typeof c === 'string' ? c : textOf(c);
  return out.trim();
}
