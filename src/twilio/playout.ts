/**
 * Playback tracking with marks (reference §3, §6, §8): what the caller has actually heard, from
 * Twilio's mark echoes only, never from wall-clock guesses.
 *
 * The bridge sends a chunk of bot audio, then calls `sent(utteranceId, durationMs)`; the tracker
 * sends a uniquely named mark `g<generation>:m<seq>:<utteranceId>:<cumulative sent>ms` and remembers
 * (utterance, cumulative sent ms) under that name (the name is for humans; lookups are exact).
 * Twilio echoes a mark when the audio before it has played, so an echo advances the utterance's
 * played position to the mark's sent position (and marks are echoed in order, so every earlier
 * pending mark is played too).
 *
 * `interrupt()` sends `clear`, bumps the generation and moves every pending mark to a "cleared"
 * set: Twilio echoes them all after a clear, and those echoes mean "discarded", not "played".
 */
import type { TwilioMediaStream } from './media-stream.js';

/** What the tracker needs from a stream (a TwilioMediaStream fits). */
export interface PlayoutChannel {
  sendMark(name: string): boolean | void;
  sendClear(): boolean | void;
}

export interface InterruptResult {
  /** The utterance that was playing (the oldest one with unplayed audio). */
  utteranceId: string;
  /** Audio of it sent so far. */
  sentMs: number;
  /** Audio of it the caller heard (confirmed by marks). */
  heardMs: number;
  /** Later utterances queued behind it that were discarded entirely or in part. */
  alsoCleared: string[];
}

/** How a `whenPlayed` wait ended. */
export type PlayedOutcome = 'played' | 'cleared' | 'ended';

interface Utterance {
  sentMs: number;
  playedMs: number;
  /** Marks of this utterance not yet echoed (current generation). */
  pending: number;
}

interface PendingMark {
  utteranceId: string;
  sentMs: number;
}

interface Waiter {
  utteranceId: string | undefined;
  resolve: (outcome: PlayedOutcome) => void;
}

export class PlayoutTracker {
  readonly #channel: PlayoutChannel;
  readonly #utterances = new Map<string, Utterance>();
  /** Pending marks of the current generation, in send order (Map keeps insertion order). */
  readonly #pending = new Map<string, PendingMark>();
  /** Marks discarded by a clear whose echoes are still to come. */
  readonly #cleared = new Set<string>();
  #generation = 0;
  #seq = 0;
  #waiters: Waiter[] = [];
  #ended = false;

  constructor(channel: PlayoutChannel) {
    this.#channel = channel;
  }

  /** Bumped by every `interrupt()`. */
  get generation(): number {
    return this.#generation;
  }

  /** Marks sent and not yet echoed (current generation). */
  get pendingMarks(): number {
    return this.#pending.size;
  }

  /** True while sent audio is still waiting to be played. */
  get isPlaying(): boolean {
    return this.#pending.size > 0;
  }

  /**
   * Records that `durationMs` more audio of `utteranceId` was just sent (after the media message),
   * and sends a mark behind it. Returns the mark name.
   */
  sent(utteranceId: string, durationMs: number): string {
    let u = this.#utterances.get(utteranceId);
    if (!u) this.#utterances.set(utteranceId, (u = { sentMs: 0, playedMs: 0, pending: 0 }));
    u.sentMs += Math.max(0, durationMs);
    const name = `g${this.#generation}:m${++this.#seq}:${utteranceId.slice(0, 64)}:${Math.round(u.sentMs)}ms`;
    this.#pending.set(name, { utteranceId, sentMs: u.sentMs });
    u.pending++;
    this.#channel.sendMark(name);
    return name;
  }

  /**
   * Feeds a mark echo. Returns true when it advanced playback, false when it was an echo of
   * cleared audio or a mark this tracker did not send.
   */
  onMark(name: string): boolean {
    if (this.#cleared.delete(name)) return false;
    const mark = this.#pending.get(name);
    if (!mark) return false;
    // Echoes come in order: this one and every mark before it have played.
    for (const [pendingName, m] of this.#pending) {
      this.#pending.delete(pendingName);
      const u = this.#utterances.get(m.utteranceId);
      if (u) {
        u.playedMs = Math.max(u.playedMs, m.sentMs);
        u.pending--;
      }
      if (pendingName === name) break;
    }
    this.#settleWaiters();
    return true;
  }

  /**
   * Barge-in: sends `clear` (always: fully buffered replies must be flushed too), bumps the
   * generation, and ignores the echoes of every pending mark from now on. Returns what was
   * playing, or null when nothing was waiting to be played.
   */
  interrupt(): InterruptResult | null {
    this.#channel.sendClear();
    this.#generation++;
    let result: InterruptResult | null = null;
    for (const [name, m] of this.#pending) {
      this.#cleared.add(name);
      const u = this.#utterances.get(m.utteranceId);
      if (u) u.pending = 0;
      if (result === null) {
        result = { utteranceId: m.utteranceId, sentMs: u?.sentMs ?? m.sentMs, heardMs: u?.playedMs ?? 0, alsoCleared: [] };
      } else if (m.utteranceId !== result.utteranceId && !result.alsoCleared.includes(m.utteranceId)) {
        result.alsoCleared.push(m.utteranceId);
      }
    }
    this.#pending.clear();
    for (const w of this.#waiters) w.resolve('cleared');
    this.#waiters = [];
    return result;
  }

  /** Audio of `utteranceId` the caller has heard, in ms (0 for an unknown utterance). */
  playedMs(utteranceId: string): number {
    return this.#utterances.get(utteranceId)?.playedMs ?? 0;
  }

  /** Audio of `utteranceId` sent so far, in ms. */
  sentMs(utteranceId: string): number {
    return this.#utterances.get(utteranceId)?.sentMs ?? 0;
  }

  /**
   * Resolves once everything sent so far (of `utteranceId`, or of all utterances) has played:
   * 'played'; or with 'cleared' if an interrupt discarded it first, 'ended' if the stream ended.
   * Use it to hang up after the bot's last words.
   */
  whenPlayed(utteranceId?: string): Promise<PlayedOutcome> {
    if (this.#ended) return Promise.resolve('ended');
    if (this.#isPlayed(utteranceId)) return Promise.resolve('played');
    return new Promise((resolve) => this.#waiters.push({ utteranceId, resolve }));
  }

  /** The stream ended: marks will never come; pending waits resolve with 'ended'. */
  end(): void {
    this.#ended = true;
    for (const w of this.#waiters) w.resolve('ended');
    this.#waiters = [];
  }

  #isPlayed(utteranceId: string | undefined): boolean {
    if (utteranceId === undefined) return this.#pending.size === 0;
    return (this.#utterances.get(utteranceId)?.pending ?? 0) === 0;
  }

  #settleWaiters(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (this.#isPlayed(w.utteranceId)) w.resolve('played');
      else still.push(w);
    }
    this.#waiters = still;
  }
}

/** A tracker wired to a stream: mark echoes feed it, the stream's end ends it. */
export function trackPlayout(stream: TwilioMediaStream): PlayoutTracker {
  const tracker = new PlayoutTracker(stream);
  stream.on('mark', ({ name }) => tracker.onMark(name));
  stream.on('end', () => tracker.end());
  return tracker;
}
