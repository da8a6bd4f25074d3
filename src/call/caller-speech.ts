/**
 * The caller's side of the audio: each inbound frame is converted for the agent (16 kHz PCM),
 * watched by the bridge's own voice-activity detector, and kept for replay.
 *
 * Replay after a fault: when an agent session dies after the caller spoke and before any reply,
 * the restored session never heard those words (a resumption handle dates from the last quiet
 * moment), so they are sent again from a ring of the last 10 s once the session is back.
 * `unansweredFrom` marks where the caller's unanswered words start; a reply that reaches the
 * caller while they are quiet clears it.
 *
 * The ring holds the audio at the rate the caller sent it: 8 kHz on a phone line (160 KB for 10 s,
 * raised to 16 kHz again only for a replay, by the same filter as the live path: nothing is
 * lost, the phone line carries nothing above 4 kHz), 16 kHz on the browser's wideband line. Every
 * call holds a full ring, so this is most of what a call costs in memory beyond its sockets.
 */
import { EnergyVad } from '../audio/vad.js';
import { PcmRing } from '../audio/pcm-ring.js';
import { resampleWhole } from '../audio/resampler.js';
import { AGENT_INPUT_RATE_HZ, PHONE_FORMAT, PHONE_SAMPLE_RATE_HZ, inboundConverter, isFormat, type InboundConverter } from './audio-path.js';
import type { AudioFormat } from './ports.js';

/** Caller audio kept for replay after a fault: the last 10 s. */
const REPLAY_KEEP_MS = 10_000;
/** Audio before the detected start of speech replayed with it (the detector starts late). */
const REPLAY_PREROLL_MS = 300;
/**
 * Caller speech this long over bot audio that is still playing, when the agent has already
 * finished generating it, clears the rest: the agent only reports `interrupted` for a turn it is
 * still generating, and it generates faster than real time, so the tail of a long answer sits in
 * the caller's buffer where only a clear can stop it.
 */
export const LOCAL_BARGE_IN_MS = 300;

export type SpeechChange = 'started' | 'stopped' | 'talking-over' | undefined;

export class CallerSpeech {
  readonly #inbound: InboundConverter;
  readonly #vad = new EnergyVad();
  /** The replay ring's rate: the caller's own (8 kHz on a phone line, 16 kHz wideband). */
  readonly #ringRateHz: number;
  readonly #ringSamplesPerMs: number;
  readonly #ring: PcmRing;
  /** Samples pushed into the ring since the call began (at the ring's rate). */
  #samples = 0;
  /** Sample index (ring rate, into everything the caller sent) where the caller's unanswered words start. */
  #unansweredFrom: number | undefined;
  /** Call time the caller's current speech started, while speaking. */
  #speechStartMs: number | undefined;
  #talkingOverReported = false;
  /** Call time the caller last stopped speaking (set on 'stopped'). */
  stopAtMs = 0;
  /** Call time the speech that last stopped had started (set on 'stopped'). */
  lastStartAtMs = 0;

  constructor(format: AudioFormat) {
    this.#inbound = inboundConverter(format);
    this.#ringRateHz = isFormat(format, PHONE_FORMAT) ? PHONE_SAMPLE_RATE_HZ : AGENT_INPUT_RATE_HZ;
    this.#ringSamplesPerMs = this.#ringRateHz / 1000;
    this.#ring = new PcmRing(REPLAY_KEEP_MS * this.#ringSamplesPerMs);
  }

  get speaking(): boolean {
    return this.#vad.speaking;
  }

  /** Agent-bound audio (16 kHz) of the last frame: a view, valid until the next frame. */
  pcm16k: Int16Array = new Int16Array(0);
  /** 8 kHz audio of the last frame (detector, recording): a view, valid until the next frame. */
  pcm8k: Int16Array = new Int16Array(0);

  /**
   * One inbound frame at call time `nowMs`. Returns what changed: speech started or stopped, or
   * the caller has now talked for LOCAL_BARGE_IN_MS (reported once per stretch of speech). Hot path.
   */
  frame(payload: Uint8Array, nowMs: number): SpeechChange {
    this.pcm16k = this.#inbound.convert(payload);
    this.pcm8k = this.#inbound.lastPcm8k();
    const kept = this.#ringRateHz === PHONE_SAMPLE_RATE_HZ ? this.pcm8k : this.pcm16k;
    this.#ring.push(kept);
    this.#samples += kept.length;
    const vad = this.#vad;
    const transition = vad.push(this.pcm8k);
    if (transition === 'stop') {
      // The detector confirms a stop after its hang-over: the caller stopped that much audio ago.
      this.stopAtMs = nowMs - (vad.clockMs - vad.lastStopMs!);
      this.lastStartAtMs = this.#speechStartMs ?? this.stopAtMs;
      this.#speechStartMs = undefined;
      return 'stopped';
    }
    if (transition === 'start') {
      this.#speechStartMs = this.startMs(nowMs);
      this.#talkingOverReported = false;
      // Words since the last reply: from the start of this speech unless earlier ones are still unanswered.
      const speechSamples = Math.round((vad.clockMs - vad.lastStartMs! + REPLAY_PREROLL_MS) * this.#ringSamplesPerMs);
      this.#unansweredFrom ??= Math.max(0, this.#samples - speechSamples);
      return 'started';
    }
    if (this.#speechStartMs !== undefined && !this.#talkingOverReported && nowMs - this.#speechStartMs >= LOCAL_BARGE_IN_MS) {
      this.#talkingOverReported = true;
      return 'talking-over';
    }
    return undefined;
  }

  /** When the caller's current (or last) speech started, on the call clock. */
  startMs(nowMs: number): number | undefined {
    const vad = this.#vad;
    return vad.lastStartMs !== undefined ? nowMs - (vad.clockMs - vad.lastStartMs) : undefined;
  }

  /** Bot audio reached the caller: if they are quiet, their words got a reply. */
  replied(): void {
    if (!this.#vad.speaking) this.#unansweredFrom = undefined;
  }

  /**
   * The caller's unanswered words (16 kHz) up to the moment the old session was lost (`outageMs`
   * ago), or undefined when there are none. What came during the outage the link sends itself.
   */
  unanswered(outageMs: number): Int16Array | undefined {
    if (this.#unansweredFrom === undefined) return undefined;
    const upTo = this.#samples - Math.round(outageMs * this.#ringSamplesPerMs);
    const count = upTo - this.#unansweredFrom;
    if (count <= 0) return undefined;
    const held = this.#ring.tail(this.#samples - this.#unansweredFrom).subarray(0, count);
    return this.#ringRateHz === AGENT_INPUT_RATE_HZ ? held : resampleWhole(held, this.#ringRateHz, AGENT_INPUT_RATE_HZ);
  }
}
