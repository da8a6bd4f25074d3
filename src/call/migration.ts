/**
 * Live migration on drain (docs/scale-out.md, "Live migration"): the call manager's side.
 *
 * Draining instance (A): for every call whose media runs, `moveAll` hands the port what the next
 * instance needs — the flow, the latest Gemini resumption handle (seen on the session's
 * `sessionResumptionUpdate` events) and the conversation so far — and a way to close this
 * instance's agent session (the service refuses a resume while the old socket is open). The port
 * (src/call/adapters/twilio-migrate.ts) stores the hand-off, gives the call to the target and
 * redirects it with Twilio's call update; the stream's `stop` then ends the call here, and its
 * final write is dropped (the record is the target's: src/scale/owned-store.ts).
 *
 * Receiving instance (B): when the media of a call taken over arrives, `arrive` fetches its
 * hand-off; the call's first agent session resumes with the handle (or, when the handle is
 * refused, starts fresh and is given the conversation so far), it is not greeted again, and the
 * record gets one `migrated` event. Per call state only; nothing on the audio hot path besides
 * one event-type comparison per agent event, and only when migration is on.
 */
import type { Logger } from '../shared/log.js';
import type { CallLog } from '../transcripts/writer.js';
import type { FlowSession } from '../flows/index.js';
import type { GeminiLink } from './link/link.js';
import type { LiveConnect, LiveSession, Turn } from './ports.js';

/** What one instance leaves for the next about a live call. */
export interface Handoff {
  id: string;
  callSid: string;
  /** Instance ids. */
  from: string;
  to: string;
  flow: string;
  /** The flow stage the call was in (the receiver continues there when its flow has it). */
  stage?: string;
  /** The latest resumption handle of the call's Gemini session, if the service gave one. */
  handle?: string;
  /** The conversation so far (re-seeds a fresh session when the handle is refused). */
  history: Turn[];
  /** Wall-clock ms when the call's agent was closed on `from`: the gap starts here. */
  createdAt: number;
}

/** A live call as the port needs it to move it. */
export interface MovableCall {
  callSid: string;
  flow: string;
  stage: string | undefined;
  handle: string | undefined;
  history: Turn[];
  /** Closes this instance's agent session (call before the target resumes it). */
  detach(): Promise<void>;
}

/** Where calls go and come from (implemented over Twilio's REST API and the database). */
export interface MigrationPort {
  /** MIGRATE_ON_DRAIN: move live calls on drain (false: this instance only receives moved calls). */
  readonly onDrain: boolean;
  /** Moves one call to a ready instance; false when it could not (the call then drains here as before). */
  move(call: MovableCall): Promise<boolean>;
  /** The hand-off left for `callSid` by another instance, taken (read once). */
  arrived(callSid: string): Promise<Handoff | undefined>;
}

interface Slot {
  link?: GeminiLink;
  session?: FlowSession;
  handle?: string;
  history?: () => Turn[];
  /** The hand-off this call arrived with, until its first session is up. */
  arrival?: Handoff;
  resumeTried?: boolean;
  /** The agent is mid-turn or running functions (its last update said not resumable). */
  busy?: boolean;
  /** Resolves a move waiting for the agent's next resumable moment. */
  quiet?: () => void;
}

const GREETING_PREFIX = '(The caller has just been connected.)';
/** How long a move waits for a busy agent's next resumable moment (a reply, a function round trip). */
export const QUIET_WAIT_MS = 5000;

/** Per-manager bookkeeping of migration: links, handles, arrivals. Inert without a port. */
export class CallMoves {
  readonly #port: MigrationPort | undefined;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();

  constructor(port: MigrationPort | undefined, log: Logger) {
    this.#port = port;
    this.#log = log;
  }

  #slot(callSid: string): Slot {
    let slot = this.#slots.get(callSid);
    if (!slot) this.#slots.set(callSid, (slot = {}));
    return slot;
  }

  /** B: media for a call taken over arrived; fetch its hand-off (none: an ordinary take-over). */
  async arrive(callSid: string): Promise<void> {
    if (!this.#port) return;
    try {
      const handoff = await this.#port.arrived(callSid);
      if (handoff) this.#slot(callSid).arrival = handoff;
    } catch (err) {
      this.#log.error({ err, code: 'CB_MIGRATION_FAILED', callSid }, 'could not read the call hand-off; the call starts a fresh agent session');
    }
  }

  /** B: the call's record is open: note where it came from and how long the media was away. */
  opened(callSid: string, record: CallLog, wallNow: number): void {
    const h = this.#slots.get(callSid)?.arrival;
    if (!h) return;
    record.event({ kind: 'migrated', from: h.from, to: h.to, gapMs: Math.max(0, wallNow - h.createdAt), withHandle: h.handle !== undefined }, 0);
    this.#log.info({ callSid, from: h.from, gapMs: wallNow - h.createdAt, withHandle: h.handle !== undefined }, 'call migrated here: resuming its conversation');
  }

  /** The link's history option: a migrated call's earlier conversation comes first. */
  history(callSid: string, own: (() => Turn[]) | undefined): { history?: () => Turn[] } {
    if (!this.#port) return own ? { history: own } : {};
    const slot = this.#slot(callSid);
    const before = slot.arrival?.history ?? [];
    const all = (): Turn[] => (before.length === 0 ? (own?.() ?? []) : [...before, ...(own?.() ?? [])]);
    slot.history = all;
    return { history: all };
  }

  /** The call's flow session: remembered (its stage moves with the call); an arrival continues in its stage. */
  session(callSid: string, session: FlowSession): FlowSession {
    if (!this.#port) return session;
    const slot = this.#slot(callSid);
    slot.session = session;
    const stage = slot.arrival?.stage;
    if (stage !== undefined && !session.resumeAt(stage)) this.#log.warn({ callSid, stage }, 'migrated call: its stage is not in this flow; it starts at the first stage');
    return session;
  }

  /** Remembers the call's link (to close it when the call moves). */
  track(callSid: string, link: GeminiLink): GeminiLink {
    if (this.#port) this.#slot(callSid).link = link;
    return link;
  }

  /** The connect the call's link uses: watches handles, resumes an arrival. Unchanged without a port. */
  connect(callSid: string, inner: LiveConnect): LiveConnect {
    if (!this.#port) return inner;
    return async (options) => {
      const slot = this.#slot(callSid);
      const arrival = slot.arrival;
      let opts = options;
      const resume = arrival?.handle !== undefined && !slot.resumeTried && options.config.sessionResumption.handle === undefined;
      if (resume) {
        slot.resumeTried = true;
        opts = { ...options, config: { ...options.config, sessionResumption: { enabled: true, handle: arrival!.handle! } } };
      }
      const session = await inner(opts);
      session.onEvent((e) => {
        if (e.type !== 'sessionResumptionUpdate') return;
        slot.busy = !e.resumable;
        if (e.resumable && e.newHandle) {
          slot.handle = e.newHandle;
          slot.quiet?.();
        }
      });
      if (!arrival) return session;
      delete slot.arrival;
      if (!resume && arrival.history.length > 0) session.sendClientContent(arrival.history, false); // the handle was refused: re-seed
      this.#log.info({ callSid, resumed: resume }, resume ? 'migrated call: Gemini session resumed with the hand-off handle' : 'migrated call: fresh Gemini session seeded with the conversation');
      return withoutGreeting(session);
    };
  }

  /** A: moves every call in `callSids` (those whose media runs) to other instances. */
  async moveAll(callSids: readonly string[], flowOf: (callSid: string) => string | undefined): Promise<{ moved: number; stayed: number }> {
    let moved = 0;
    if (!this.#port) return { moved, stayed: callSids.length };
    const port = this.#port;
    const results = await Promise.all(
      callSids.map(async (callSid) => {
        const slot = this.#slots.get(callSid);
        const flow = flowOf(callSid);
        if (!slot?.link || flow === undefined) return false;
        const link = slot.link;
        await this.#quiet(slot);
        return port
          .move({ callSid, flow, stage: slot.session?.stage, handle: slot.handle, history: slot.history?.() ?? [], detach: () => link.close() })
          .catch((err: unknown) => {
            this.#log.error({ err, code: 'CB_MIGRATION_FAILED', callSid }, 'could not move the call');
            return false;
          });
      }),
    );
    for (const ok of results) if (ok) moved++;
    return { moved, stayed: callSids.length - moved };
  }

  /**
   * Waits (at most QUIET_WAIT_MS) for the agent's next resumable moment when it is mid-reply or
   * running functions: the service gives no handle then (docs/gemini-live.md), and a handle from
   * before would lose that turn and its function results.
   */
  async #quiet(slot: Slot): Promise<void> {
    if (!slot.busy) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, QUIET_WAIT_MS);
      timer.unref?.();
      slot.quiet = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    delete slot.quiet;
  }

  forget(callSid: string): void {
    this.#slots.delete(callSid);
  }
}

/** The migrated call's agent already greeted the caller on the first instance: its greeting turn is dropped. */
function withoutGreeting(session: LiveSession): LiveSession {
  let first = true;
  const send = session.sendClientContent.bind(session);
  session.sendClientContent = (turns, complete) => {
    const greeting = first && complete && turns[0]?.parts[0]?.text?.startsWith(GREETING_PREFIX) === true;
    first = false;
    if (!greeting) send(turns, complete);
  };
  return session;
}
