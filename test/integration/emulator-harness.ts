/**
 * Test harness for the emulator's integration tests: a deliberately plain `ws` client (not
 * src/gemini's client) that records every frame, plus signal helpers. Waits are event-driven with
 * timeouts as upper bounds only.
 */
import WebSocket from 'ws';
import { sineWave } from '../../src/audio/analysis.js';
import { bytesToPcm16, pcm16ToBytes } from '../../src/audio/pcm.js';
import type { EmulatorTiming } from '../../src/emulator/index.js';

export const MODEL_25 = 'models/gemini-2.5-flash-native-audio-preview-12-2025';
export const MODEL_25_OLD = 'models/gemini-2.5-flash-native-audio-preview-09-2025';
export const MODEL_3 = 'models/gemini-3.1-flash-live-preview';

/** No latencies, audio at 20× real time. */
export const FAST: Partial<EmulatorTiming> = {
  setupLatencyMs: 0,
  setupLatencyJitterMs: 0,
  firstAudioDelayMs: 0,
  firstAudioDelayJitterMs: 0,
  turnCompleteDelayMs: 0,
  speechPace: 20,
};

export interface Frame {
  /** Parsed JSON, or undefined when the frame was not JSON. */
  json: any;
  binary: boolean;
  raw: Buffer;
}

export interface Closed {
  code: number;
  reason: string;
}

export class RawClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<Closed>;
  #listeners = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      const raw = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        json = undefined;
      }
      this.frames.push({ json, binary: isBinary, raw });
      for (const l of [...this.#listeners]) l();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString('utf8') });
        for (const l of [...this.#listeners]) l();
      });
    });
    ws.on('error', () => undefined);
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
    const ws = new WebSocket(url, { headers });
    const client = new RawClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** JSON messages received so far. */
  get messages(): any[] {
    return this.frames.filter((f) => f.json !== undefined).map((f) => f.json);
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Sends setup and waits for setupComplete. */
  async setup(setup: Record<string, unknown>): Promise<void> {
    this.send({ setup });
    await this.waitFor((m) => m.setupComplete !== undefined);
  }

  /** Resolves with the first JSON message (index ≥ from) matching `test`; rejects on close or timeout. */
  waitFor(test: (m: any) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<any> {
    const from = options.from ?? 0;
    return new Promise((resolve, reject) => {
      let closed = false;
      void this.closed.then(() => (closed = true));
      const check = () => {
        const msgs = this.messages;
        for (let i = from; i < msgs.length; i++) {
          if (test(msgs[i])) {
            done();
            resolve(msgs[i]);
            return;
          }
        }
        if (closed || this.ws.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`socket closed before the awaited message; got ${JSON.stringify(summarize(msgs))}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out; got ${JSON.stringify(summarize(this.messages))}`));
      }, options.timeoutMs ?? 5000);
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** Waits for the close (upper bound `timeoutMs`). */
  async waitClose(timeoutMs = 5000): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Streams 16 kHz PCM as realtimeInput.audio in 20 ms chunks, as fast as the socket takes them. */
  sendAudio(samples: Int16Array, mimeType = 'audio/pcm;rate=16000'): void {
    const chunk = 320;
    for (let i = 0; i < samples.length; i += chunk) {
      const data = pcm16ToBytes(samples.subarray(i, Math.min(samples.length, i + chunk))).toString('base64');
      this.send({ realtimeInput: { audio: { mimeType, data } } });
    }
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

/** A compact view of messages for assertion messages and sequence checks. */
export function summarize(messages: any[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    for (const key of Object.keys(m)) {
      if (key === 'serverContent') {
        for (const k of Object.keys(m.serverContent)) {
          const label = k === 'modelTurn' ? 'audio' : k;
          if (out[out.length - 1] !== label) out.push(label);
        }
      } else if (key !== 'usageMetadata') {
        out.push(key === 'sessionResumptionUpdate' ? (m[key].newHandle ? 'handle' : 'resumptionUpdate{}') : key);
      }
    }
  }
  return out;
}

/** Speech-like input: `ms` of an amplitude-modulated two-tone signal at about -16 dBFS, 16 kHz. */
export function speech(ms: number): Int16Array {
  const a = sineWave(220, 16000, ms, 6000);
  const b = sineWave(1370, 16000, ms, 3000);
  const out = new Int16Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((a[i]! + b[i]!) * (0.75 + 0.25 * Math.sin((2 * Math.PI * 4 * i) / 16000)));
  return out;
}

export function silence(ms: number): Int16Array {
  return new Int16Array(Math.round(16 * ms));
}

/** All 24 kHz output audio of the messages, concatenated. */
export function outputAudio(messages: any[]): Int16Array {
  const parts: Buffer[] = [];
  for (const m of messages) {
    for (const p of m.serverContent?.modelTurn?.parts ?? []) {
      if (p.inlineData) parts.push(Buffer.from(p.inlineData.data, 'base64'));
    }
  }
  return bytesToPcm16(Buffer.concat(parts)).slice();
}

/** Output transcription text of the messages, joined. */
export function transcript(messages: any[]): string {
  return messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');
}
