/**
 * Live migration over Twilio (docs/scale-out.md, "Live migration"): the MigrationPort
 * (../migration.ts) that moves a phone call off a draining instance.
 *
 * For one call, in this order (each step is what makes the next one safe):
 *   1. pick a ready peer from the instance registry (none: the call stays and drains here);
 *   2. flush this instance's transcript writes, so the peer's events continue after them;
 *   3. store the hand-off (flow, resumption handle, conversation) for the peer;
 *   4. close this instance's Gemini session (the service refuses to resume a session whose
 *      socket is still open: docs/gemini-live.md), then give the call to the peer in the
 *      database, so this instance's final write when its stream stops is dropped;
 *   5. replace the call's TwiML with Twilio's call update (docs/twilio-media-streams.md §5):
 *      `<Connect><Stream>` at the peer's media URL with a fresh stream token (STREAM_TOKEN_SECRET
 *      is shared) and a `handoff` parameter. Twilio stops the current stream and opens the new one.
 * A failed step 5 gives the call back to this instance and ends it with CB_MIGRATION_FAILED
 * (its agent is already gone); a failure before step 4 leaves the call to drain here as before.
 */
import { randomBytes } from 'node:crypto';
import type { TwilioCallControl } from '../../twilio/rest.js';
import type { StreamTokens } from '../../twilio/stream-token.js';
import { STREAM_TOKEN_PARAMETER, TWILIO_PATHS } from '../../twilio/protocol.js';
import { mediaStreamUrl } from '../../twilio/signature.js';
import { streamTwiml } from '../../twilio/twiml.js';
import type { Logger } from '../../shared/log.js';
import type { Handoff, MigrationPort, MovableCall } from '../migration.js';

/** The shared database's part (src/scale/handoffs.ts, src/scale/instances.ts). */
export interface MigrationStore {
  put(handoff: Handoff): Promise<void>;
  take(callSid: string): Promise<Handoff | undefined>;
  drop(callSid: string): Promise<void>;
  /** Makes `instance` the call's owner (src/scale/instances.ts CallOwnership.takeOver). */
  giveTo(callSid: string, instance: string): Promise<boolean>;
}

export interface TwilioMigrationOptions {
  /** MIGRATE_ON_DRAIN: move calls on drain (otherwise only receive them). */
  onDrain: boolean;
  /** This instance's id. */
  self: string;
  rest: TwilioCallControl;
  /** Tokens with the secret every instance shares (STREAM_TOKEN_SECRET). */
  tokens: StreamTokens;
  /** Other live instances ready for calls (src/scale/instances.ts readyPeers). */
  peers(): Promise<Array<{ id: string; url: string }>>;
  store: MigrationStore;
  /** Writes this instance's buffered transcript writes. */
  flush(): Promise<void>;
  /** Ends a call whose move failed after its agent was closed. */
  abort(callSid: string, reason: string): void;
  log: Logger;
  now?: () => number;
}

/** The <Stream> parameter naming the hand-off (informational: the receiver looks it up by CallSid). */
export const HANDOFF_PARAMETER = 'handoff';

export class TwilioMigration implements MigrationPort {
  readonly #o: TwilioMigrationOptions;
  #next = 0;

  constructor(options: TwilioMigrationOptions) {
    this.#o = options;
  }

  get onDrain(): boolean {
    return this.#o.onDrain;
  }

  arrived(callSid: string): Promise<Handoff | undefined> {
    return this.#o.store.take(callSid);
  }

  async move(call: MovableCall): Promise<boolean> {
    const o = this.#o;
    const log = o.log.child({ callSid: call.callSid });
    const peers = await o.peers();
    const peer = peers[this.#next++ % Math.max(1, peers.length)];
    if (!peer) {
      log.warn({ code: 'CB_MIGRATION_FAILED' }, 'no other instance is ready: the call stays and drains here');
      return false;
    }
    await o.flush();
    const id = randomBytes(8).toString('hex');
    // createdAt: the caller's gap starts when this instance's agent goes, right after.
    const handoff: Handoff = { id, callSid: call.callSid, from: o.self, to: peer.id, flow: call.flow, history: call.history, createdAt: (o.now ?? Date.now)(), ...(call.handle ? { handle: call.handle } : {}), ...(call.stage ? { stage: call.stage } : {}) };
    await o.store.put(handoff);
    await call.detach();
    await o.flush();
    if (!(await o.store.giveTo(call.callSid, peer.id))) {
      await o.store.drop(call.callSid).catch(() => undefined);
      log.warn({ code: 'CB_MIGRATION_FAILED' }, 'the call ended while moving it');
      return false;
    }
    const own = { flow: call.flow, [HANDOFF_PARAMETER]: id };
    const twiml = streamTwiml({ streamUrl: mediaStreamUrl(peer.url.replace(/\/+$/, ''), TWILIO_PATHS.media), parameters: { ...own, [STREAM_TOKEN_PARAMETER]: o.tokens.issue(call.callSid, own) } });
    try {
      await o.rest.updateCallTwiml(call.callSid, twiml);
    } catch (err) {
      log.error({ err, code: 'CB_MIGRATION_FAILED', to: peer.id }, 'the Twilio call update failed: the call cannot move and its agent is closed; ending it');
      await o.store.giveTo(call.callSid, o.self).catch(() => undefined);
      await o.store.drop(call.callSid).catch(() => undefined);
      o.abort(call.callSid, `could not move the call to instance ${peer.id}`);
      return false;
    }
    log.info({ to: peer.id, withHandle: handoff.handle !== undefined, turns: call.history.length }, 'call moved to another instance');
    return true;
  }
}
