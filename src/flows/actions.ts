/**
 * What the engine asks the bridge to do, and the conversion from a flow file's
 * say / goTo / transfer / endCall entries (goTo is handled by the engine itself).
 */
import type { ConfigAction, Flow } from './schema.js';

export type FlowAction =
  /** Make the bot say this line now (the bridge asks Gemini to say it verbatim). */
  | { type: 'say'; text: string }
  /** Put stage instructions into the live session without triggering a reply; self-contained text. */
  | { type: 'instruct'; text: string }
  /** Pass information to the model and let it respond (e.g. an unmapped key). */
  | { type: 'tell_model'; text: string }
  /** Transfer to a resolved target. */
  | { type: 'transfer'; target: string; number: string }
  | { type: 'end_call'; reason: string };

/** Actions after which nothing else happens in the call. */
export function isTerminal(a: FlowAction): boolean {
  return a.type === 'transfer' || a.type === 'end_call';
}

/** say, then transfer or endCall (in that order). A goTo is left to the caller. */
export function basicActions(a: ConfigAction, flow: Pick<Flow, 'transfers'>): FlowAction[] {
  const out: FlowAction[] = [];
  if (a.say !== undefined) out.push({ type: 'say', text: a.say });
  if (a.transfer !== undefined) out.push({ type: 'transfer', target: a.transfer, number: flow.transfers[a.transfer] ?? '' });
  if (a.endCall !== undefined) out.push({ type: 'end_call', reason: a.endCall });
  return out;
}
