/**
 * Where the conversation is, as far as the link must know it: is the agent producing a reply,
 * has this turn produced content yet, has the agent signalled it is working on one (busy), is
 * the caller talking, is a reply due. From these: whether now is a quiet moment to hand the
 * session over, and whether a failure hit a reply before any of its content.
 */
import type { AgentEvent } from '../ports.js';

export type TurnSignal = 'none' | 'first-content' | 'turn-ended' | 'busy';

export class TurnState {
  /** The agent is producing a reply (audio, text or a tool call came this turn). */
  generating = false;
  /** This turn has produced content. */
  contentThisTurn = false;
  /** The agent signalled (resumable: false) that it is working on a reply in this turn. */
  busy = false;
  callerSpeaking = false;
  /** The caller finished speaking after the last reply ended: a reply is due (not a quiet moment). */
  replyDue = false;

  /** A new session: no turn is under way on it. */
  reset(): void {
    this.generating = false;
    this.contentThisTurn = false;
    this.busy = false;
  }

  /**
   * Feeds one agent event; says what it meant for the turn: its first content, its end, the
   * busy signal, or nothing of note.
   */
  onEvent(event: AgentEvent): TurnSignal {
    switch (event.type) {
      case 'audio':
      case 'text':
      case 'toolCall': {
        this.generating = true;
        this.replyDue = false; // the answer is under way
        if (this.contentThisTurn) return 'none';
        this.contentThisTurn = true;
        return 'first-content';
      }
      case 'interrupted':
      case 'turnComplete':
        this.reset();
        return 'turn-ended';
      case 'sessionResumptionUpdate':
        if (event.resumable || this.contentThisTurn) return 'none';
        this.busy = true;
        return 'busy';
      default:
        return 'none';
    }
  }

  /** The caller started or stopped talking (the bridge's own voice detection). */
  caller(speaking: boolean): void {
    this.callerSpeaking = speaking;
    if (!speaking) this.replyDue = true;
  }

  /** Busy with no content yet, and the caller is quiet: a reply is owed now. */
  get awaitingFirstContent(): boolean {
    return this.busy && !this.contentThisTurn;
  }

  /**
   * A moment to hand over without costing the caller anything: the agent is not speaking or
   * working on a reply, no tool call is pending, and the caller is neither talking nor waiting for
   * an answer (a hand-over then would lose the reply being prepared).
   */
  quiet(pendingToolCalls: number): boolean {
    return !this.generating && !this.busy && !this.callerSpeaking && !this.replyDue && pendingToolCalls === 0;
  }
}
