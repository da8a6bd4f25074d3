/**
 * Size limits for src/: no .ts file over 400 lines, no function body over 80 lines.
 *
 * typescript 7 (the native port) has no JS parser API (`import ts from 'typescript'` has no
 * createSourceFile), so this file carries a small scanner: it tokenizes TypeScript well enough
 * to skip strings, template literals (with nested `${…}`), comments and regex literals, matches
 * brackets, and decides for each `{` whether it opens a function body:
 *
 *   `=> {`                         an arrow function with a block body
 *   `name(…) {`, `name<T>(…) {`    a function declaration, method, getter/setter or constructor
 *   `function (…) {`               a function expression
 *   `(…): ReturnType {`            any of those with a return type annotation
 *
 * and not for `if/for/while/switch/catch (…) {`, object literals, classes, interfaces or types.
 * A function's length is counted from the line of its `{` to the line of its `}`, inclusive.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;

const ROOT = new URL('../../', import.meta.url).pathname;

// --- tokenizer ------------------------------------------------------------------------------------

type TokenKind = 'ident' | 'punct' | 'string' | 'template' | 'number' | 'regex';

export interface Token {
  kind: TokenKind;
  value: string;
  /** 1-based line of the token's first character. */
  line: number;
}

/** Keywords after which a `/` starts a regex literal rather than a division. */
const REGEX_AFTER_KEYWORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);
const IDENT_START = /[A-Za-z_$#\p{ID_Start}]/u;
const IDENT_PART = /[\w$#\p{ID_Continue}\u200c\u200d]/u;

class Tokenizer {
  readonly tokens: Token[] = [];
  #i = 0;
  #line = 1;
  /** One entry per open `{` (false) or template substitution `${` (true). */
  readonly #braces: boolean[] = [];

  constructor(private readonly src: string) {}

  run(): Token[] {
    while (this.#i < this.src.length) this.#step();
    return this.tokens;
  }

  #step(): void {
    const c = this.src[this.#i]!;
    const next = this.src[this.#i + 1];
    if (c === '\n') {
      this.#line++;
      this.#i++;
    } else if (/\s/.test(c)) this.#i++;
    else if (c === '/' && next === '/') this.#skipTo('\n', false);
    else if (c === '/' && next === '*') this.#skipTo('*/', true);
    else if (c === "'" || c === '"') this.#string(c);
    else if (c === '`') this.#template(this.#i + 1, this.#line);
    else if (c === '/' && this.#regexAllowed()) this.#regex();
    else if (IDENT_START.test(c)) this.#word();
    else if (/\d/.test(c) || (c === '.' && /\d/.test(next ?? ''))) this.#number();
    else this.#punct(c, next);
  }

  #push(kind: TokenKind, start: number, line: number): void {
    this.tokens.push({ kind, value: this.src.slice(start, this.#i), line });
  }

  #countLines(from: number, to: number): void {
    for (let k = from; k < to; k++) if (this.src[k] === '\n') this.#line++;
  }

  #skipTo(end: string, inclusive: boolean): void {
    const at = this.src.indexOf(end, this.#i + 2);
    const stop = at === -1 ? this.src.length : inclusive ? at + end.length : at;
    this.#countLines(this.#i, stop);
    this.#i = stop;
  }

  #string(quote: string): void {
    const start = this.#i;
    const line = this.#line;
    this.#i++;
    while (this.#i < this.src.length && this.src[this.#i] !== quote && this.src[this.#i] !== '\n') {
      this.#i += this.src[this.#i] === '\\' ? 2 : 1;
    }
    this.#i++;
    this.#countLines(start, Math.min(this.#i, this.src.length));
    this.#push('string', start, line);
  }

  /** Template text from `from` up to the closing backtick or the next `${` (which opens a substitution). */
  #template(from: number, line: number): void {
    const start = this.#i;
    this.#i = from;
    while (this.#i < this.src.length) {
      const c = this.src[this.#i];
      if (c === '\\') this.#i += 2;
      else if (c === '`') {
        this.#i++;
        break;
      } else if (c === '$' && this.src[this.#i + 1] === '{') {
        this.#i += 2;
        this.#braces.push(true);
        break;
      } else this.#i++;
    }
    this.#countLines(from, Math.min(this.#i, this.src.length));
    this.#push('template', start, line);
  }

  #regexAllowed(): boolean {
    const prev = this.tokens[this.tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === 'ident') return REGEX_AFTER_KEYWORDS.has(prev.value);
    if (prev.kind !== 'punct') return false;
    return ![')', ']', '}'].includes(prev.value);
  }

  #regex(): void {
    const start = this.#i;
    let inClass = false;
    this.#i++;
    while (this.#i < this.src.length && this.src[this.#i] !== '\n') {
      const c = this.src[this.#i];
      if (c === '\\') this.#i++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      this.#i++;
    }
    this.#i++;
    while (this.#i < this.src.length && /[a-z]/i.test(this.src[this.#i]!)) this.#i++;
    this.#push('regex', start, this.#line);
  }

  #word(): void {
    const start = this.#i;
    this.#i++;
    while (this.#i < this.src.length && IDENT_PART.test(this.src[this.#i]!)) this.#i++;
    this.#push('ident', start, this.#line);
  }

  #number(): void {
    const start = this.#i;
    while (this.#i < this.src.length && /[\w.]/.test(this.src[this.#i]!)) this.#i++;
    this.#push('number', start, this.#line);
  }

  #punct(c: string, next: string | undefined): void {
    const start = this.#i;
    if (c === '}' && this.#braces.length > 0 && this.#braces[this.#braces.length - 1]) {
      // The end of a template substitution: back into the template's text.
      this.#braces.pop();
      this.#template(this.#i + 1, this.#line);
      return;
    }
    if (c === '{') this.#braces.push(false);
    if (c === '}') this.#braces.pop();
    this.#i += c === '=' && next === '>' ? 2 : 1;
    this.#push('punct', start, this.#line);
  }
}

export function tokenize(src: string): Token[] {
  return new Tokenizer(src).run();
}

// --- function finder ------------------------------------------------------------------------------

export interface FunctionSpan {
  name: string;
  /** Line of the name (or of the `{` when the function has none). */
  line: number;
  /** Lines from its `{` to its `}`, inclusive. */
  lines: number;
}

const CONTROL_KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'await']);
/** Keywords that may stand before a type without an operator between (`keyof T`, `asserts x`). */
const TYPE_PREFIXES = new Set(['typeof', 'keyof', 'readonly', 'unique', 'infer', 'asserts']);
/** Operators inside a type: before one of them (reading backwards) comes another operand. */
const TYPE_OPERATORS = new Set(['.', '|', '&', '=>', 'is']);
const RESERVED = new Set([
  'if', 'for', 'while', 'switch', 'catch', 'with', 'else', 'do', 'try', 'finally', 'return', 'throw', 'class', 'interface',
  'enum', 'extends', 'implements', 'import', 'export', 'namespace', 'module', 'declare', 'new', 'in', 'of', 'case',
  'default', 'yield', 'await', 'const', 'let', 'var', 'type', 'function', 'static', 'async',
]);

/** For every bracket token, the index of its partner (unbalanced ones have none). */
function matchBrackets(tokens: Token[]): Map<number, number> {
  const match = new Map<number, number>();
  const stack: number[] = [];
  tokens.forEach((t, i) => {
    if (t.kind !== 'punct') return;
    if (t.value === '(' || t.value === '[' || t.value === '{') stack.push(i);
    else if (t.value === ')' || t.value === ']' || t.value === '}') {
      const open = stack.pop();
      if (open !== undefined) {
        match.set(open, i);
        match.set(i, open);
      }
    }
  });
  return match;
}

class FunctionFinder {
  readonly #match: Map<number, number>;

  constructor(private readonly tokens: Token[]) {
    this.#match = matchBrackets(tokens);
  }

  find(): FunctionSpan[] {
    const found: FunctionSpan[] = [];
    this.tokens.forEach((t, i) => {
      if (t.kind !== 'punct' || t.value !== '{') return;
      const close = this.#match.get(i);
      const named = this.#functionAt(i);
      if (close === undefined || named === undefined) return;
      const line = named.line ?? t.line;
      found.push({ name: named.name, line, lines: this.tokens[close]!.line - t.line + 1 });
    });
    return found;
  }

  #is(i: number, value: string): boolean {
    const t = this.tokens[i];
    return t !== undefined && t.kind === 'punct' && t.value === value;
  }

  #ident(i: number): Token | undefined {
    const t = this.tokens[i];
    return t?.kind === 'ident' ? t : undefined;
  }

  /** The name of the function whose body is the `{` at `brace`, or undefined when it is not a body. */
  #functionAt(brace: number): { name: string; line?: number } | undefined {
    const prev = brace - 1;
    if (this.#is(prev, '=>')) return this.#arrowName(prev);
    const named = this.#is(prev, ')') ? this.#calleeName(prev) : undefined;
    if (named) return named;
    const close = this.#returnTypeParen(prev);
    return close === undefined ? undefined : this.#calleeName(close);
  }

  /** Index of the opener matching the closer at `i` (generics `<…>` counted by hand). */
  #opener(i: number): number | undefined {
    if (!this.#is(i, '>')) return this.#match.get(i);
    let depth = 0;
    for (let k = i, steps = 0; k >= 0 && steps < 200; k--, steps++) {
      const v = this.tokens[k]!.kind === 'punct' ? this.tokens[k]!.value : '';
      if (v === '>') depth++;
      else if (v === '<' && --depth === 0) return k;
      else if (v === ')' || v === ']' || v === '}') {
        const open = this.#match.get(k);
        if (open === undefined) return undefined;
        k = open;
      } else if (v === ';' || v === '{' || v === '(' || v === '[') return undefined;
    }
    return undefined;
  }

  /**
   * `(…): Type {` — reads a return type backwards from `from` (its last token) to the `:` after a
   * parameter list, operand by operand; returns the index of that `)`, or undefined when the
   * tokens are not a type after `):`.
   */
  #returnTypeParen(from: number): number | undefined {
    let i = from;
    let needOperand = true;
    for (let steps = 0; i >= 0 && steps < 100; steps++) {
      const t = this.tokens[i]!;
      const word = t.kind === 'ident' || t.kind === 'punct' ? t.value : '';
      if (needOperand) {
        const next = this.#operandStart(i);
        if (next === undefined) return undefined;
        i = next.index;
        needOperand = next.needOperand;
      } else if (word === ':') {
        return this.#is(i - 1, ')') ? i - 1 : undefined;
      } else if (TYPE_OPERATORS.has(word)) {
        needOperand = true;
        i--;
      } else if (t.kind === 'ident' && TYPE_PREFIXES.has(word)) {
        i--;
      } else return undefined;
    }
    return undefined;
  }

  /** Reads one operand of a type backwards from its last token `i`: where to go on, and whether an operand must precede (`A[]`, `A<B>`). */
  #operandStart(i: number): { index: number; needOperand: boolean } | undefined {
    const t = this.tokens[i]!;
    if (t.kind === 'ident') return RESERVED.has(t.value) ? undefined : { index: i - 1, needOperand: false };
    if (t.kind === 'string' || t.kind === 'number' || t.kind === 'template') return { index: i - 1, needOperand: false };
    if (t.kind !== 'punct' || !['>', ']', ')', '}'].includes(t.value)) return undefined;
    const open = this.#opener(i);
    if (open === undefined) return undefined;
    if (t.value === '>') return { index: open - 1, needOperand: true };
    const before = this.tokens[open - 1];
    const postfix = t.value === ']' && before !== undefined && (before.kind === 'ident' || [')', ']', '>', '}'].includes(before.value));
    return { index: open - 1, needOperand: postfix };
  }

  /** `name(…)`, `function name(…)`, `name<T>(…)`: the function name before the parameter list closed at `close`. */
  #calleeName(close: number): { name: string; line: number } | undefined {
    const open = this.#match.get(close);
    if (open === undefined) return undefined;
    let before = open - 1;
    if (this.#is(before, '>')) before = (this.#opener(before) ?? 0) - 1;
    const t = this.tokens[before];
    if (t === undefined) return undefined;
    if (t.kind === 'ident') {
      if (CONTROL_KEYWORDS.has(t.value)) return undefined;
      if (t.value === 'function') return { name: '<function>', line: t.line };
      return { name: t.value, line: t.line };
    }
    if (t.kind === 'string') return { name: t.value, line: t.line };
    if (this.#is(before, ']')) return { name: '[computed]', line: t.line };
    if (this.#is(before, '*') && this.#ident(before - 1)?.value === 'function') return { name: '<function*>', line: t.line };
    return undefined;
  }

  /** An arrow's name: `name = (…) =>`, `name: (…) =>`, else `<arrow in callee()>` or `<arrow>`. */
  #arrowName(arrow: number): { name: string; line?: number } {
    let i = arrow - 1;
    if (!this.#is(i, ')')) i = this.#returnTypeParen(i) ?? i;
    i = this.#is(i, ')') ? (this.#match.get(i) ?? i) - 1 : i - 1;
    if (this.#is(i, '>')) i = (this.#opener(i) ?? 0) - 1;
    if (this.#ident(i)?.value === 'async') i--;
    const named = this.#ident(i - 1);
    if ((this.#is(i, '=') || this.#is(i, ':')) && named) return { name: named.value, line: named.line };
    if (this.#is(i, '(') || this.#is(i, ',')) {
      const callee = this.#enclosingCallee(i);
      if (callee) return { name: `<arrow in ${callee.value}()>`, line: this.tokens[arrow]!.line };
    }
    return { name: '<arrow>', line: this.tokens[arrow]!.line };
  }

  /** The identifier before the innermost `(` that is open at token `i`. */
  #enclosingCallee(i: number): Token | undefined {
    for (let k = i; k >= 0; k--) {
      const t = this.tokens[k]!;
      if (t.kind !== 'punct') continue;
      if (t.value === ')' || t.value === ']' || t.value === '}') {
        const open = this.#match.get(k);
        if (open === undefined) return undefined;
        k = open;
      } else if (t.value === '(') return this.#ident(this.#is(k - 1, '>') ? (this.#opener(k - 1) ?? 0) - 1 : k - 1);
      else if (t.value === '[' || t.value === '{') return undefined;
    }
    return undefined;
  }
}

export function findFunctions(src: string): FunctionSpan[] {
  return new FunctionFinder(tokenize(src)).find();
}

// --- the check over src/ --------------------------------------------------------------------------

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

export function lineCount(src: string): number {
  if (src === '') return 0;
  return src.split('\n').length - (src.endsWith('\n') ? 1 : 0);
}

/** Every offender in `dir`, as `path:line name (N lines)` (files as `path (N lines)`). */
export function sizeOffenders(dir: string): string[] {
  const out: string[] = [];
  for (const file of tsFiles(dir).sort()) {
    const src = readFileSync(file, 'utf8');
    const path = relative(ROOT, file);
    const lines = lineCount(src);
    if (lines > MAX_FILE_LINES) out.push(`${path} (${lines} lines; the limit is ${MAX_FILE_LINES})`);
    for (const f of findFunctions(src)) {
      if (f.lines > MAX_FUNCTION_LINES) out.push(`${path}:${f.line} ${f.name} (${f.lines} lines)`);
    }
  }
  return out;
}

// --- tests ----------------------------------------------------------------------------------------

/** A function declaration spanning exactly `lines` lines (header, body, closing brace). */
function fnOf(name: string, lines: number, bodyLine = 'x++;'): string {
  return [`function ${name}() {`, ...Array.from({ length: lines - 2 }, () => `  ${bodyLine}`), '}'].join('\n');
}

function spans(src: string): string[] {
  return findFunctions(src).map((f) => `${f.name}@${f.line}:${f.lines}`);
}

describe('size scanner', () => {
  it('flags a 90-line function and not an 80-line one', () => {
    const src = `${fnOf('long', 90)}\n${fnOf('fits', 80)}\n`;
    assert.deepEqual(spans(src), ['long@1:90', 'fits@91:80']);
  });

  it('ignores braces inside strings, templates, comments and regex literals', () => {
    const noise = [
      `const a = '{'; const b = "}}";`,
      'const t = `{ ${"}"} ${ { a: 1 }.a } }`;',
      '// } } }',
      '/* { */',
      'const r = /[{}]\\/}/g; const d = x / 2 / y;',
    ].join(' ');
    assert.deepEqual(spans(fnOf('f', 85, noise)), ['f@1:85']);
    assert.deepEqual(spans(`function f() {\n  const s = '}';\n  return \`}\${'{'}\`;\n}\n`), ['f@1:4']);
  });

  it('finds methods, getters, constructors, arrows and functions with return types', () => {
    const src = [
      'class A<T> {',
      '  constructor(private x: number) {',
      '  }',
      '  get size(): number {',
      '    return 1;',
      '  }',
      '  async run<U>(u: U): Promise<{ a: U }> {',
      '    if (u) {',
      '      for (const k of []) {',
      '      }',
      '    }',
      '  }',
      '  handle = async (req: Req): Promise<void> => {',
      '  };',
      '}',
      'const g = (x: number) => {',
      '};',
      "app.get('/x', (req, res) => {",
      '});',
      'const o = { m(a: string) {',
      '}, n: function () {',
      '}, p: x => {',
      '} };',
      'export function h(): { a: number } {',
      '  switch (x) {',
      '    case 1: {',
      '    }',
      '  }',
      '  try {',
      '  } catch (e) {',
      '  } finally {',
      '  }',
      '}',
    ].join('\n');
    assert.deepEqual(spans(src), [
      'constructor@2:2', 'size@4:3', 'run@7:6', 'handle@13:2', 'g@16:2', '<arrow in get()>@18:2',
      'm@20:2', '<function>@21:2', 'p@22:2', 'h@24:10',
    ]);
  });

  it('does not count classes, interfaces, object literals, types or control blocks', () => {
    const src = [
      'interface I { a(): void; b: { c: number } }',
      'type T = { a: string };',
      'class C extends B<D> implements E {}',
      'const o = { a: 1, b: { c: 2 } };',
      'if (a) { } else if (b) { } else { }',
      'while (x) { }',
      'for await (const y of z) { }',
      'label: { }',
    ].join('\n');
    assert.deepEqual(spans(src), []);
  });

  it('counts file lines like wc -l', () => {
    assert.equal(lineCount(''), 0);
    assert.equal(lineCount('a\nb\n'), 2);
    assert.equal(lineCount('a\nb'), 2);
  });
});

describe('src/ sizes', () => {
  it(`no file over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const offenders = sizeOffenders(join(ROOT, 'src'));
    assert.deepEqual(offenders, [], `Too long (split them):\n  ${offenders.join('\n  ')}\n`);
  });
});
