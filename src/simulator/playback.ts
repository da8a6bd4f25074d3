/**
 * Twilio's outbound playback buffer, as the simulated caller experiences it
 * (docs/twilio-media-streams.md §3): media is queued and played in order at 8000 samples/s of call
 * time; a mark is echoed when the audio queued before it has played, or at once if nothing is
 * buffered; `clear` drops the buffer and echoes every pending mark at once.
 *
 * Playback is computed, not timed: `advance(toSample)` plays everything due up to that call-clock
 * position (the caller's ticker calls it, and every inbound message calls it first so arrivals
 * are placed exactly). What plays is written into the `heard` track at its call-clock position,
 * and bot speech start/stop is detected on it (peak above a threshold, with a hangover).
 */
import { PcmTrack } from './pcm-track.js';

export interface PlaybackListener {
  markEchoed(name: string, atSample: number, cleared: boolean): void;
  speechStarted(atSample: number): void;
  speechStopped(atSample: number): void;
}

export interface PlaybackOptions {
  /** A played sample louder than this (absolute PCM16) counts as bot speech (default 300, ≈ -41 dBFS). */
  speechThreshold?: number;
  /** Speech ends after this much quiet playback (default 300 ms). */
  speechHangoverMs?: number;
  /**
   * Audio reaching an empty buffer starts playing this much later (call time; default 0: on
   * arrival). Twilio's own jitter buffering is undocumented. At fast time scales on a loaded
   * machine, a few ms of scheduling stall between two parts of a burst is many ms of call time;
   * a jitter buffer absorbs them instead of playing them as gaps.
   */
  jitterBufferMs?: number;
}

type Entry = { kind: 'audio'; pcm: Int16Array; offset: number } | { kind: 'mark'; name: string };

export class PlaybackBuffer {
  readonly heard = new PcmTrack();
  readonly #listener: PlaybackListener;
  readonly #threshold: number;
  readonly #hangoverSamples: number;
  readonly #jitterSamples: number;
  /** Playback of newly buffered audio does not start before this sample. */
  #holdUntil = 0;
  #queue: Entry[] = [];
  #head = 0;
  #bufferedSamples = 0;
  #cursor = 0;
  #speaking = false;
  #lastLoud = -1;

  constructor(listener: PlaybackListener, options: PlaybackOptions = {}) {
    this.#listener = listener;
    this.#threshold = options.speechThreshold ?? 300;
    this.#hangoverSamples = Math.round(((options.speechHangoverMs ?? 300) * 8000) / 1000);
    this.#jitterSamples = Math.round(((options.jitterBufferMs ?? 0) * 8000) / 1000);
  }

  /** Call-clock sample up to which playback has been computed. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Audio waiting to be played, in samples. */
  get bufferedSamples(): number {
    return this.#bufferedSamples;
  }

  /** Marks waiting for their audio to play. */
  get pendingMarks(): number {
    let n = 0;
    for (let i = this.#head; i < this.#queue.length; i++) if (this.#queue[i]!.kind === 'mark') n++;
    return n;
  }

  /** Bot speech is playing (or ended less than the hangover ago). */
  get speaking(): boolean {
    return this.#speaking;
  }

  /** Last call-clock sample where bot speech was heard (-1: never). */
  get lastLoudSample(): number {
    return this.#lastLoud;
  }

  enqueueAudio(pcm: Int16Array, nowSample: number): void {
    this.advance(nowSample);
    if (pcm.length === 0) return;
    if (this.#bufferedSamples === 0) this.#holdUntil = this.#cursor + this.#jitterSamples;
    this.#queue.push({ kind: 'audio', pcm, offset: 0 });
    this.#bufferedSamples += pcm.length;
  }

  enqueueMark(name: string, nowSample: number): void {
    this.advance(nowSample);
    if (this.#bufferedSamples === 0) this.#listener.markEchoed(name, this.#cursor, false);
    else this.#queue.push({ kind: 'mark', name });
  }

  /** Drops buffered audio and echoes pending marks. Returns the audio dropped, in samples, and the marks. */
  clear(nowSample: number): { droppedSamples: number; marks: string[] } {
    this.advance(nowSample);
    const droppedSamples = this.#bufferedSamples;
    const marks: string[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i]!;
      if (e.kind === 'mark') marks.push(e.name);
    }
    this.#queue = [];
    this.#head = 0;
    this.#bufferedSamples = 0;
    for (const name of marks) this.#listener.markEchoed(name, this.#cursor, true);
    return { droppedSamples, marks };
  }

  /** Plays everything due up to call-clock sample `toSample`. */
  advance(toSample: number): void {
    while (this.#head < this.#queue.length || this.#cursor < toSample) {
      const e = this.#queue[this.#head];
      if (e?.kind === 'mark') {
        this.#head++;
        this.#listener.markEchoed(e.name, this.#cursor, false);
        continue;
      }
      if (this.#cursor >= toSample) break;
      if (e === undefined) {
        this.#cursor = toSample; // nothing buffered: silence
        break;
      }
      if (this.#cursor < this.#holdUntil) {
        this.#cursor = Math.min(toSample, this.#holdUntil); // jitter buffer filling: silence
        continue;
      }
      const n = Math.min(e.pcm.length - e.offset, toSample - this.#cursor);
      const chunk = e.pcm.subarray(e.offset, e.offset + n);
      this.heard.write(this.#cursor, chunk);
      this.#detect(chunk, this.#cursor);
      this.#cursor += n;
      this.#bufferedSamples -= n;
      e.offset += n;
      if (e.offset >= e.pcm.length) this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#speaking && this.#cursor - this.#lastLoud > this.#hangoverSamples) {
      this.#speaking = false;
      this.#listener.speechStopped(this.#lastLoud + 1);
    }
  }

  #detect(chunk: Int16Array, position: number): void {
    const t = this.#threshold;
    for (let i = 0; i < chunk.length; i++) {
      const v = chunk[i]!;
      if (v > t || v < -t) {
        const at = position + i;
        if (!this.#speaking) {
          // A gap shorter than the hangover inside one stretch of speech does not split it.
          this.#speaking = true;
          this.#listener.speechStarted(at);
        }
        this.#lastLoud = at;
      } else if (this.#speaking && position + i - this.#lastLoud > this.#hangoverSamples) {
        this.#speaking = false;
        this.#listener.speechStopped(this.#lastLoud + 1);
      }
    }
  }
}
