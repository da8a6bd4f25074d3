/**
 * Several callbridge instances on one database (docs/scale-out.md, "Several instances"): what
 * they share, behind one interface with a SQLite (./sqlite-scale.ts) and a PostgreSQL
 * (./pg-scale.ts) implementation.
 *
 * - The instance registry: each instance's id, the URL Twilio reaches it at (INSTANCE_URL), its
 *   state (ready / draining) and a heartbeat; `readyPeers()` lists the other live, ready ones.
 * - Redeemed stream tokens: a token is good for one `start` across every instance.
 * - Call ownership: which instance runs a call. The webhook's instance claims it; an instance
 *   whose stream arrives for a call it did not admit takes it over; writes of a call's record and
 *   events from any other instance are dropped (./owned-store.ts), so the first instance's unused
 *   pre-opened call can never write a final record over the one that took the call.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export type InstanceState = 'ready' | 'draining';

export interface InstanceInfo {
  id: string;
  /** The http(s) URL Twilio reaches this instance at (INSTANCE_URL), or its public URL. */
  url: string;
  state: InstanceState;
  startedAt: number;
  heartbeatAt: number;
}

export interface InstanceRegistry {
  /** Adds or refreshes this instance's row (state, heartbeat now). */
  heartbeat(info: { id: string; url: string; state: InstanceState; startedAt: number }): Promise<void>;
  /** Removes this instance's row (clean shutdown). */
  remove(id: string): Promise<void>;
  /** Instances whose heartbeat is younger than `staleMs`. */
  live(staleMs: number): Promise<InstanceInfo[]>;
}

/** The outcome of taking over a call whose stream landed here. */
export type TakeOver =
  /** The call is ours now; `lastSeq`: its highest stored event number (ours continue after it). */
  | { ok: true; previousOwner: string | undefined; lastSeq: number }
  /** Its record is final (ended elsewhere, or timed out): never reopened. */
  | { ok: false; reason: 'final' };

export interface CallOwnership {
  /** The webhook's instance claims a new call (no effect when another instance already holds it). */
  claim(callSid: string, instance: string): Promise<void>;
  /** A stream for `callSid` landed on `instance`: it becomes the owner unless the record is final. */
  takeOver(callSid: string, instance: string): Promise<TakeOver>;
  /** Owners of these calls (calls without an owner are absent). */
  owners(callSids: readonly string[]): Promise<Map<string, string>>;
  /** Forgets owners claimed before `beforeMs` (long ended: ownership matters only while a call runs). */
  forgetOwners(beforeMs: number): Promise<number>;
}

export interface TokenLedger {
  /** Records a redeemed token (its MAC); false when some instance redeemed it already. */
  redeem(mac: string, expiresAtMs: number): Promise<boolean>;
}

/** Everything several instances share, on one database. */
export interface ScaleStore extends InstanceRegistry, CallOwnership, TokenLedger {
  close(): Promise<void>;
}

/** A heartbeat older than this means the instance is gone (crashed, or cut off from the database). */
export const INSTANCE_STALE_MS = 15_000;
export const HEARTBEAT_MS = 5_000;
/** Owners are kept this long after their claim: longer than any call may last. */
export const OWNER_KEEP_MS = 2 * 24 * 3600_000;

/** INSTANCE_ID, or `<host>-<pid>-<random>` (unique per process, readable in logs). */
export function instanceId(configured: string | undefined): string {
  if (configured) return configured;
  const host = hostname().replace(/[^\w.-]/g, '').slice(0, 40) || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** The other instances that are ready for calls (live heartbeat, not draining), for migration and TwiML. */
export async function readyPeers(registry: InstanceRegistry, self: string): Promise<Array<{ id: string; url: string }>> {
  const all = await registry.live(INSTANCE_STALE_MS);
  return all.filter((i) => i.id !== self && i.state === 'ready').map((i) => ({ id: i.id, url: i.url }));
}
