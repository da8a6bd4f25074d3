/**
 * Which instance runs a call, when several share one database (docs/scale-out.md, "Several
 * instances"). The manager sees it through this port; the app implements it over src/scale.
 *
 * The instance that got the webhook claims the call and pre-opens its agent. When the media
 * stream lands on another instance, that one takes the call over (its record, from the stored
 * one, and its event numbering) and from then on only it writes the call's record. The first
 * instance, at its no-stream timeout, finds the call owned elsewhere: it closes its unused
 * pre-opened session and writes nothing (src/scale/owned-store.ts drops the writes).
 */
import type { Logger } from '../shared/log.js';
import type { CallRecord } from '../transcripts/types.js';

/** Call ownership across instances, as the manager needs it. */
export interface CallOwnershipPort {
  /** This instance's id, stored on the records of the calls it runs. */
  readonly instance: string;
  /** The webhook's instance claims the call. */
  claim(callSid: string): Promise<void>;
  /** Media for a call admitted elsewhere landed here: take it over, unless its record is final. */
  takeOver(callSid: string): Promise<TakenOver | { ok: false }>;
  /** The instance that owns the call now, if any. */
  owner(callSid: string): Promise<string | undefined>;
}

/** A call taken over from another instance: its stored record (from, to, start) and last event number. */
export interface TakenOver {
  ok: true;
  record?: CallRecord;
  lastSeq: number;
}

/**
 * The other instance that took `callSid` over, or undefined (no ownership, ours, or the database
 * cannot say: then the call is ended here as before, and its write is dropped if it was taken).
 */
export async function takenBy(scale: CallOwnershipPort | undefined, callSid: string, log: Logger): Promise<string | undefined> {
  if (!scale) return undefined;
  let owner: string | undefined;
  try {
    owner = await scale.owner(callSid);
  } catch (err) {
    log.error({ err, code: 'CB_SCALE_DB_FAILED', callSid }, 'could not read which instance runs the call');
    return undefined;
  }
  if (owner === undefined || owner === scale.instance) return undefined;
  log.info({ callSid, owner }, "the call's media went to another instance: closing the unused pre-opened session (the record is that instance's)");
  return owner;
}
