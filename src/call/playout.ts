/**
 * Playback tracking with marks (docs/twilio-media-streams.md §3, §6, §8): what the caller has
 * actually heard, from the transport's mark echoes only, never from wall-clock guesses. Any caller
 * transport that echoes marks in order after playing the audio before them (Twilio does; the
 * browser phone does the same) can be tracked.
 *
 * The bridge sends a chunk of bot audio, then calls `sent(utteranceId, durationMs)`; the tracker
 * sends a uniquely named mark `g<generation>:m<seq>:<utteranceId>:<cumulative sent>ms` and remembers
 * (utterance, cumulative sent ms) under that name (the name is for humans; lookups are exact).
 * Twilio echoes a mark when the audio before it has played, so an echo advances the utterance's
 * played position to the mark's sent position (and marks are echoed in order, so every earlier
 * pending mark is played too).
 *
 * With `markEveryMs` > 0 (what calls use: 100 ms), consecutive chunks of one utterance share a
 * mark: it is sent once that much audio is unmarked, when the next utterance starts, or at the
 * latest `markEveryMs` after the first unmarked chunk. A chunk of 20 ms would otherwise cost a mark
 * and its echo each (three messages per chunk instead of one); "heard" is then known to within
 * `markEveryMs`. Unmarked audio counts as still playing.
 *
 * `interrupt()` sends `clear`, bumps the generation and moves every pending mark to a "cleared"
 * set: Twilio echoes them all after a clear, and those echoes mean "discarded", not "played".
 */
import type { Clock, TimerHandle } from './ports.js';
import { realClock } from './clock.js';
import { MarkQueue } from './mark-queue.js';

/** What the tracker needs from the caller's transport. */
export interface PlayoutChannel {
  sendMark(name: string): boolean | void;
  clear(): boolean | void;
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

interface Waiter {
  utteranceId: string | undefined;
  resolve: (outcome: PlayedOutcome) => void;
}

export class PlayoutTracker {
  readonly #channel: PlayoutChannel;
  readonly #utterances = new Map<string, Utterance>();
  /** Pending marks of the current generation, in send order. */
  readonly #pending = new MarkQueue();
  /** Marks discarded by a clear whose echoes are still to come. */
  readonly #cleared = new Set<string>();
  #generation = 0;
  #seq = 0;
  #waiters: Waiter[] = [];
  #ended = false;
  readonly #markEveryMs: number;
  /** Audio sent and not yet behind a mark: its utterance (undefined when there is none) and duration. */
  #unmarkedId: string | undefined;
  #unmarkedMs = 0;
  #markTimer: TimerHandle | undefined;
  readonly #clock: Clock;
  /** The mark timer's callback, made once (not a closure per mark). */
  readonly #flushByTimer = (): void => this.flushMark();

  constructor(channel: PlayoutChannel, options: { markEveryMs?: number; clock?: Clock } = {}) {
    this.#channel = channel;
    this.#markEveryMs = options.markEveryMs ?? 0;
    this.#clock = options.clock ?? realClock;
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
    return this.#pending.size > 0 || this.#unmarkedId !== undefined;
  }

  /**
   * Records that `durationMs` more audio of `utteranceId` was just sent (after the media message),
   * and sends a mark behind it (now, or shared with the next chunks: see markEveryMs).
   */
  sent(utteranceId: string, durationMs: number): void {
    let u = this.#utterances.get(utteranceId);
    if (!u) this.#utterances.set(utteranceId, (u = { sentMs: 0, playedMs: 0, pending: 0 }));
    u.sentMs += Math.max(0, durationMs);
    if (this.#unmarkedId !== undefined && this.#unmarkedId !== utteranceId) this.flushMark();
    this.#unmarkedId = utteranceId;
    this.#unmarkedMs += Math.max(0, durationMs);
    if (this.#unmarkedMs >= this.#markEveryMs) this.flushMark();
    else this.#markTimer ??= this.#clock.setTimeout(this.#flushByTimer, this.#markEveryMs);
  }

  /** Sends the mark behind audio sent without one yet (nothing if there is none). */
  flushMark(): void {
    const utteranceId = this.#unmarkedId;
    this.#dropUnmarked();
    if (utteranceId === undefined) return;
    const u = this.#utterances.get(utteranceId)!;
    const name = `g${this.#generation}:m${++this.#seq}:${utteranceId.slice(0, 64)}:${Math.round(u.sentMs)}ms`;
    this.#pending.push(name, utteranceId, u.sentMs);
    u.pending++;
    this.#channel.sendMark(name);
  }

  /** Forgets the audio not yet behind a mark, and its timer. */
  #dropUnmarked(): void {
    this.#clock.clearTimeout(this.#markTimer);
    this.#markTimer = undefined;
    this.#unmarkedId = undefined;
    this.#unmarkedMs = 0;
  }

  /**
   * Feeds a mark echo. Returns true when it advanced playback, false when it was an echo of
   * cleared audio or a mark this tracker did not send.
   */
  onMark(name: string): boolean {
    if (this.#cleared.delete(name)) return false;
    const at = this.#pending.indexOf(name);
    if (at < 0) return false;
    // Echoes come in order: this one and every mark before it have played.
    for (let k = 0; k <= at; k++) {
      const u = this.#utterances.get(this.#pending.utteranceAt(0));
      if (u) {
        u.playedMs = Math.max(u.playedMs, this.#pending.sentMsAt(0));
        u.pending--;
      }
      this.#pending.shift();
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
    this.#channel.clear();
    this.#generation++;
    // Utterances with audio not yet played (behind pending marks, or not marked yet), oldest first.
    const discarded: string[] = [];
    for (let k = 0; k < this.#pending.size; k++) {
      this.#cleared.add(this.#pending.nameAt(k));
      const utteranceId = this.#pending.utteranceAt(k);
      const u = this.#utterances.get(utteranceId);
      if (u) u.pending = 0;
      if (!discarded.includes(utteranceId)) discarded.push(utteranceId);
    }
    this.#pending.clear();
    if (this.#unmarkedId !== undefined && !discarded.includes(this.#unmarkedId)) discarded.push(this.#unmarkedId);
    this.#dropUnmarked();
    for (const w of this.#waiters) w.resolve('cleared');
    this.#waiters = [];
    const [utteranceId, ...alsoCleared] = discarded;
    if (utteranceId === undefined) return null;
    const u = this.#utterances.get(utteranceId);
    return { utteranceId, sentMs: u?.sentMs ?? 0, heardMs: u?.playedMs ?? 0, alsoCleared };
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
    this.flushMark(); // waiting for it: no reason to hold its mark back
    if (this.#isPlayed(utteranceId)) return Promise.resolve('played');
    return new Promise((resolve) => this.#waiters.push({ utteranceId, resolve }));
  }

  /** The stream ended: marks will never come; pending waits resolve with 'ended'. */
  end(): void {
    this.#ended = true;
    this.#dropUnmarked();
    for (const w of this.#waiters) w.resolve('ended');
    this.#waiters = [];
  }

  #isPlayed(utteranceId: string | undefined): boolean {
    if (utteranceId === undefined) return this.#pending.size === 0 && this.#unmarkedId === undefined;
    return (this.#utterances.get(utteranceId)?.pending ?? 0) === 0 && this.#unmarkedId !== utteranceId;
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
