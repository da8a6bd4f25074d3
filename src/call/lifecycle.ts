/**
 * A call's life in named states, with one place that moves it between them:
 *
 *   pending ──connected──▶ live ──exit carried out──▶ exiting ──media ended──▶ ended
 *      │                    ▲ └──────────────────────────────────────────────────▲
 *      │                    └── transfer failed ──┘                             │
 *      └──────────────── aborted / exit without media ──────────────────────────┘
 *
 * `pending`: admitted, the agent may already be starting (pre-opened at the webhook), the
 * caller's media is not up yet. `live`: media flows both ways. `exiting`: a hang-up or transfer
 * is being carried out. `ended`: the record is closed; nothing more happens.
 * And the outcome a call gets when the caller's media ends, as a pure function of its state.
 */
import type { CallbridgeError } from '../shared/errors.js';
import type { CallOutcome, OutcomeDetail } from '../transcripts/types.js';
import type { PendingExit } from './exit.js';

export type CallState = 'pending' | 'live' | 'exiting' | 'ended';

const ALLOWED: Readonly<Record<CallState, readonly CallState[]>> = {
  pending: ['live', 'exiting', 'ended'],
  live: ['exiting', 'ended'],
  exiting: ['live', 'pending', 'ended'],
  ended: [],
};

export class Lifecycle {
  #state: CallState = 'pending';
  readonly #onChange: (from: CallState, to: CallState) => void;

  constructor(onChange: (from: CallState, to: CallState) => void = () => {}) {
    this.#onChange = onChange;
  }

  get state(): CallState {
    return this.#state;
  }

  get ended(): boolean {
    return this.#state === 'ended';
  }

  /** Moves to `to` when the current state allows it; false (and no change) otherwise. */
  to(to: CallState): boolean {
    const from = this.#state;
    if (from === to || !ALLOWED[from].includes(to)) return false;
    this.#state = to;
    this.#onChange(from, to);
    return true;
  }
}

export interface MediaEndState {
  state: CallState;
  exit: PendingExit | undefined;
  exitDetail: OutcomeDetail;
  /** The agent failed for good (the apology was played or is due). */
  agentFailure: CallbridgeError | undefined;
  /** The bot was talking, a function was running, or the caller's words were unanswered. */
  midConversation: boolean;
}

/**
 * The outcome when the caller's media ends: our own exit (transfer, the bot ending the call), the
 * agent's failure, or the caller hanging up — mid-conversation (abandoned) or at a natural end.
 */
export function outcomeAtMediaEnd(s: MediaEndState): { outcome: CallOutcome; detail: OutcomeDetail } {
  const exiting = s.state === 'exiting';
  if (exiting && s.exit?.kind === 'transfer') return { outcome: 'transferred', detail: s.exitDetail };
  if (exiting && s.exit?.kind === 'end' && !s.exit.agentUnavailable) return { outcome: 'ended_by_bot', detail: s.exitDetail };
  if (s.agentFailure) return { outcome: 'failed', detail: { errorCode: s.agentFailure.code, reason: 'voice agent unavailable' } };
  return { outcome: s.midConversation ? 'caller_hung_up' : 'completed', detail: {} };
}
