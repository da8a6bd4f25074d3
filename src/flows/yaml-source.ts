/**
 * One flow file as YAML: parsing (syntax errors with their line), mapping a field path back to its
 * line and column, duplicate keys, and `${ENV_VAR}` interpolation. Everything here reports
 * problems; nothing throws.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export interface FlowProblem {
  file: string;
  /** 1-based. */
  line?: number;
  column?: number;
  /** Field path, e.g. stages[1].dtmf.1.goTo */
  field?: string;
  message: string;
}

export interface ParsedSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

type Segment = string | number;

/** file:line field — message */
export function formatProblem(p: FlowProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return `${where}${p.field ? ` ${p.field}` : ''} — ${p.message}`;
}

export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Parses one file; on a syntax error returns only the syntax problems (the content is unreliable). */
export function parseFlowYaml(file: string, text: string): { source?: ParsedSource; problems: FlowProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  // `*:` and `#:` are the usual slip in dtmf maps: YAML reads them as an alias and a comment.
  const keyLines = new Set<number>();
  const problems: FlowProblem[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^(\s*)([*#])\s*:(\s|$)/.exec(l);
    if (!m) return;
    keyLines.add(i + 1);
    problems.push({ file, line: i + 1, column: m[1]!.length + 1, message: `the key ${m[2]} must be in quotes: write "${m[2]}": (an unquoted ${m[2]} means something else in YAML)` });
  });
  const syntax = doc.errors.map((e): FlowProblem => {
    const pos = lines.linePos(e.pos[0]);
    const message = e.code === 'MULTIPLE_DOCS' ? 'one flow per file: remove the "---" separator and put the second flow in its own file' : e.message.split('\n')[0]!;
    const hint = SYNTAX_HINTS[e.code];
    return { file, line: pos.line, column: pos.col, message: `YAML syntax error: ${message}${hint ? ` (${hint})` : ''}` };
  });
  problems.push(...syntax.filter((p) => !keyLines.has(p.line!)));
  if (problems.length > 0) return { problems };
  const source = { file, doc, lines };
  if (!isMap(doc.contents)) return { problems: [{ file, line: 1, message: 'the file must be a set of fields (name:, persona:, stages: …)' }] };
  return { source, problems: findDuplicateKeys(source) };
}

/** What usually causes each YAML error in a hand-edited flow file. */
const SYNTAX_HINTS: Partial<Record<string, string>> = {
  BLOCK_AS_IMPLICIT_KEY: 'text containing ": " must be in "double quotes"; otherwise check the indentation',
  MULTILINE_IMPLICIT_KEY: 'check the indentation of this line and the one above',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'check the indentation, and that every { or [ is closed',
  MISSING_CHAR: 'check the indentation and the quotes on this line and the one above',
  BAD_SCALAR_START: 'put this value in "double quotes"',
};

/** The plain data of a parsed file, or the problem (an alias such as an unquoted * key). */
export function toData(src: ParsedSource): { value?: unknown; problem?: FlowProblem } {
  try {
    return { value: src.doc.toJS() };
  } catch (err) {
    return { problem: { file: src.file, message: `YAML error: ${(err as Error).message} (quote * and # when they are keys or values: "*")` } };
  }
}

function keyOf(node: unknown): string {
  return isScalar(node) ? String(node.value) : String(node);
}

/**
 * Where a field is: the nearest existing node along `path` (a missing field points at its parent).
 * `key: true` points at the field's name instead of its value (unknown fields).
 * A numeric segment on a non-list is skipped (a single action written without "- ").
 */
export function locate(src: ParsedSource, path: readonly Segment[], opts: { key?: boolean } = {}): { line?: number; column?: number; field: string } {
  let node: unknown = src.doc.contents;
  let at: Node | null = node as Node;
  const shown: Segment[] = [];
  let i = 0;
  for (; i < path.length; i++) {
    const seg = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyOf(p.key) === String(seg));
      if (!pair) break;
      shown.push(seg);
      if (i === path.length - 1 && opts.key) {
        at = pair.key as Node;
        i++;
        break;
      }
      node = pair.value;
      at = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) break;
      shown.push(seg);
      node = item;
      at = item as Node;
    } else if (typeof seg === 'number') {
      continue;
    } else {
      break;
    }
  }
  shown.push(...path.slice(i));
  const offset = at?.range?.[0];
  if (offset === undefined) return { field: formatPath(shown) };
  const pos = src.lines.linePos(offset);
  return { line: pos.line, column: pos.col, field: formatPath(shown) };
}

export function problemAt(src: ParsedSource, path: readonly Segment[], message: string, opts: { key?: boolean } = {}): FlowProblem {
  const where = locate(src, path, opts);
  const p: FlowProblem = { file: src.file, message };
  if (where.line !== undefined) p.line = where.line;
  if (where.column !== undefined) p.column = where.column;
  if (where.field) p.field = where.field;
  return p;
}

/** Every repeated key of every map; a repeated phone key gets its own message. */
function findDuplicateKeys(src: ParsedSource): FlowProblem[] {
  const problems: FlowProblem[] = [];
  const walk = (node: unknown, path: Segment[]): void => {
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const k = keyOf(pair.key);
        const line = src.lines.linePos((pair.key as Node | null)?.range?.[0] ?? 0).line;
        const first = seen.get(k);
        if (first !== undefined) {
          const message = path[path.length - 1] === 'dtmf'
            ? `key ${k} is mapped twice (lines ${first} and ${line}); each key can do one thing per stage`
            : `"${k}" appears twice (lines ${first} and ${line}); keep one`;
          problems.push({ file: src.file, line, field: formatPath([...path, k]), message });
        } else {
          seen.set(k, line);
        }
        walk(pair.value, [...path, k]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, idx) => walk(item, [...path, idx]));
    }
  };
  walk(src.doc.contents, []);
  return problems;
}

const REF_RE = /\$\$\{|\$\{([^}]*)\}/g;
const VAR_RE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export interface Interpolated {
  value: unknown;
  problems: FlowProblem[];
  /** Paths whose value came from a `${VAR:-default}` default. */
  defaulted: string[];
}

/**
 * Replaces `${NAME}` in every string with the environment variable (empty counts as unset),
 * `${NAME:-fallback}` with the fallback when unset, and `$${` with a literal `${`.
 */
export function interpolateEnv(src: ParsedSource, value: unknown, env: Readonly<Record<string, string | undefined>>): Interpolated {
  const problems: FlowProblem[] = [];
  const defaulted: string[] = [];
  const visit = (v: unknown, path: Segment[]): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v;
      return v.replace(REF_RE, (whole, inner: string | undefined) => {
        if (whole === '$${') return '${';
        const m = VAR_RE.exec(inner ?? '');
        if (!m) {
          problems.push(problemAt(src, path, `"${whole}" is not a valid environment variable reference: write \${NAME} (letters, digits and _), or $\${ for a literal \${`));
          return whole;
        }
        const set = env[m[1]!];
        if (set !== undefined && set !== '') return set;
        if (m[2] !== undefined) {
          defaulted.push(formatPath(path));
          return m[2];
        }
        problems.push(problemAt(src, path, `environment variable ${m[1]} is not set (this field uses \${${m[1]}}); set it in the environment or the .env file`));
        return whole;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => visit(x, [...path, i]));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x, [...path, k])]));
    return v;
  };
  return { value: visit(value, []), problems, defaulted };
}
