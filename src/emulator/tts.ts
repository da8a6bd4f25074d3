/**
 * Speech for the emulator's replies: espeak-ng (WASM, a GPL devDependency, loaded on demand)
 * renders text at 22.05 kHz, resampled to the Live API's 24 kHz output rate; plus pure tones for
 * audio-quality tests.
 *
 * espeak-ng blocks its thread for ~200-300 ms per utterance, so it runs in a worker thread (one per
 * SpeechSynth, jobs in order) and the emulator's event loop keeps streaming other sessions' audio.
 * Renders are cached per instance by voice + speed + text (and optionally on disk); share one
 * instance between emulators (option `tts`) to share the cache.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sineWave } from '../audio/analysis.js';
import { bytesToPcm16, pcm16ToBytes } from '../audio/pcm.js';
import { resampleWhole } from '../audio/resampler.js';
import { decodeWav, toMono } from '../audio/wav.js';

export const OUTPUT_RATE_HZ = 24000;

export interface SpeechSynthOptions {
  /** Speaking rate in words per minute (espeak `-s`); default 170. */
  rateWpm?: number;
  /** Directory for a persistent cache of rendered lines (raw 24 kHz PCM16); none by default. */
  cacheDir?: string;
}

export interface SpeechSynthStats {
  rendered: number;
  memoryHits: number;
  diskHits: number;
}

/** The worker: loads espeak-ng with a dynamic import and renders one job at a time. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let engine;
let queue = Promise.resolve();
parentPort.on('message', (job) => {
  queue = queue.then(async () => {
    try {
      engine ??= import(workerData.moduleUrl).then((m) => m.default);
      const ESpeakNg = await engine;
      const text = job.text.startsWith('-') ? ' ' + job.text : job.text;
      const espeak = await ESpeakNg({
        arguments: ['-w', 'out.wav', '-v', job.voice, '-s', String(job.rateWpm), text],
        print() {},
        printErr() {},
      });
      const wav = espeak.FS.readFile('out.wav');
      parentPort.postMessage({ id: job.id, wav }, [wav.buffer]);
    } catch (err) {
      parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
    }
  });
});
`;

interface Job {
  resolve: (wav: Uint8Array) => void;
  reject: (err: Error) => void;
}

/** Where espeak-ng is installed, or a clear error saying how to get it. */
export function espeakModuleUrl(): string {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('espeak-ng')).href;
  } catch (cause) {
    throw new Error(
      'The Gemini Live emulator needs espeak-ng for speech, and it is not installed. It is a ' +
        'devDependency (GPL, dev/test tooling only): run `npm install` without --omit=dev, or use ' +
        'tone replies (say: {toneHz, durationMs}) in the scenario.',
      { cause },
    );
  }
}

export class SpeechSynth {
  readonly rateWpm: number;
  readonly #cacheDir: string | undefined;
  readonly #cache = new Map<string, Promise<Int16Array>>();
  readonly #jobs = new Map<number, Job>();
  #worker: Worker | undefined;
  #nextJob = 1;
  #closed = false;
  readonly #stats: SpeechSynthStats = { rendered: 0, memoryHits: 0, diskHits: 0 };

  constructor(options: SpeechSynthOptions = {}) {
    this.rateWpm = options.rateWpm ?? 170;
    this.#cacheDir = options.cacheDir;
  }

  get stats(): Readonly<SpeechSynthStats> {
    return { ...this.#stats };
  }

  /** Whether `text` in `voice` is rendered (or being rendered) already. */
  has(text: string, voice: string): boolean {
    return this.#cache.has(this.#key(text, voice));
  }

  /** Speech for `text` as 24 kHz PCM16 mono. Concurrent requests for the same line share one render. */
  render(text: string, voice = 'en-us'): Promise<Int16Array> {
    const key = this.#key(text, voice);
    const cached = this.#cache.get(key);
    if (cached) {
      this.#stats.memoryHits++;
      return cached;
    }
    const promise = this.#load(key, text, voice);
    this.#cache.set(key, promise);
    promise.catch(() => this.#cache.delete(key));
    return promise;
  }

  /** Stops the worker; pending renders fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    for (const job of this.#jobs.values()) job.reject(new Error('speech synthesizer closed'));
    this.#jobs.clear();
    if (worker) await worker.terminate();
  }

  #key(text: string, voice: string): string {
    return `${voice}\u0000${this.rateWpm}\u0000${text}`;
  }

  async #load(key: string, text: string, voice: string): Promise<Int16Array> {
    const file = this.#cacheDir ? join(this.#cacheDir, `${createHash('sha1').update(key).digest('hex')}.pcm`) : undefined;
    if (file) {
      try {
        const samples = bytesToPcm16(await readFile(file));
        this.#stats.diskHits++;
        return samples.slice();
      } catch {
        // not cached yet
      }
    }
    const wav = decodeWav(await this.#synthesize(text, voice));
    const samples = resampleWhole(toMono(wav), wav.sampleRateHz, OUTPUT_RATE_HZ);
    this.#stats.rendered++;
    if (file && this.#cacheDir) {
      await mkdir(this.#cacheDir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, pcm16ToBytes(samples));
      await rename(tmp, file);
    }
    return samples;
  }

  #synthesize(text: string, voice: string): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error('speech synthesizer closed'));
    let worker: Worker;
    try {
      worker = this.#ensureWorker();
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.#nextJob++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, text, voice, rateWpm: this.rateWpm });
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    // Plain JS: no need for the parent's loaders (tsx) in the worker.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { moduleUrl: espeakModuleUrl() } });
    worker.unref();
    worker.on('message', (msg: { id: number; wav?: Uint8Array; error?: string }) => {
      const job = this.#jobs.get(msg.id);
      if (!job) return;
      this.#jobs.delete(msg.id);
      if (this.#jobs.size === 0) worker.unref();
      if (msg.wav) job.resolve(msg.wav);
      else job.reject(new Error(`espeak-ng failed: ${msg.error ?? 'unknown error'}`));
    });
    worker.on('error', (err) => {
      for (const job of this.#jobs.values()) job.reject(err);
      this.#jobs.clear();
      if (this.#worker === worker) this.#worker = undefined;
    });
    this.#worker = worker;
    return worker;
  }
}

/** A pure tone at 24 kHz, phase 0 at the first sample: the known signal for audio-quality tests. */
export function renderTone(frequencyHz: number, durationMs: number, amplitude = 16384): Int16Array {
  return sineWave(frequencyHz, OUTPUT_RATE_HZ, durationMs, amplitude);
}

const FEMALE_VOICES = new Set([
  'achernar', 'aoede', 'autonoe', 'callirrhoe', 'despina', 'erinome', 'gacrux', 'kore',
  'laomedeia', 'leda', 'pulcherrima', 'sulafat', 'vindemiatrix', 'zephyr',
]);

/** An espeak voice standing in for a Gemini prebuilt voice name (default Puck: male). */
export function espeakVoiceFor(voiceName: string | undefined): string {
  return voiceName && FEMALE_VOICES.has(voiceName.toLowerCase()) ? 'en-us+f3' : 'en-us+m3';
}
