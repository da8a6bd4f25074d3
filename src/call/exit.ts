/**
 * Leaving a call: the one path for every way a call ends on our side. `end_call`, a flow's
 * transfer or hang-up, the time limit and the agent-unavailable apology all come here as a
 * PendingExit. Unless it must go at once, an exit first lets the agent finish the turn that
 * answers it (its goodbye) and lets that play (mark echoes, capped), then hangs up or transfers
 * through the caller's transport. A transfer that fails is reported to the agent (normal exits) or
 * hangs up (the apology), and the call goes on or ends accordingly.
 */
import type { CallbridgeError, ErrorCode } from '../shared/errors.js';
import type { CallEventBody, OutcomeDetail } from '../transcripts/types.js';
import { withTimeout } from './clock.js';
import type { Clock } from './ports.js';

export interface PendingExit {
  kind: 'end' | 'transfer';
  reason: string;
  target?: string;
  number?: string;
  errorCode?: ErrorCode;
  /** The exit after the agent-unavailable apology: the call stays `failed`, a failed transfer hangs up. */
  agentUnavailable?: boolean;
}

/** Caps on waits before hanging up or transferring (a bot that never finishes must not hold the line). */
const EXIT_TURN_WAIT_MS = 8000;
/** With nothing being generated, how long the agent gets to start its goodbye. */
const EXIT_GOODBYE_START_MS = 1500;
const EXIT_PLAYOUT_WAIT_MS = 30_000;

export interface ExitDeps {
  clock: Clock;
  now(): number;
  event(body: CallEventBody, atMs: number): void;
  /** The agent is generating, or a function call is under way. */
  agentBusy(): boolean;
  /** Everything sent to the caller has played. */
  whenPlayed(): Promise<unknown>;
  /** The call has ended already. */
  ended(): boolean;
  /** The exit is being carried out (the call's lifecycle moves to `exiting`, or back to `live`). */
  exiting(on: boolean): void;
  /** The caller's media is up. */
  hasMedia(): boolean;
  transfer(number: string): Promise<void>;
  hangUp(reason: string): void;
  /** The call ends without media to end (an exit before the caller's media came). */
  finishWithoutMedia(): void;
  /** Tells the agent something and asks for a reply (a transfer that failed). */
  tellAgent(text: string): void;
}

export class Exits {
  readonly #d: ExitDeps;
  #pending: PendingExit | undefined;
  #turnWaiters: Array<() => void> = [];

  constructor(deps: ExitDeps) {
    this.#d = deps;
  }

  /** The exit under way (waiting for the last words, or being carried out). */
  get pending(): PendingExit | undefined {
    return this.#pending;
  }

  /** How the record describes the exit. */
  detail(): OutcomeDetail {
    const exit = this.#pending;
    if (!exit) return {};
    return {
      reason: exit.reason,
      ...(exit.kind === 'transfer' ? { transferTarget: `${exit.target} (${exit.number})` } : {}),
      ...(exit.errorCode ? { errorCode: exit.errorCode } : {}),
    };
  }

  /** The agent's turn ended (or its session was lost): exits waiting for the goodbye go on. */
  turnEnded(): void {
    const waiters = this.#turnWaiters;
    this.#turnWaiters = [];
    for (const w of waiters) w();
  }

  /** An exit after the agent's last words have been generated and played. First one wins. */
  schedule(exit: PendingExit): void {
    if (this.#pending || this.#d.ended()) return;
    this.#pending = exit;
    void this.#afterLastWords(exit);
  }

  /** An exit now, with nothing more from the agent (after the apology). */
  now(exit: PendingExit): void {
    if (this.#d.ended()) return;
    this.#pending = exit;
    void this.#carryOut(exit);
  }

  async #afterLastWords(exit: PendingExit): Promise<void> {
    await this.#nextTurnEnd();
    if (this.#d.hasMedia()) await withTimeout(this.#d.clock, this.#d.whenPlayed(), EXIT_PLAYOUT_WAIT_MS);
    if (this.#d.ended()) return;
    await this.#carryOut(exit);
  }

  /** The one place a call is hung up or transferred. */
  async #carryOut(exit: PendingExit): Promise<void> {
    this.#d.exiting(true);
    const closeReason = exit.agentUnavailable ? 'voice agent unavailable' : 'call ended by the assistant';
    if (exit.kind === 'end') {
      // Closing the caller's media ends the call (the transport reports it, and the call finishes).
      if (this.#d.hasMedia()) this.#d.hangUp(closeReason);
      else this.#d.finishWithoutMedia();
      return;
    }
    this.#d.event({ kind: 'transfer', target: `${exit.target} (${exit.number})` }, this.#d.now());
    try {
      // The transport connects the caller elsewhere, then its media ends (→ the call finishes).
      await this.#d.transfer(exit.number!);
      if (!this.#d.hasMedia()) this.#d.finishWithoutMedia();
    } catch (err) {
      const error = err as CallbridgeError;
      this.#d.event({ kind: 'error', code: error.code ?? 'CB_TWILIO_REST_FAILED', message: error.message }, this.#d.now());
      if (exit.agentUnavailable) return this.#d.hangUp(closeReason);
      this.#d.exiting(false);
      this.#pending = undefined;
      this.#d.tellAgent('The transfer could not be completed. Apologise to the caller and offer to take a message.');
    }
  }

  #nextTurnEnd(): Promise<void> {
    // Nothing being generated: give the agent a moment to start its goodbye.
    const timeoutMs = this.#d.agentBusy() ? EXIT_TURN_WAIT_MS : EXIT_GOODBYE_START_MS;
    return withTimeout(this.#d.clock, new Promise<void>((resolve) => this.#turnWaiters.push(resolve)), timeoutMs).then(() => undefined);
  }
}
