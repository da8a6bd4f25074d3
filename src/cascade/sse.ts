/**
 * An incremental reader of Gemini's `streamGenerateContent?alt=sse` body (docs/cascade.md, "The
 * answer stream"): bytes in any split (a UTF-8 character or a line may straddle two reads), events
 * out. It never throws: a malformed event becomes an `invalid` event the client reports.
 *
 * Server-sent events: lines end with CRLF, LF or CR; an empty line ends an event; `data:` lines
 * are joined with "\n"; lines starting with `:` are comments; other fields (`event:`, `id:`,
 * `retry:`) are ignored. Gemini sends one `data: {GenerateContentResponse}` per event, or
 * `data: {"error": {...}}` when it fails after the headers.
 */

export type SseEvent =
  | { kind: 'json'; value: Record<string, unknown> }
  | { kind: 'invalid'; data: string; reason: string };

/** The longest event accepted (an answer chunk is a few kB; inline audio is never in an answer). */
const MAX_EVENT_CHARS = 4 * 1024 * 1024;

export class SseReader {
  readonly #decoder = new TextDecoder('utf-8');
  #pending = '';
  #data: string[] = [];
  #dataChars = 0;
  /** A CR ended the last line; a following LF belongs to it. */
  #afterCr = false;

  /** Events completed by `chunk`. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    return this.#consume(text);
  }

  /** Events completed at the end of the body (an event without its final blank line counts). */
  end(): SseEvent[] {
    const out = this.#consume(this.#decoder.decode());
    if (this.#pending !== '') this.#line(this.#pending, out);
    this.#pending = '';
    this.#dispatch(out);
    return out;
  }

  #consume(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    let i = 0;
    if (this.#afterCr && text.startsWith('\n')) start = i = 1;
    this.#afterCr = false;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(this.#pending + text.slice(start, i), out);
      this.#pending = '';
      if (c === 13) {
        if (i + 1 === text.length) this.#afterCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.#pending += text.slice(start);
    if (this.#pending.length > MAX_EVENT_CHARS) {
      out.push({ kind: 'invalid', data: this.#pending.slice(0, 200), reason: `a line longer than ${MAX_EVENT_CHARS} characters` });
      this.#pending = '';
    }
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === '') return this.#dispatch(out);
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.#dataChars += value.length;
    if (this.#dataChars > MAX_EVENT_CHARS) {
      this.#data = [];
      this.#dataChars = 0;
      out.push({ kind: 'invalid', data: value.slice(0, 200), reason: `an event longer than ${MAX_EVENT_CHARS} characters` });
      return;
    }
    this.#data.push(value);
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#data.length === 0) return;
    const data = this.#data.join('\n');
    this.#data = [];
    this.#dataChars = 0;
    if (data.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (err) {
      out.push({ kind: 'invalid', data: data.slice(0, 200), reason: `not JSON (${(err as Error).message})` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      out.push({ kind: 'invalid', data: data.slice(0, 200), reason: 'not a JSON object' });
      return;
    }
    out.push({ kind: 'json', value: value as Record<string, unknown> });
  }
}
