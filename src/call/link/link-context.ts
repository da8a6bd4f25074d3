/**
 * What a restored Gemini session must be told so that the caller notices nothing: the client
 * turn the dead session never answered (the greeting request, a flow `say`, "the caller pressed
 * 1"), and the function results it may not have acted on. Both are forgotten as soon as the model
 * produces content after them — then they are in its context.
 */
import type { Turn as Content } from '../ports.js';

export interface PendingResult {
  name: string;
  response: Record<string, unknown>;
}

/** The part of a Gemini session this needs. */
export interface ContextSink {
  sendClientContent(turns: Content[], turnComplete: boolean): void;
}

export class LinkContext {
  /** A client turn that asked for a reply (turnComplete) and has had none yet. */
  #turn: Content[] | undefined;
  #results: PendingResult[] = [];

  /** The client sent a turn that asks for a reply. */
  clientTurn(turns: Content[]): void {
    this.#turn = turns;
  }

  /** Results sent by id (or due to a session that died): kept until the model acts on them. */
  results(results: readonly PendingResult[]): void {
    this.#results.push(...results);
  }

  get pendingResults(): number {
    return this.#results.length;
  }

  /** The model produced content: everything before it is in its context. */
  modelActed(): void {
    if (this.#turn) this.#turn = undefined;
    if (this.#results.length > 0) this.#results = [];
  }

  /** What is owed right now (taken before a new session is announced, so turns sent then are not repeated). */
  owed(): { turn: Content[] | undefined; results: PendingResult[] } {
    return { turn: this.#turn, results: [...this.#results] };
  }

  /**
   * A restored session: ask again for the reply the old one never gave, and tell it the results
   * it may have missed. A fresh session got the conversation so far before this.
   */
  restore(session: ContextSink, owed: ReturnType<LinkContext['owed']>): void {
    // One reply for both: the results (if any) close the turn.
    if (owed.turn) session.sendClientContent(owed.turn, owed.results.length === 0);
    if (owed.results.length > 0) this.tellResults(session, owed.results);
  }

  /** A fresh session: the conversation so far, as context (no reply asked for). */
  reseed(session: ContextSink, history: Content[]): void {
    if (history.length > 0) session.sendClientContent(history, false);
  }

  /** Function results for calls the current session does not know (they belonged to a dead one). */
  tellResults(session: ContextSink, results: readonly PendingResult[]): void {
    if (results.length === 0) return;
    const lines = results.map((r) => `${r.name}: ${JSON.stringify(r.response)}`);
    const text =
      'The connection was interrupted right after these function results were sent; you may not have received them. ' +
      `Use them and continue the conversation from where it left off:\n${lines.join('\n')}`;
    session.sendClientContent([{ role: 'user', parts: [{ text }] }], true);
  }
}
