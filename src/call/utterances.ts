/**
 * Who said what, and how much of it the caller heard: turns the stream of transcription pieces,
 * audio chunks, interruptions and mark echoes into caller_utterance / bot_utterance events.
 *
 * A bot utterance is one model turn. It opens with its first audio or transcription, collects
 * output transcription text, and is recorded once its fate is known: fully played (every mark
 * echoed), interrupted (heard ms from the marks at the moment of the clear), or cut by the end of
 * the call. Events carry the utterance's start time, so the timeline reads in speaking order.
 *
 * Caller speech the agent sends no transcription for (the bridge's own voice activity detection
 * heard it) is recorded as what it is, "(caller audio, 3.2 s)", never as invented words: once a
 * reply that started after it has finished, or when the call ends.
 */
import type { CallEventBody } from '../transcripts/types.js';
import type { PlayoutTracker } from './playout.js';
import type { Turn } from './ports.js';

export interface BotUtterance {
  id: string;
  startAtMs: number;
  text: string;
  /** Model finished generating it (turnComplete) or it was cut. */
  closed: boolean;
  recorded: boolean;
  interrupted: boolean;
}

export type EmitEvent = (body: CallEventBody, atMs: number) => void;
/** Words as they are transcribed, before the utterance is recorded (live captions). */
export type LiveText = (who: 'caller' | 'bot', text: string, utteranceId?: string) => void;

export class Utterances {
  readonly #emit: EmitEvent;
  readonly #live: LiveText | undefined;
  readonly #open = new Map<string, BotUtterance>();
  #current: BotUtterance | undefined;
  #seq = 0;
  #callerText = '';
  #callerStartMs: number | undefined;
  /** Every recorded utterance, for re-seeding a fresh Gemini session. */
  readonly history: Array<{ role: 'user' | 'model'; text: string }> = [];
  #playout: PlayoutTracker | undefined;
  /** Caller speech without words yet, as flat [startMs, stopMs, …] pairs (the call's VAD). */
  readonly #untranscribed: number[] = [];
  /** Call time caller text last arrived. */
  #callerTextAtMs = Number.NEGATIVE_INFINITY;

  constructor(emit: EmitEvent, live?: LiveText) {
    this.#emit = emit;
    this.#live = live;
  }

  /** The conversation so far, for re-seeding a fresh agent session; it ends on the caller's side. */
  turns(): Turn[] {
    const turns: Turn[] = this.history.map((h) => ({ role: h.role, parts: [{ text: h.text }] }));
    if (turns.length > 0 && turns[turns.length - 1]!.role !== 'user') {
      turns.push({ role: 'user', parts: [{ text: '(The line to the assistant dropped for a moment. Continue the conversation naturally; do not greet again.)' }] });
    }
    return turns;
  }

  set playout(tracker: PlayoutTracker) {
    this.#playout = tracker;
  }

  /** The utterance receiving audio/text now, opened on demand. */
  current(atMs: number): BotUtterance {
    if (!this.#current) {
      this.flushCaller();
      const u: BotUtterance = { id: `u${++this.#seq}`, startAtMs: atMs, text: '', closed: false, recorded: false, interrupted: false };
      this.#current = u;
      this.#open.set(u.id, u);
    }
    return this.#current;
  }

  get generating(): boolean {
    return this.#current !== undefined;
  }

  /** What the utterance being generated has said so far (its output transcription). */
  currentText(): string | undefined {
    return this.#current?.text.trim().replace(/\s+/g, ' ');
  }

  botText(text: string, atMs: number): void {
    const u = this.current(atMs);
    // Pieces of one turn can come from separate stretches of speech (before and after a
    // function call) without a space between sentences.
    if (/[.!?]$/.test(u.text) && /^[^\s.,!?;:]/.test(text)) u.text += ' ';
    u.text += text;
    this.#live?.('bot', text, u.id);
  }

  callerText(text: string, atMs: number, speechStartMs?: number): void {
    if (this.#callerText === '') this.#callerStartMs = speechStartMs !== undefined ? Math.min(speechStartMs, atMs) : atMs;
    this.#callerText += text;
    this.#live?.('caller', text);
    this.#callerTextAtMs = atMs;
    this.#untranscribed.length = 0; // the words of the speech so far have come
  }

  /** The call's VAD heard the caller from `startMs` to `stopMs`; without words for it, it is recorded as audio. */
  callerSpoke(startMs: number, stopMs: number): void {
    if (this.#callerTextAtMs >= startMs) return; // words for it came while it was spoken
    this.#untranscribed.push(startMs, stopMs);
  }

  /** Records caller speech that ended before `beforeMs` and got no words, as "(caller audio, N s)". */
  #recordUntranscribed(beforeMs: number): void {
    const pending = this.#untranscribed;
    let kept = 0;
    for (let i = 0; i < pending.length; i += 2) {
      const startMs = pending[i]!;
      const stopMs = pending[i + 1]!;
      if (stopMs > beforeMs) {
        pending[kept++] = startMs;
        pending[kept++] = stopMs;
        continue;
      }
      this.#emit({ kind: 'caller_utterance', text: `(caller audio, ${((stopMs - startMs) / 1000).toFixed(1)} s)` }, startMs);
    }
    pending.length = kept;
  }

  /** Records the caller's words so far as one utterance. */
  flushCaller(): void {
    const text = this.#callerText.trim().replace(/\s+/g, ' ');
    if (text !== '') {
      this.#emit({ kind: 'caller_utterance', text }, this.#callerStartMs ?? 0);
      this.history.push({ role: 'user', text });
    }
    this.#callerText = '';
    this.#callerStartMs = undefined;
  }

  /** The model finished its turn: the utterance is recorded once its audio has played. */
  turnComplete(): void {
    const u = this.#current;
    this.#closeCurrent();
    // The model has answered speech that ended before this reply began: no words will come for it.
    if (u) this.#recordUntranscribed(u.startAtMs);
  }

  #closeCurrent(): void {
    const u = this.#current;
    this.#current = undefined;
    if (!u) return;
    u.closed = true;
    if (!this.#playout) return this.#record(u, false);
    void this.#playout.whenPlayed(u.id).then((outcome) => {
      if (outcome === 'played') this.#record(u, false);
      // 'cleared' is recorded by interrupted(); 'ended' by finish().
    });
  }

  /**
   * Barge-in. `playing` is what the tracker reported as playing when it cleared (null when nothing
   * was waiting at Twilio). Every utterance with unplayed audio, and the one being generated, is
   * recorded as interrupted with what the caller heard.
   */
  interrupted(playing: { utteranceId: string; alsoCleared: string[] } | null): void {
    const ids = new Set<string>(playing ? [playing.utteranceId, ...playing.alsoCleared] : []);
    if (this.#current) ids.add(this.#current.id);
    for (const id of ids) {
      const u = this.#open.get(id);
      if (u) this.#record(u, true);
    }
    this.#current = undefined;
  }

  /**
   * A function call splits the model's turn: what it said before the call is one utterance, what
   * it says after the result another, so the transcript reads in the order things happened.
   */
  functionCall(): void {
    this.#closeCurrent();
  }

  /** The Gemini session died mid-turn: the turn is over, its audio still plays out. */
  cut(): void {
    this.#closeCurrent();
  }

  /** End of call: record everything still open with what was heard. */
  finish(): void {
    this.flushCaller();
    this.#recordUntranscribed(Number.POSITIVE_INFINITY);
    for (const u of [...this.#open.values()]) this.#record(u, false);
    this.#current = undefined;
  }

  #record(u: BotUtterance, interrupted: boolean): void {
    if (u.recorded) return;
    u.recorded = true;
    u.interrupted = interrupted;
    this.#open.delete(u.id);
    const sentMs = Math.round(this.#playout?.sentMs(u.id) ?? 0);
    const heardMs = Math.round(this.#playout?.playedMs(u.id) ?? 0);
    const text = u.text.trim().replace(/\s+/g, ' ');
    this.#emit({ kind: 'bot_utterance', text, heardMs, sentMs, interrupted }, u.startAtMs);
    if (text !== '') this.history.push({ role: 'model', text: interrupted ? `${text} [interrupted by the caller]` : text });
  }
}
