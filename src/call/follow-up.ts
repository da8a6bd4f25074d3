/**
 * Whether a finished call needs the business's attention, and why: a pure function of how the
 * call ended and what happened in it. A call that "completed" can still have let the caller down
 * (the booking function failed, the transfer never happened, the caller only heard the
 * closed-hours message); those carry a follow-up flag with plain reasons, shown in /calls.
 *
 *   red   — the call failed; it ended in the agent-unavailable apology; a transfer failed or was
 *           impossible (e.g. a phone line without TWILIO_ACCOUNT_SID).
 *   amber — a function failed (error, timeout, rejected arguments); the call ended in the
 *           closed-hours message; the call reached its time limit.
 *
 * A browser test-phone transfer is simulated ("would transfer to …") and succeeds: no flag.
 */
import type { CallEventBody, CallOutcome, FollowUp, OutcomeDetail } from '../transcripts/types.js';

export interface FollowUpInput {
  outcome: CallOutcome;
  outcomeDetail?: OutcomeDetail | undefined;
  /** The call's events in order (only function calls, transfers and errors matter). */
  events: readonly CallEventBody[];
}

/** The reason the record carries for the agent-unavailable exit (src/call/apology.ts, lifecycle.ts). */
const AGENT_UNAVAILABLE = 'voice agent unavailable';
/** The reason the manager records for a call answered with the closed-hours message. */
const OUTSIDE_HOURS = 'outside business hours';
const TRANSFER_FUNCTION = 'transfer_call';
const TRANSFER_ERROR_CODE = 'CB_TWILIO_REST_FAILED';

type Reason = { level: FollowUp['level']; text: string };

const FUNCTION_FAILURE: Record<string, string> = { error: 'failed', timeout: 'timed out', rejected: 'was refused (invalid arguments or not allowed)' };

/** Ends a sentence with one full stop. */
const sentence = (text: string): string => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

/** The follow-up a finished call needs, or undefined when it went as the business would expect. */
export function followUpFor(input: FollowUpInput): FollowUp | undefined {
  const reasons = [...outcomeReasons(input), ...eventReasons(input.events)];
  if (reasons.length === 0) return undefined;
  const level = reasons.some((r) => r.level === 'red') ? 'red' : 'amber';
  const ordered = [...reasons.filter((r) => r.level === 'red'), ...reasons.filter((r) => r.level === 'amber')];
  return { level, reasons: [...new Set(ordered.map((r) => r.text))] };
}

/** `{ followUp }` to spread into a record's final patch, or `{}`. */
export function followUpPatch(input: FollowUpInput): { followUp?: FollowUp } {
  const followUp = followUpFor(input);
  return followUp ? { followUp } : {};
}

function outcomeReasons({ outcome, outcomeDetail: detail }: FollowUpInput): Reason[] {
  if (detail?.reason === AGENT_UNAVAILABLE) {
    const then = outcome === 'transferred' && detail.transferTarget ? `, then was transferred to ${detail.transferTarget}` : '';
    const code = detail.errorCode ? ` (${detail.errorCode})` : '';
    return [{ level: 'red', text: `The voice agent became unavailable${code}: the caller heard the apology${then}.` }];
  }
  if (detail?.reason === OUTSIDE_HOURS) {
    const then = outcome === 'transferred' && detail.transferTarget ? ` and was transferred to ${detail.transferTarget}` : '';
    return [{ level: 'amber', text: `Called outside business hours: the caller heard the closed-hours message${then}.` }];
  }
  if (outcome === 'failed') {
    const why = detail?.reason ? `: ${detail.reason}` : '';
    const code = detail?.errorCode ? ` (${detail.errorCode})` : '';
    return [{ level: 'red', text: `The call failed${code}${why}.` }];
  }
  return [];
}

function eventReasons(events: readonly CallEventBody[]): Reason[] {
  const reasons: Reason[] = [];
  /** A transfer the exit path started; an error right after it means it failed. */
  let transferring: string | undefined;
  for (const e of events) {
    if (e.kind === 'transfer') {
      transferring = e.target;
    } else if (e.kind === 'error') {
      const reason = errorReason(e, transferring);
      if (reason) reasons.push(reason);
      transferring = undefined;
    } else if (e.kind === 'function_call') {
      const reason = functionReason(e);
      if (reason) reasons.push(reason);
    }
  }
  return reasons;
}

function errorReason(e: Extract<CallEventBody, { kind: 'error' }>, transferring: string | undefined): Reason | undefined {
  // The exit path records the transfer, then the transport's error if it throws (src/call/exit.ts).
  const callLevel = e.code.startsWith('CB_CALL_') || e.code.startsWith('CB_GEMINI_');
  if (transferring !== undefined && !callLevel) return { level: 'red', text: sentence(`The transfer to ${transferring} failed: ${e.message}`) };
  if (e.code === TRANSFER_ERROR_CODE) return { level: 'red', text: sentence(`A transfer could not happen: ${e.message}`) };
  if (e.code === 'CB_CALL_MAX_DURATION') return { level: 'amber', text: sentence(`The call reached its time limit and was ended (${e.message})`) };
  return undefined;
}

function functionReason(e: Extract<CallEventBody, { kind: 'function_call' }>): Reason | undefined {
  const failed = FUNCTION_FAILURE[e.status];
  if (failed === undefined) return undefined;
  // Function errors are written for the model ("… Tell the caller it cannot be done right now."): keep the first sentence.
  const why = e.error ? `: ${firstSentence(e.error)}` : '';
  if (e.name === TRANSFER_FUNCTION) {
    const target = targetOf(e.args);
    return { level: 'red', text: sentence(`The assistant tried to transfer the caller${target ? ` to ${target}` : ''}, but the transfer ${failed}${why}`) };
  }
  return { level: 'amber', text: sentence(`The function ${e.name} ${failed}${why}`) };
}

function firstSentence(text: string): string {
  const end = text.search(/[.!?](\s|$)/);
  return end === -1 ? text : text.slice(0, end);
}

function targetOf(args: unknown): string | undefined {
  const target = args !== null && typeof args === 'object' ? (args as { target?: unknown }).target : undefined;
  return typeof target === 'string' ? target : undefined;
}

/**
 * Collects, as a call goes, the events the follow-up depends on (a few per call, never audio),
 * and gives the follow-up patch when it ends.
 */
export class FollowUpWatch {
  readonly #events: CallEventBody[] = [];

  observe(body: CallEventBody): void {
    if (body.kind === 'function_call' || body.kind === 'transfer' || body.kind === 'error') this.#events.push(body);
  }

  patch(outcome: CallOutcome, outcomeDetail: OutcomeDetail): { followUp?: FollowUp } {
    return followUpPatch({ outcome, outcomeDetail, events: this.#events });
  }
}
