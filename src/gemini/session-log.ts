/**
 * The log lines of one Gemini session, kept apart so session.ts stays about the protocol.
 * Repeating conditions (malformed frames, unknown fields, throwing listeners) are logged once and
 * counted. Never logs the API key or a URL with a query; frame previews go under `pii` since they
 * may hold transcript text.
 */
import type { Logger } from '../shared/log.js';
import type { CallbridgeError } from '../shared/errors.js';
import type { ClassifiedClose } from './close-codes.js';
import type { TruncatedResponse } from './tool-calls.js';

export class SessionLog {
  readonly log: Logger;
  malformedFrames = 0;
  listenerErrors = 0;
  readonly #noted = new Set<string>();

  constructor(log: Logger) {
    this.log = log;
  }

  connecting(url: URL, knownModel: boolean): void {
    this.log.debug({ host: url.host, path: url.pathname }, 'gemini connecting');
    if (!knownModel) this.log.warn('gemini model not in the capability table: connecting without per-model checks');
  }

  setupComplete(latencyMs: number, sessionId: string | undefined): void {
    this.log.info({ setupLatencyMs: latencyMs, sessionId }, 'gemini setup complete');
  }

  connectFailed(err: CallbridgeError): void {
    this.log.warn({ code: err.code, detail: err.detail, fix: err.fix }, `gemini connect failed: ${err.message}`);
  }

  socketError(err: Error): void {
    this.log.debug({ err: err.message }, 'gemini socket error');
  }

  malformed(reason: string, preview: string): void {
    this.malformedFrames++;
    if (this.malformedFrames === 1) {
      this.log.warn({ code: 'CB_GEMINI_MALFORMED_MESSAGE', reason, pii: { preview } }, 'gemini sent a malformed frame (ignored; further ones are counted)');
    } else this.log.debug({ reason, count: this.malformedFrames }, 'gemini malformed frame');
  }

  /** Unknown fields (info) and skipped parts (warn), each distinct one once per session. */
  oddities(unknownFields: readonly string[], skipped: readonly string[]): void {
    for (const field of unknownFields) {
      if (this.#once(`u:${field}`)) this.log.info({ field }, 'gemini sent a field callbridge does not use');
    }
    for (const what of skipped) {
      if (this.#once(`s:${what}`)) this.log.warn({ code: 'CB_GEMINI_MALFORMED_MESSAGE', part: what }, 'gemini frame part skipped');
    }
  }

  listenerThrew(event: string, err: unknown): void {
    this.listenerErrors++;
    if (this.#once(`l:${event}`)) {
      this.log.error({ event, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'a gemini event listener threw (logged once per event type)');
    }
  }

  goAway(timeLeftMs: number | undefined, hasHandle: boolean): void {
    this.log.info({ timeLeftMs, hasResumptionHandle: hasHandle }, 'gemini goAway: this connection ends soon');
  }

  closed(c: ClassifiedClose, pendingToolCalls: number): void {
    const fields = {
      closeCode: c.code,
      reason: c.reason,
      code: c.error.code,
      meaning: c.meaning,
      fix: c.fix,
      retryable: c.retryable,
      retryClass: c.retryClass,
      pendingToolCalls,
    };
    if (c.retryable) this.log.warn(fields, `gemini closed ${c.code}: ${c.meaning}`);
    else this.log.error(fields, `gemini closed ${c.code}: ${c.meaning}`);
  }

  closedByUs(code: number): void {
    this.log.debug({ closeCode: code }, 'gemini session closed by us');
  }

  truncated(t: TruncatedResponse): void {
    this.log.warn({ toolCallId: t.id, tool: t.name, originalBytes: t.originalBytes, sentBytes: t.sentBytes }, 'tool response over the size cap: truncated with a note to the model');
  }

  heldAudio(flushedMs: number, droppedMs: number): void {
    this.log.info({ flushedMs, droppedMs }, 'caller audio held during a blocking tool call was sent');
  }

  #once(key: string): boolean {
    // Bounded: a server flooding distinct field names must not grow memory (or the log) without limit.
    if (this.#noted.has(key) || this.#noted.size >= 1000) return false;
    this.#noted.add(key);
    return true;
  }
}
