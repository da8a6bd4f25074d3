/**
 * Splits a text model's streamed answer into sentences for text-to-speech, so the first sentence
 * is rendered while the model is still writing the rest (docs/cascade.md, "Speaking").
 *
 * A sentence ends at `.`, `!`, `?` or `…` (with closing quotes or brackets) followed by white
 * space, or at a line break, decided only once the next word's first character has arrived:
 *
 * - titles (`Dr.`, `Mr.`, `St.` …), single initials (`J.`) and `No.` never end a sentence;
 * - other abbreviations (`a.m.`, `p.m.`, `etc.`, `e.g.` …) end one only before a capital letter;
 * - a `.` followed by a lower-case word is not an end (an unknown abbreviation);
 * - a number at the start of a line followed by `.` is a list item, not an end; `3.5`, `10:30`,
 *   `example.com` have no space after the dot and are never split;
 * - a piece shorter than `minChars` ("Sure.") is joined to the next one, so TTS gets no tiny
 *   fragments; a run longer than `maxChars` without an end is cut at its last comma, semicolon,
 *   colon or dash, else at its last space, so a long sentence does not hold back the audio.
 *
 * At the end of a streamed chunk the next character is not known yet. Gemini streams in chunks of
 * many tokens, so waiting for the next chunk would hold a finished sentence back by a whole chunk
 * gap; with `eager` (the default) a `!`, `?`, `…`, or a `.` after a plain word (not a title,
 * initial, abbreviation, or anything with a digit or a dot) ends the sentence at once. The price:
 * a domain or an unknown abbreviation cut exactly after its dot by the chunking is split there.
 */

export interface SentenceOptions {
  /** Pieces shorter than this are joined to the next (default 12). */
  minChars?: number;
  /** A run without a sentence end is cut after about this many characters (default 180). */
  maxChars?: number;
  /** Decide at the end of a chunk without the next character (default true; see above). */
  eager?: boolean;
}

const TITLES = new Set(['dr', 'mr', 'mrs', 'ms', 'mx', 'prof', 'st', 'sr', 'jr', 'rev', 'hon', 'gen', 'capt', 'lt', 'col', 'sgt', 'no', 'nos', 'vol', 'fig', 'ft', 'mt', 'ave', 'apt', 'dept', 'tel', 'ext']);
const ABBREVIATIONS = new Set(['a.m', 'p.m', 'am', 'pm', 'etc', 'e.g', 'i.e', 'vs', 'approx', 'inc', 'ltd', 'co', 'corp', 'min', 'max', 'hrs', 'mins', 'est', 'u.s', 'u.k', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const TERMINATORS = '.!?…';
const CLOSERS = '"\'”’)]»';

export class SentenceSplitter {
  readonly #min: number;
  readonly #max: number;
  readonly #eager: boolean;
  #buf = '';
  /** Where scanning for an end resumes in #buf. */
  #scan = 0;
  /** A short piece waiting to be joined to the next. */
  #carry = '';

  constructor(options: SentenceOptions = {}) {
    this.#min = options.minChars ?? 12;
    this.#max = options.maxChars ?? 180;
    this.#eager = options.eager ?? true;
  }

  /** The sentences `text` completes, in order. */
  push(text: string): string[] {
    this.#buf += text;
    const out: string[] = [];
    for (;;) {
      const end = this.#nextEnd();
      if (end === undefined) break;
      this.#emit(this.#buf.slice(0, end), out);
      this.#buf = this.#buf.slice(end);
      this.#scan = 0;
    }
    if (this.#buf.length > this.#max) {
      const cut = cutPoint(this.#buf, this.#max);
      this.#emit(this.#buf.slice(0, cut), out);
      this.#buf = this.#buf.slice(cut);
      this.#scan = 0;
    }
    return out;
  }

  /** The rest, at the end of the answer (a short last piece is kept, joined to the carry). */
  flush(): string[] {
    const rest = `${this.#carry} ${this.#buf}`.replace(/\s+/g, ' ').trim();
    this.#buf = '';
    this.#carry = '';
    this.#scan = 0;
    return rest === '' ? [] : [rest];
  }

  /** Drops everything (barge-in: the rest of the answer will not be spoken). */
  reset(): void {
    this.#buf = '';
    this.#carry = '';
    this.#scan = 0;
  }

  #emit(piece: string, out: string[]): void {
    const text = `${this.#carry} ${piece}`.replace(/\s+/g, ' ').trim();
    if (text === '') return;
    if (text.length < this.#min) {
      this.#carry = text;
      return;
    }
    this.#carry = '';
    out.push(text);
  }

  /** The index just past the next sentence end in #buf, or undefined if none is certain yet. */
  #nextEnd(): number | undefined {
    const b = this.#buf;
    for (let i = this.#scan; i < b.length; i++) {
      const c = b[i]!;
      if (c === '\n') {
        if (b.slice(0, i).trim() !== '') return i + 1;
        continue;
      }
      if (!TERMINATORS.includes(c)) continue;
      let j = i + 1;
      while (j < b.length && (TERMINATORS.includes(b[j]!) || CLOSERS.includes(b[j]!))) j++;
      if (j === b.length) {
        if (this.#eager && endsWithoutNext(b, i, c)) return j;
        this.#scan = i;
        return undefined;
      }
      if (!/\s/.test(b[j]!)) {
        i = j - 1;
        continue;
      }
      let k = j;
      while (k < b.length && /\s/.test(b[k]!)) k++;
      if (k === b.length) {
        if (this.#eager && endsWithoutNext(b, i, c)) return j;
        this.#scan = i;
        return undefined;
      }
      if (endsSentence(b, i, c, b[k]!)) return j;
      i = j - 1;
    }
    this.#scan = b.length;
    return undefined;
  }
}

/** Whether the terminator `c` at `i` of `b`, followed by white space then `next`, ends a sentence. */
function endsSentence(b: string, i: number, c: string, next: string): boolean {
  if (c !== '.') return true;
  let w = i;
  while (w > 0 && !/\s/.test(b[w - 1]!)) w--;
  const word = b.slice(w, i).replace(/^["'“‘(\[]+/, '').toLowerCase();
  if (TITLES.has(word)) return false;
  if (/^[a-z]$/i.test(word)) return false;
  const upper = next !== next.toLowerCase() || /[0-9"“'‘]/.test(next);
  if (ABBREVIATIONS.has(word)) return upper;
  if (/^\d+$/.test(word) && b.slice(0, w).replace(/[ \t]+$/, '').match(/(^|\n)$/)) return false;
  if (/[a-z]/.test(next) && next === next.toLowerCase() && next !== next.toUpperCase()) return false;
  return true;
}

/** Whether the terminator `c` at `i` surely ends a sentence whatever comes next. */
function endsWithoutNext(b: string, i: number, c: string): boolean {
  if (c !== '.') return true;
  let w = i;
  while (w > 0 && !/\s/.test(b[w - 1]!)) w--;
  const word = b.slice(w, i).replace(/^["'“‘(\[]+/, '').toLowerCase();
  if (word.length < 2 || TITLES.has(word) || ABBREVIATIONS.has(word)) return false;
  return !/[0-9.]/.test(word);
}

/** Where to cut a long run: after its last clause mark, else its last space, else at `max`. */
function cutPoint(b: string, max: number): number {
  const head = b.slice(0, max);
  const clause = Math.max(head.lastIndexOf(', '), head.lastIndexOf('; '), head.lastIndexOf(': '), head.lastIndexOf(' – '), head.lastIndexOf(' — '));
  if (clause > max / 3) return clause + 1;
  const space = head.lastIndexOf(' ');
  return space > max / 3 ? space : max;
}
