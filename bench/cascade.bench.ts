/**
 * What the cascade pipeline (src/cascade/agent.ts) adds between the end of the caller's speech and
 * the first bot audio, and how fast it reacts to a barge-in, against the emulator's
 * streamGenerateContent and text:synthesize with FIXED service delays (first token, per token,
 * TTS first byte), so what is left over is callbridge's own share (docs/cascade.md, "Figures").
 *
 * Each run is one caller turn through a CascadeSession with the real REST clients (loopback
 * HTTP, SSE parsing, base64 audio, sentence splitting, μ-law decoding), the parallel
 * transcription request included. Splits, medians and p95 over RUNS:
 *
 *   endpointing      the configured silence the detector waits for (audio time, by design)
 *   turn → request   turn end to the request being made (base64 of the turn's audio)
 *   first token      request → first text chunk, minus the fixed first-token delay
 *   first sentence   first chunk → first sentence complete, minus the fixed per-token delay of its
 *                    words and of the next word's first character (the splitter decides on it)
 *   TTS first byte   sentence → its audio back, minus the fixed TTS delay
 *   first audio      audio back → first audio event out of the agent port (decode, chunking)
 *   bridge total     end of speech → first audio, minus the silence and every fixed delay
 *
 * Barge-in: speech frames during the answer's playback until the agent reports `interrupted`:
 * the detector's confirmation time (audio) and the processing of the frame that triggered it.
 *
 * Run: npm run bench:cascade [-- --runs 20 --first-token 300 --per-token 20 --tts 150 --silence 500]
 */
import { performance } from 'node:perf_hooks';
import { CascadeSession, type CascadeTiming } from '../src/cascade/agent.js';
import { GeminiTextModel } from '../src/cascade/text-model.js';
import { CloudSpeech } from '../src/cascade/tts.js';
import { startEmulator, SpeechSynth, renderTone } from '../src/emulator/index.js';
import { silentLogger } from '../src/shared/log.js';
import type { AgentEvent } from '../src/call/ports.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const RUNS = arg('--runs', 20);
const FIRST_TOKEN_MS = arg('--first-token', 300);
const PER_TOKEN_MS = arg('--per-token', 20);
const TTS_MS = arg('--tts', 150);
const SILENCE_MS = arg('--silence', 500);

const ANSWER = 'Sure, the next free slot is on Tuesday at ten. Shall I book it for you?';
const FIRST_SENTENCE_WORDS = 'Sure, the next free slot is on Tuesday at ten.'.split(' ').length;

/** Speech for the emulator's TTS that renders at once (the fixed delay is the only wait). */
class ToneSpeech extends SpeechSynth {
  override render(text: string): Promise<Int16Array> {
    return Promise.resolve(renderTone(440, Math.max(300, text.length * 65), 8000));
  }
}

function frames(ms: number, speech: boolean): Int16Array[] {
  return Array.from({ length: Math.round(ms / 20) }, (_, k) => {
    const f = new Int16Array(320);
    if (speech) for (let i = 0; i < 320; i++) f[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * (k * 320 + i)) / 16000));
    return f;
  });
}

function stats(xs: number[], digits = 1): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(digits).padStart(7)}   p95 ${q(0.95).toFixed(digits).padStart(7)}`;
}

interface Clients {
  textModel: GeminiTextModel;
  speech: CloudSpeech;
}

function newSession(c: Clients, onTiming: (t: CascadeTiming) => void): { session: CascadeSession; events: AgentEvent[] } {
  const session = new CascadeSession({
    model: 'gemini-3.8-flash', systemInstruction: 'You are a receptionist.', tools: [], voice: 'en-US-Neural2-F',
    textModel: c.textModel, speech: c.speech, log: silentLogger(),
    endpointing: { silenceMs: SILENCE_MS }, onTiming,
  });
  const events: AgentEvent[] = [];
  session.onEvent((e) => events.push(e));
  return { session, events };
}

/** One caller turn; resolves with the answer's timing once it has been spoken. */
async function oneTurn(c: Clients): Promise<CascadeTiming> {
  let timing: CascadeTiming | undefined;
  const { session } = newSession(c, (t) => (timing = t));
  for (const f of [...frames(200, false), ...frames(800, true), ...frames(SILENCE_MS + 40, false)]) session.sendAudio(f);
  while (!timing) await new Promise((r) => setTimeout(r, 5));
  await session.close('bench');
  return timing;
}

/** Barge-in: speech frames once the answer's first audio is out, until `interrupted`. */
async function oneBargeIn(c: Clients): Promise<{ audioMs: number; processingUs: number }> {
  const { session, events } = newSession(c, () => undefined);
  for (const f of [...frames(200, false), ...frames(800, true), ...frames(SILENCE_MS + 40, false)]) session.sendAudio(f);
  while (!events.some((e) => e.type === 'audio')) await new Promise((r) => setTimeout(r, 5));
  const talk = frames(400, true);
  for (let i = 0; i < talk.length; i++) {
    const t0 = performance.now();
    session.sendAudio(talk[i]!);
    const us = (performance.now() - t0) * 1000;
    if (events.some((e) => e.type === 'interrupted')) {
      await session.close('bench');
      return { audioMs: (i + 1) * 20, processingUs: us };
    }
  }
  await session.close('bench');
  throw new Error('no barge-in within 400 ms of speech');
}

const emu = await startEmulator({ port: 0, host: '127.0.0.1', tts: new ToneSpeech(), scenario: { name: 'bench', turns: [{ heard: 'Can I get an appointment?', say: ANSWER }] } });
try {
  Object.assign(emu.streamGenerate.timing, { firstTokenMs: FIRST_TOKEN_MS, perTokenMs: PER_TOKEN_MS, ttsFirstByteMs: TTS_MS });
  const clients: Clients = { textModel: new GeminiTextModel({ baseUrl: emu.httpUrl, apiKey: 'bench' }), speech: new CloudSpeech({ baseUrl: emu.httpUrl, apiKey: 'bench' }) };
  await oneTurn(clients); // warm-up: connections, JIT
  const split = { endpointing: [] as number[], request: [] as number[], firstToken: [] as number[], firstSentence: [] as number[], tts: [] as number[], firstAudio: [] as number[], total: [] as number[], wall: [] as number[] };
  // The splitter ends a sentence with the chunk that completes it (src/cascade/sentences.ts, eager):
  // the first word comes with the first token, then one gap per further word.
  const sentenceDelay = (FIRST_SENTENCE_WORDS - 1) * PER_TOKEN_MS;
  for (let i = 0; i < RUNS; i++) {
    const t = await oneTurn(clients);
    split.endpointing.push(t.endpointedAt! - t.speechEndAt!);
    split.request.push(t.requestAt - t.endpointedAt!);
    split.firstToken.push(t.firstTokenAt! - t.requestAt - FIRST_TOKEN_MS);
    split.firstSentence.push(t.firstSentenceAt! - t.firstTokenAt! - sentenceDelay);
    split.tts.push(t.ttsFirstByteAt! - t.firstSentenceAt! - TTS_MS);
    split.firstAudio.push(t.firstAudioAt! - t.ttsFirstByteAt!);
    split.wall.push(t.firstAudioAt! - t.speechEndAt!);
    split.total.push(t.firstAudioAt! - t.endpointedAt! - FIRST_TOKEN_MS - sentenceDelay - TTS_MS);
  }
  const barge = { audio: [] as number[], us: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    const b = await oneBargeIn(clients);
    barge.audio.push(b.audioMs);
    barge.us.push(b.processingUs);
  }
  console.log(`cascade pipeline, ${RUNS} caller turns; emulator delays fixed: first token ${FIRST_TOKEN_MS} ms, per token ${PER_TOKEN_MS} ms, TTS first byte ${TTS_MS} ms; silence ${SILENCE_MS} ms`);
  console.log(`  end of speech → first bot audio (ms, everything):        ${stats(split.wall)}`);
  console.log(`    endpointing (the silence waited for, audio ms):         ${stats(split.endpointing)}`);
  console.log(`    turn end → request made (ms):                           ${stats(split.request, 2)}`);
  console.log(`    first token, over the fixed ${FIRST_TOKEN_MS} ms (ms):              ${stats(split.firstToken, 2)}`);
  console.log(`    first sentence, over ${FIRST_SENTENCE_WORDS - 1} × ${PER_TOKEN_MS} ms of tokens (ms):          ${stats(split.firstSentence, 2)}`);
  console.log(`    TTS first byte, over the fixed ${TTS_MS} ms (ms):           ${stats(split.tts, 2)}`);
  console.log(`    TTS audio → first audio out of the agent (ms):          ${stats(split.firstAudio, 2)}`);
  console.log(`  callbridge's share after endpointing (ms):                ${stats(split.total, 2)}`);
  console.log(`  barge-in: speech → interrupted, detector (audio ms):      ${stats(barge.audio, 0)}`);
  console.log(`            processing of the deciding frame (µs):          ${stats(barge.us, 1)}`);
} finally {
  await emu.close();
}
