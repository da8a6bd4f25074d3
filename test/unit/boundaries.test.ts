/**
 * Package boundaries inside src/, read from every file's imports (`import … from`, `import type`,
 * side-effect `import '…'`, `export … from`, dynamic `import('…')`):
 *
 *   - src/twilio and src/gemini never import each other (the call package joins them);
 *   - src/audio is a leaf: it imports only itself, node: built-ins and the packages listed below;
 *   - src/web uses the call package only through its public entry, src/call/index.ts;
 *   - src/call reaches src/twilio and src/gemini only from src/call/adapters/ (the port
 *     implementations); the rest of src/call works against its own ports.
 *
 * The import reader is a small tokenizer (strings, template literals, comments and regex literals
 * are skipped, so an import-looking string is not an import); it is unit-tested below.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(new URL('../../', import.meta.url).pathname);
const SRC = join(ROOT, 'src');

/** Third-party packages src/audio may use (each one is a deliberate dependency of the leaf). */
const AUDIO_PACKAGES = new Set(['alawmulaw']);

// --- import reader --------------------------------------------------------------------------------

interface Tok {
  kind: 'ident' | 'punct' | 'string';
  value: string;
  /** Offset in the source. */
  pos: number;
}

const REGEX_AFTER = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

/** The end (exclusive) of the quoted string, template, comment or regex literal starting at `i`. */
function skipLiteral(src: string, i: number, kind: 'quote' | 'template' | 'regex'): number {
  const close = kind === 'quote' ? src[i]! : kind === 'template' ? '`' : '/';
  let inClass = false;
  for (let k = i + 1; k < src.length; k++) {
    const c = src[k];
    if (c === '\\') k++;
    else if (kind === 'template' && c === '$' && src[k + 1] === '{') k = skipBraces(src, k + 1) - 1;
    else if (kind === 'regex' && (c === '[' || c === ']')) inClass = c === '[';
    else if (c === close && !inClass) return k + 1;
    else if (c === '\n' && kind !== 'template') return k;
  }
  return src.length;
}

/** The end (exclusive) of the `{…}` group at `i`, skipping literals and comments inside it. */
function skipBraces(src: string, i: number): number {
  return tokenizeFrom(src, i + 1, true).end;
}

/** Tokens from `start`; with `untilBrace`, stops after the `}` that closes an enclosing `{`. */
function tokenizeFrom(src: string, start: number, untilBrace: boolean): { tokens: Tok[]; end: number } {
  const tokens: Tok[] = [];
  let depth = 0;
  let i = start;
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    const prev = tokens[tokens.length - 1];
    if (/\s/.test(c)) i++;
    else if (c === '/' && next === '/') i = src.indexOf('\n', i) === -1 ? src.length : src.indexOf('\n', i);
    else if (c === '/' && next === '*') i = src.indexOf('*/', i + 2) === -1 ? src.length : src.indexOf('*/', i + 2) + 2;
    else if (c === "'" || c === '"' || c === '`') {
      const end = skipLiteral(src, i, c === '`' ? 'template' : 'quote');
      const body = src.slice(i + 1, end - 1);
      // A template with substitutions is no static specifier.
      if (c !== '`' || !body.includes('${')) tokens.push({ kind: 'string', value: body, pos: i });
      i = end;
    } else if (c === '/' && (!prev || (prev.kind === 'ident' ? REGEX_AFTER.has(prev.value) : prev.kind === 'punct' && !')]}'.includes(prev.value)))) {
      i = skipLiteral(src, i, 'regex');
    } else if (/[\w$#]/.test(c)) {
      // Words and numbers (a `/` after either is a division).
      const m = /^[\w$#]+/.exec(src.slice(i, i + 200))!;
      tokens.push({ kind: 'ident', value: m[0], pos: i });
      i += m[0].length;
    } else {
      if (c === '{') depth++;
      if (c === '}' && --depth < 0 && untilBrace) return { tokens, end: i + 1 };
      tokens.push({ kind: 'punct', value: c, pos: i });
      i++;
    }
  }
  return { tokens, end: src.length };
}

export interface ImportRef {
  specifier: string;
  line: number;
}

/** Every module specifier `src` imports or re-exports from, in order. */
export function readImports(src: string): ImportRef[] {
  const tokens = tokenizeFrom(src, 0, false).tokens;
  const out: ImportRef[] = [];
  const at = (i: number, value: string) => tokens[i]?.value === value && tokens[i]!.kind !== 'string';
  const stringAt = (i: number) => (tokens[i]?.kind === 'string' ? tokens[i] : undefined);
  const lineOf = (pos: number) => src.slice(0, pos).split('\n').length;
  tokens.forEach((t, i) => {
    if (t.kind !== 'ident' || (t.value !== 'import' && t.value !== 'export')) return;
    if (at(i - 1, '.') || at(i + 1, '.')) return; // x.import, import.meta
    const dynamic = t.value === 'import' && at(i + 1, '(') ? stringAt(i + 2) : undefined;
    const bare = t.value === 'import' ? stringAt(i + 1) : undefined;
    const spec = dynamic ?? bare ?? fromClause(tokens, i);
    if (spec) out.push({ specifier: spec.value, line: lineOf(t.pos) });
  });
  return out;
}

/** `import … from 'x'`, `export { … } from 'x'`, `export * from 'x'`, `import x = require('x')`: the 'x'. */
function fromClause(tokens: Tok[], i: number): Tok | undefined {
  const keyword = tokens[i]!.value;
  let k = i + 1;
  if (tokens[k]?.value === 'type' && tokens[k]?.kind === 'ident') k++;
  // `export const …`, `export function …`: no module to read.
  if (keyword === 'export' && tokens[k]?.value !== '{' && tokens[k]?.value !== '*') return undefined;
  for (let steps = 0; k < tokens.length && steps < 500; k++, steps++) {
    const t = tokens[k]!;
    if (t.kind === 'punct' && t.value === ';') return undefined;
    if (t.kind === 'ident' && t.value === 'from' && tokens[k + 1]?.kind === 'string') return tokens[k + 1];
    if (t.kind === 'ident' && t.value === 'require' && tokens[k + 1]?.value === '(' && tokens[k + 2]?.kind === 'string') return tokens[k + 2];
    if (t.kind === 'ident' && (t.value === 'import' || t.value === 'export') && k > i + 1) return undefined;
  }
  return undefined;
}

// --- resolution and rules -------------------------------------------------------------------------

/** A specifier as a path relative to the repository (src/…/x.ts), `node:x`, or a package name. */
export function resolveSpecifier(fromFile: string, specifier: string): string {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return specifier.startsWith('node:') ? specifier : `node:${specifier}`;
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) {
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  }
  const abs = resolve(dirname(join(ROOT, fromFile)), specifier);
  const candidates = [abs.replace(/\.js$/, '.ts'), abs.replace(/\.mjs$/, '.mts'), abs, `${abs}.ts`, join(abs, 'index.ts')];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? candidates[0]!;
  return relative(ROOT, found).split('\\').join('/');
}

const inDir = (path: string, dir: string) => path.startsWith(`${dir}/`);

/** Why `file` may not import `target` (both as resolveSpecifier returns them), or undefined when it may. */
export function violation(file: string, target: string): string | undefined {
  if (inDir(file, 'src/twilio') && inDir(target, 'src/gemini')) return 'src/twilio must not import src/gemini';
  if (inDir(file, 'src/gemini') && inDir(target, 'src/twilio')) return 'src/gemini must not import src/twilio';
  if (inDir(file, 'src/audio') && !inDir(target, 'src/audio') && !target.startsWith('node:') && !AUDIO_PACKAGES.has(target)) {
    return 'src/audio imports only itself and node: built-ins';
  }
  if (inDir(file, 'src/web') && inDir(target, 'src/call') && target !== 'src/call/index.ts') return 'src/web uses src/call only through src/call/index.ts';
  if (inDir(file, 'src/call') && !inDir(file, 'src/call/adapters') && (inDir(target, 'src/twilio') || inDir(target, 'src/gemini'))) {
    return 'src/call reaches src/twilio and src/gemini only from src/call/adapters/';
  }
  return undefined;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every forbidden import under src/, as `file:line → target (rule)`, for files whose path starts with `prefix`. */
export function boundaryViolations(prefix = 'src/'): string[] {
  const out: string[] = [];
  for (const abs of tsFiles(SRC).sort()) {
    const file = relative(ROOT, abs).split('\\').join('/');
    if (!file.startsWith(prefix)) continue;
    for (const ref of readImports(readFileSync(abs, 'utf8'))) {
      const target = resolveSpecifier(file, ref.specifier);
      const why = violation(file, target);
      if (why) out.push(`${file}:${ref.line} → ${target} (${why})`);
    }
  }
  return out;
}

// --- tests ----------------------------------------------------------------------------------------

describe('import reader', () => {
  it('reads static, type-only, side-effect, re-export and dynamic imports', () => {
    const src = [
      "import a from './a.js';",
      "import type { B } from '../b/index.js';",
      'import {',
      '  c,',
      '  type D,',
      "} from 'node:fs';",
      "import './side-effect.js';",
      "export { e } from './e.js';",
      "export type { F } from './f.js';",
      "export * from './g.js';",
      "export * as h from './h.js';",
      "const i = await import('./i.js');",
      'const j = import(`./j.js`);',
      "import k = require('./k.js');",
      "import { from } from './from.js';",
    ].join('\n');
    assert.deepEqual(
      readImports(src).map((r) => `${r.line}:${r.specifier}`),
      ['1:./a.js', '2:../b/index.js', '3:node:fs', '7:./side-effect.js', '8:./e.js', '9:./f.js', '10:./g.js', '11:./h.js', '12:./i.js', '13:./j.js', '14:./k.js', '15:./from.js'],
    );
  });

  it('ignores imports inside strings, templates, comments and regex literals, and import.meta', () => {
    const src = [
      "// import x from './comment.js';",
      "/* import('./block.js') */",
      "const s = \"import y from './string.js'\";",
      "const t = `import('./template.js') ${ 'import(\"./inner.js\")' }`;",
      "const r = /import '.\\/regex.js'/;",
      'const u = new URL(".", import.meta.url);',
      "const d = import(`./${name}.js`);",
      'export const from = 1;',
      "export function f() { return 'x'; }",
      "import z from './real.js';",
    ].join('\n');
    assert.deepEqual(readImports(src).map((r) => r.specifier), ['./real.js']);
  });

  it('resolves relative specifiers to src/… .ts files', () => {
    assert.equal(resolveSpecifier('src/call/call.ts', '../gemini/index.js'), 'src/gemini/index.ts');
    assert.equal(resolveSpecifier('src/web/server.ts', './twilio-routes.js'), 'src/web/twilio-routes.ts');
    assert.equal(resolveSpecifier('src/web/server.ts', 'node:http'), 'node:http');
    assert.equal(resolveSpecifier('src/web/server.ts', 'http'), 'node:http');
    assert.equal(resolveSpecifier('src/web/server.ts', 'express'), 'express');
    assert.equal(resolveSpecifier('src/web/server.ts', '@google/genai/web'), '@google/genai');
  });

  it('applies the rules', () => {
    assert.ok(violation('src/twilio/a.ts', 'src/gemini/index.ts'));
    assert.ok(violation('src/gemini/a.ts', 'src/twilio/handler.ts'));
    assert.ok(violation('src/audio/a.ts', 'src/shared/log.ts'));
    assert.ok(violation('src/audio/a.ts', 'zod'));
    assert.equal(violation('src/audio/a.ts', 'node:buffer'), undefined);
    assert.equal(violation('src/audio/a.ts', 'src/audio/b.ts'), undefined);
    assert.ok(violation('src/web/a.ts', 'src/call/manager.ts'));
    assert.equal(violation('src/web/a.ts', 'src/call/index.ts'), undefined);
    assert.ok(violation('src/call/a.ts', 'src/gemini/index.ts'));
    assert.ok(violation('src/call/link/a.ts', 'src/twilio/handler.ts'));
    assert.equal(violation('src/call/adapters/a.ts', 'src/twilio/handler.ts'), undefined);
    assert.equal(violation('src/emulator/a.ts', 'src/gemini/index.ts'), undefined);
  });
});

describe('package boundaries of src/', () => {
  // One test per package, so a package under restructuring does not hide the others.
  for (const dir of ['src/twilio/', 'src/gemini/', 'src/audio/', 'src/web/', 'src/call/']) {
    it(`${dir} imports only what it may`, () => {
      const found = boundaryViolations(dir);
      assert.deepEqual(found, [], `Forbidden imports:\n  ${found.join('\n  ')}\n`);
    });
  }
});
