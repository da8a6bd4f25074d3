/**
 * The caller's side of the line: script audio queued as 8 kHz PCM16, cut into 20 ms frames of
 * 160 μ-law bytes; when nothing is queued the line carries μ-law silence (0xFF), as a real phone
 * line does. Everything sent is also written to the `sent` track at its call-clock position.
 */
import { encodeMulaw, MULAW_SILENCE } from '../audio/mulaw.js';
import { PcmTrack } from './pcm-track.js';

export const FRAME_SAMPLES = 160;
export const FRAME_MS = 20;

export class CallerMic {
  readonly sent = new PcmTrack();
  #segments: { pcm: Int16Array; startAt: number }[] = [];
  #offset = 0;
  #queued = 0;
  readonly #pcm = new Int16Array(FRAME_SAMPLES);
  readonly #mulaw = new Uint8Array(FRAME_SAMPLES);

  /** Samples queued and not yet sent. */
  get queuedSamples(): number {
    return this.#queued;
  }

  /**
   * Queues audio to start at call-clock sample `startAt` at the earliest (default: as soon as
   * possible). Frames sent late (timer catch-up) still carry it from its intended position on,
   * never earlier.
   */
  enqueue(pcm: Int16Array, startAt = 0): void {
    if (pcm.length === 0) return;
    this.#segments.push({ pcm, startAt });
    this.#queued += pcm.length;
  }

  /** Drops queued audio (hang-up). */
  drop(): void {
    this.#segments = [];
    this.#offset = 0;
    this.#queued = 0;
  }

  /**
   * The next 20 ms frame as μ-law (a reused buffer: serialize it before the next call), recorded
   * in `sent` at call-clock sample `position`.
   */
  nextFrame(position: number): Uint8Array {
    if (this.#queued === 0) {
      this.#mulaw.fill(MULAW_SILENCE);
      this.sent.extendTo(position + FRAME_SAMPLES);
      return this.#mulaw;
    }
    let filled = 0;
    while (filled < FRAME_SAMPLES && this.#segments.length > 0) {
      const { pcm: seg, startAt } = this.#segments[0]!;
      if (this.#offset === 0 && startAt > position + filled) {
        // Not due yet: silence until it is.
        const gap = Math.min(FRAME_SAMPLES - filled, startAt - position - filled);
        this.#pcm.fill(0, filled, filled + gap);
        filled += gap;
        continue;
      }
      const n = Math.min(FRAME_SAMPLES - filled, seg.length - this.#offset);
      this.#pcm.set(seg.subarray(this.#offset, this.#offset + n), filled);
      filled += n;
      this.#offset += n;
      this.#queued -= n;
      if (this.#offset >= seg.length) {
        this.#segments.shift();
        this.#offset = 0;
      }
    }
    this.#pcm.fill(0, filled);
    this.sent.write(position, this.#pcm);
    return encodeMulaw(this.#pcm, this.#mulaw);
  }
}
