/**
 * The cascade's wire clients against the emulator with fixed service delays, so what is left is
 * callbridge's own share (docs/cascade.md). Prints medians and p95 over RUNS answers:
 *
 *   - request → first text chunk, minus the emulator's fixed first-token delay: the client's
 *     request, HTTP and SSE parsing overhead (loopback);
 *   - first sentence: from the chunk that completes it to the splitter emitting it (the eager
 *     splitter decides at the chunk's end; one that waited for the next character would add a
 *     whole chunk gap here);
 *   - TTS: CloudSpeech.synthesize → audio, minus the fixed first-byte delay (client, base64, WAV
 *     header removal; the emulator's espeak render is cached after the first run);
 *   - CPU only: SSE parsing + sentence splitting of a 200-word answer in 200 events, in µs.
 * Every figure is measured in this run on this machine.
 *
 * Run: npm run bench:cascade-wire [-- --runs 30 --first-token 200 --per-token 20 --tts 150]
 */
import { performance } from 'node:perf_hooks';
import { SentenceSplitter } from '../src/cascade/sentences.js';
import { SseReader } from '../src/cascade/sse.js';
import { GeminiTextModel } from '../src/cascade/text-model.js';
import { CloudSpeech } from '../src/cascade/tts.js';
import { startEmulator } from '../src/emulator/index.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const RUNS = arg('--runs', 30);
const FIRST_TOKEN_MS = arg('--first-token', 200);
const PER_TOKEN_MS = arg('--per-token', 20);
const TTS_MS = arg('--tts', 150);

const GREETING = 'Thank you for calling the dental office. Dr. Smith sees patients from 9 a.m. on weekdays. How can I help you today?';

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(2)}  p95 ${q(0.95).toFixed(2)}`;
}

async function oneAnswer(model: GeminiTextModel): Promise<{ firstChunk: number; sentenceWait: number }> {
  const splitter = new SentenceSplitter();
  const t0 = performance.now();
  let firstChunk = -1;
  let sentenceWait = -1;
  /** Arrival time and end offset (in the answer's text) of each chunk. */
  const arrivals: Array<{ at: number; end: number }> = [];
  let text = '';
  const stream = model.stream({ model: 'gemini-3.8-flash', systemInstruction: '', contents: [{ role: 'user', parts: [{ text: 'Start.' }] }], tools: [], signal: new AbortController().signal });
  for await (const c of stream) {
    if (c.kind !== 'text') continue;
    const now = performance.now();
    if (firstChunk < 0) firstChunk = now - t0;
    text += c.text;
    arrivals.push({ at: now, end: text.length });
    const sentences = splitter.push(c.text);
    if (sentences.length > 0 && sentenceWait < 0) {
      // The chunk that carried the first sentence's last character.
      const lastChar = text.indexOf(sentences[0]!.slice(-12)) + 12;
      const carrier = arrivals.find((a) => a.end >= lastChar) ?? arrivals[arrivals.length - 1]!;
      sentenceWait = performance.now() - carrier.at;
    }
  }
  return { firstChunk, sentenceWait };
}

function cpuOnly(): number {
  const words = Array.from({ length: 200 }, (_, i) => (i % 17 === 16 ? 'end. ' : `word${i} `));
  const body = words.map((w) => `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: w }] } }] })}\r\n\r\n`).join('');
  const bytes = new TextEncoder().encode(body);
  const t0 = performance.now();
  const reader = new SseReader();
  const splitter = new SentenceSplitter();
  for (let i = 0; i < bytes.length; i += 512) {
    for (const e of reader.push(bytes.subarray(i, i + 512))) {
      if (e.kind === 'json') splitter.push(String((e.value as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0]!.content.parts[0]!.text));
    }
  }
  splitter.flush();
  return (performance.now() - t0) * 1000;
}

const emu = await startEmulator({ port: 0, host: '127.0.0.1', scenario: { name: 'bench', greeting: GREETING } });
try {
  Object.assign(emu.streamGenerate.timing, { firstTokenMs: FIRST_TOKEN_MS, perTokenMs: PER_TOKEN_MS, ttsFirstByteMs: TTS_MS });
  const model = new GeminiTextModel({ baseUrl: emu.httpUrl, apiKey: 'bench' });
  const speech = new CloudSpeech({ baseUrl: emu.httpUrl, apiKey: 'bench' });
  await oneAnswer(model);
  await speech.synthesize('Thank you for calling the dental office.', { voice: 'en-US-Neural2-F', signal: new AbortController().signal });
  const first: number[] = [];
  const sentence: number[] = [];
  const tts: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await oneAnswer(model);
    first.push(r.firstChunk - FIRST_TOKEN_MS);
    sentence.push(r.sentenceWait);
    const t0 = performance.now();
    await speech.synthesize('Thank you for calling the dental office.', { voice: 'en-US-Neural2-F', signal: new AbortController().signal });
    tts.push(performance.now() - t0 - TTS_MS);
    cpu.push(cpuOnly());
  }
  console.log(`cascade wire clients, ${RUNS} runs; emulator delays: first token ${FIRST_TOKEN_MS} ms, per token ${PER_TOKEN_MS} ms, TTS first byte ${TTS_MS} ms`);
  console.log(`  request → first text chunk, over the fixed delay (ms):        ${stats(first)}`);
  console.log(`  first sentence complete → emitted (ms; waiting for the next chunk would add ≈ ${PER_TOKEN_MS}): ${stats(sentence)}`);
  console.log(`  TTS request → μ-law samples, over the fixed delay (ms):      ${stats(tts)}`);
  console.log(`  CPU: SSE parse + split of a 200-event answer (µs):            ${stats(cpu)}`);
} finally {
  await emu.close();
}
