/**
 * Helpers for the integration tests of the Gemini Live client (src/gemini) against the emulator
 * (src/emulator): an ordered record of a session's events with awaitable conditions, caller audio,
 * log capture, and one shared speech synthesizer with an on-disk cache. Waits are event-driven;
 * timeouts are upper bounds only, so a hang fails fast.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sineWave } from '../../src/audio/analysis.js';
import { GeminiLiveSession, type GeminiLiveSessionOptions, type LiveSessionConfig, type SessionEvents } from '../../src/gemini/index.js';
import { SpeechSynth, startEmulator, type Emulator, type EmulatorOptions, type EmulatorTiming } from '../../src/emulator/index.js';
import { createLogger, type Logger } from '../../src/shared/log.js';

export const MODEL_25 = 'gemini-2.5-flash-native-audio-preview-12-2025';
export const MODEL_25_OLD = 'gemini-2.5-flash-native-audio-preview-09-2025';
export const MODEL_3 = 'gemini-3.1-flash-live-preview';
export const API_KEY = 'test-api-key-0123456789';

/** No latencies, emulator audio at 20× real time. */
export const FAST: Partial<EmulatorTiming> = {
  setupLatencyMs: 0,
  setupLatencyJitterMs: 0,
  firstAudioDelayMs: 0,
  firstAudioDelayJitterMs: 0,
  turnCompleteDelayMs: 0,
  speechPace: 20,
};

/** Short end-of-speech so caller turns end after 200 ms of silence (audio time, not wall time). */
export const QUICK_VAD: LiveSessionConfig = {
  realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 200, prefixPaddingMs: 20 } },
};

/** One synthesizer per test process, its renders cached on disk across runs. */
let sharedTts: SpeechSynth | undefined;
export function tts(): SpeechSynth {
  return (sharedTts ??= new SpeechSynth({ cacheDir: join(tmpdir(), 'callbridge-test-tts-cache') }));
}
export async function closeTts(): Promise<void> {
  await sharedTts?.close();
  sharedTts = undefined;
}

/** Runs `fn` with a fresh emulator (fast timing, the shared synthesizer), always closing it. */
export async function withEmulator(options: EmulatorOptions, fn: (emulator: Emulator) => Promise<void>): Promise<void> {
  const emulator = await startEmulator({ timing: FAST, tts: tts(), ...options });
  try {
    await fn(emulator);
  } finally {
    await emulator.close();
  }
}

export function connect(emulator: Emulator, config: LiveSessionConfig = {}, extra: Partial<GeminiLiveSessionOptions> = {}): Promise<GeminiLiveSession> {
  return GeminiLiveSession.connect({ apiKey: API_KEY, url: emulator.url, setupTimeoutMs: 5000, config: { ...QUICK_VAD, ...config }, ...extra });
}

type EventName = keyof SessionEvents;
const EVENT_NAMES: readonly EventName[] = [
  'setupComplete', 'audio', 'text', 'inputTranscription', 'outputTranscription', 'interrupted', 'generationComplete',
  'turnComplete', 'waitingForInput', 'toolCall', 'toolCallCancellation', 'goAway', 'sessionResumptionUpdate', 'usage',
  'malformed', 'close',
];

export type Entry = { [K in EventName]: { type: K; event: SessionEvents[K] } }[EventName];

/** Every event of one session, in order, with awaitable conditions. Attach right after connect. */
export class Events {
  readonly list: Entry[] = [];
  readonly closed: Promise<SessionEvents['close']>;
  #listeners = new Set<() => void>();

  constructor(session: GeminiLiveSession) {
    let resolveClosed!: (c: SessionEvents['close']) => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    for (const type of EVENT_NAMES) {
      session.on(type, (event: SessionEvents[EventName]) => {
        this.list.push({ type, event } as Entry);
        if (type === 'close') resolveClosed(event as SessionEvents['close']);
        for (const l of [...this.#listeners]) l();
      });
    }
  }

  get length(): number {
    return this.list.length;
  }

  /** Event types from index `from`, consecutive audio (and usage) collapsed, for sequence checks. */
  types(from = 0, to = this.list.length): string[] {
    const out: string[] = [];
    for (const e of this.list.slice(from, to)) {
      if (e.type === 'usage') continue;
      if (out[out.length - 1] !== e.type || e.type !== 'audio') out.push(e.type);
    }
    return out;
  }

  of<K extends EventName>(type: K, from = 0, to = this.list.length): SessionEvents[K][] {
    return this.list.slice(from, to).filter((e) => e.type === type).map((e) => e.event as SessionEvents[K]);
  }

  /** Index of the first event (index ≥ from) of `type` passing `test`; rejects on close or after timeoutMs. */
  waitFor<K extends EventName>(type: K, options: { from?: number; timeoutMs?: number; test?: (e: SessionEvents[K]) => boolean } = {}): Promise<number> {
    const from = options.from ?? 0;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (let i = from; i < this.list.length; i++) {
          const e = this.list[i]!;
          if (e.type === type && (options.test?.(e.event as SessionEvents[K]) ?? true)) {
            done();
            resolve(i);
            return;
          }
        }
        if (type !== 'close' && this.list.some((e) => e.type === 'close')) {
          done();
          reject(new Error(`session closed before ${String(type)}; events: ${this.types(from).join(' ')}; close: ${JSON.stringify(this.of('close')[0]?.error?.error.code ?? this.of('close')[0])}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${options.timeoutMs ?? 5000} ms waiting for ${String(type)}; events since ${from}: ${this.types(from).join(' ')}`));
      }, options.timeoutMs ?? 5000);
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** The 24 kHz output audio of events [from, to), concatenated. */
  audio(from = 0, to = this.list.length): Int16Array {
    const parts = this.of('audio', from, to);
    const out = new Int16Array(parts.reduce((n, p) => n + p.samples.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p.samples, offset);
      offset += p.samples.length;
    }
    return out;
  }

  /** Output transcription text of events [from, to), joined. */
  transcript(from = 0, to = this.list.length): string {
    return this.of('outputTranscription', from, to).map((t) => t.text).join('');
  }
}

/** Polls `test` (every 5 ms) until true; an upper bound for conditions that have no event. */
export async function until(test: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Rejects if `promise` does not settle within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// --- caller audio (16 kHz) -----------------------------------------------------------------------

export const INPUT_RATE_HZ = 16000;
export const CHUNK_SAMPLES = 320; // 20 ms

/** Speech-like caller audio: `bursts` tone bursts (about -16 dBFS) with short gaps, then `trailingSilenceMs` of silence. */
export function toneBursts(bursts = 3, burstMs = 120, gapMs = 60, trailingSilenceMs = 400): Int16Array {
  const parts: Int16Array[] = [];
  for (let i = 0; i < bursts; i++) {
    const a = sineWave(220 + 40 * i, INPUT_RATE_HZ, burstMs, 6000);
    const b = sineWave(1370, INPUT_RATE_HZ, burstMs, 3000);
    const burst = new Int16Array(a.length);
    for (let j = 0; j < burst.length; j++) burst[j] = a[j]! + b[j]!;
    parts.push(burst);
    if (i < bursts - 1) parts.push(new Int16Array((INPUT_RATE_HZ * gapMs) / 1000));
  }
  parts.push(new Int16Array((INPUT_RATE_HZ * trailingSilenceMs) / 1000));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Streams 16 kHz PCM through `session.sendAudio` in 20 ms chunks, faster than real time. */
export function streamAudio(session: GeminiLiveSession, samples: Int16Array): number {
  let chunks = 0;
  for (let i = 0; i < samples.length; i += CHUNK_SAMPLES, chunks++) session.sendAudio(samples.subarray(i, Math.min(samples.length, i + CHUNK_SAMPLES)));
  return chunks;
}

/** Greeting / text turn as the call layer sends it. */
export function sendTurn(session: GeminiLiveSession, text: string): void {
  session.sendClientContent([{ role: 'user', parts: [{ text }] }], true);
}

// --- emulator records -----------------------------------------------------------------------------

/** realtimeInput messages the emulator recorded for a session (as the client spelled them). */
export function realtimeInputs(emulator: Emulator, sessionId: number): { index: number; json: any }[] {
  return emulator
    .received(sessionId)
    .map((m, index) => ({ index, json: m.json as any, type: m.type }))
    .filter((m) => m.type === 'realtimeInput')
    .map(({ index, json }) => ({ index, json }));
}

/** Decodes a recorded realtimeInput.audio payload. */
export function recordedAudio(json: any): Int16Array {
  const buf = Buffer.from(json.realtimeInput.audio.data as string, 'base64');
  return new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

// --- logs -----------------------------------------------------------------------------------------

export interface CapturedLog {
  log: Logger;
  lines(): Record<string, any>[];
  raw(): string;
}

/** A real pino logger (the production one) writing JSON lines into memory. */
export function captureLog(): CapturedLog {
  let text = '';
  const destination = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  return {
    log,
    raw: () => text,
    lines: () => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, any>),
  };
}
