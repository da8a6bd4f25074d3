/**
 * Opt-in check against the real Gemini Live API (not part of `npm test`): `npm run live:gemini`.
 * Needs GEMINI_API_KEY; optional GEMINI_MODEL (default DEFAULT_MODEL) and GEMINI_LIVE_URL.
 * Connects, streams a 1 s 16 kHz tone, asks the model to say hello, prints what comes back
 * (latencies, transcriptions, turnComplete, resumption handle), then closes.
 */
import { GeminiLiveSession, DEFAULT_MODEL } from '../src/gemini/index.js';
import { CallbridgeError } from '../src/shared/errors.js';
import { createLogger } from '../src/shared/log.js';

const TURN_TIMEOUT_MS = 30_000;

async function main(): Promise<number> {
  const apiKey = process.env['GEMINI_API_KEY'];
  if (!apiKey) {
    console.log('skipped: GEMINI_API_KEY not set');
    return 0;
  }
  const model = process.env['GEMINI_MODEL'] || DEFAULT_MODEL;
  const log = createLogger({ level: process.env['LOG_LEVEL'] ?? 'warn' });
  console.log(`model ${model}`);

  const t0 = performance.now();
  const since = (t: number) => `${Math.round(performance.now() - t)} ms`;
  const session = await GeminiLiveSession.connect({
    apiKey,
    log,
    ...(process.env['GEMINI_LIVE_URL'] ? { url: process.env['GEMINI_LIVE_URL'] } : {}),
    config: { model, systemInstruction: 'You are a friendly test voice. Keep answers to one short sentence.' },
  });
  console.log(`setupComplete after ${since(t0)} (setup latency ${session.setupLatencyMs} ms)`);

  let sentAt = 0;
  let audioMs = 0;
  let output = '';
  let input = '';
  session.on('audio', (e) => {
    if (audioMs === 0) console.log(`first audio ${since(sentAt)} after the request (${e.sampleRateHz} Hz)`);
    audioMs += (e.samples.length / e.sampleRateHz) * 1000;
  });
  session.on('inputTranscription', (e) => (input += e.text));
  session.on('outputTranscription', (e) => (output += e.text));
  session.on('text', (e) => console.log(`text: ${e.text}`));
  session.on('toolCall', (e) => console.log(`toolCall: ${e.calls.map((c) => c.name).join(', ')}`));
  session.on('goAway', (e) => console.log(`goAway: ${e.timeLeftMs ?? '?'} ms left`));
  session.on('usage', (e) => console.log(`usage: ${e.usage.totalTokenCount ?? '?'} tokens`));
  session.on('malformed', (e) => console.log(`malformed frame: ${e.reason}`));

  const turnDone = new Promise<string>((resolve) => {
    session.once('turnComplete', (e) => resolve(`turnComplete${e.reason ? ` (${e.reason})` : ''} after ${since(sentAt)}`));
    session.once('close', (c) => resolve(`closed ${c.code} ${c.reason}${c.error ? ` → ${c.error.error.code}: ${c.error.meaning}` : ''}`));
    setTimeout(() => resolve(`no turnComplete within ${TURN_TIMEOUT_MS} ms`), TURN_TIMEOUT_MS).unref();
  });

  // 1 s of a 440 Hz tone in 20 ms chunks, paced in real time, then the request as a text turn.
  const chunk = new Int16Array(320);
  for (let n = 0; n < 50; n++) {
    for (let i = 0; i < chunk.length; i++) chunk[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * (n * 320 + i)) / 16000));
    session.sendAudio(chunk);
    await new Promise((r) => setTimeout(r, 20));
  }
  sentAt = performance.now();
  if (session.isOpen) session.sendClientContent([{ role: 'user', parts: [{ text: 'Please say hello.' }] }], true);

  console.log(await turnDone);
  console.log(`audio received: ${Math.round(audioMs)} ms`);
  if (input) console.log(`input transcription: ${input}`);
  console.log(`output transcription: ${output || '(none)'}`);
  console.log(`resumption handle: ${session.resumptionHandle ? `${session.resumptionHandle.slice(0, 12)}…` : '(none yet)'}`);
  await session.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CallbridgeError) console.error(`${err.code}: ${err.message}\nfix: ${err.fix}`);
    else console.error(err);
    process.exit(1);
  },
);
