/**
 * npm run call -- …  Places one simulated phone call into a running callbridge, like Twilio would
 * (signed webhook, TwiML, signed media stream, real-time audio with marks), prints the timeline
 * and writes what the caller heard to a WAV file.
 *
 *   npm run call -- --server http://127.0.0.1:8080 --to +15550001111 --from +15552223333 \
 *     --wait-bot --say "Hi, I'd like to book a cleaning" --wait-bot --dtmf 1 --silence 2000 \
 *     --time-scale 1 --record out.wav --auth-token …
 *
 * Steps run in the order given: --say TEXT, --wav FILE, --tone HZ:MS, --silence MS, --dtmf DIGITS,
 * --wait-bot (wait for the bot to speak, then for 1.2 s of silence), --hangup. Without steps the
 * caller waits for the bot's greeting. After the last step the caller hangs up.
 *
 * Other options: --public-base-url URL (what the server believes its URL is; default
 * PUBLIC_BASE_URL or --server), --auth-token (default TWILIO_AUTH_TOKEN; unsigned when absent),
 * --account-sid, --call-sid, --stereo (caller left, heard right), --voice en-us (espeak voice for
 * --say), --jitter-buffer-ms N, --max-duration-ms N, --wait (keep the line open after the script
 * until the server ends the call).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { placeCall, formatTimeline, type ScriptStep, type Synthesize } from '../src/simulator/index.js';
import { resampleWhole } from '../src/audio/resampler.js';

const USAGE = 'usage: npm run call -- --server URL --to NUMBER [--from NUMBER] [steps: --say T --wav F --tone HZ:MS --silence MS --dtmf D --wait-bot --hangup] [--record out.wav] [--time-scale 1]';

const { values, tokens } = parseArgs({
  args: process.argv.slice(2),
  tokens: true,
  allowPositionals: false,
  options: {
    server: { type: 'string', default: 'http://127.0.0.1:8080' },
    'public-base-url': { type: 'string' },
    to: { type: 'string', default: '+15550001111' },
    from: { type: 'string', default: '+15552223333' },
    'auth-token': { type: 'string' },
    'account-sid': { type: 'string' },
    'call-sid': { type: 'string' },
    'time-scale': { type: 'string', default: '1' },
    record: { type: 'string' },
    stereo: { type: 'boolean', default: false },
    voice: { type: 'string', default: 'en-us' },
    'jitter-buffer-ms': { type: 'string' },
    'max-duration-ms': { type: 'string' },
    wait: { type: 'boolean', default: false },
    say: { type: 'string', multiple: true },
    wav: { type: 'string', multiple: true },
    tone: { type: 'string', multiple: true },
    silence: { type: 'string', multiple: true },
    dtmf: { type: 'string', multiple: true },
    'wait-bot': { type: 'boolean', multiple: true },
    hangup: { type: 'boolean', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function num(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`call: --${name} needs a non-negative number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const WAIT_BOT: ScriptStep[] = [{ waitForBotSpeech: { timeoutMs: 30_000 } }, { waitForBotSilence: { silenceMs: 1200, timeoutMs: 120_000 } }];

const script: ScriptStep[] = [];
for (const t of tokens ?? []) {
  if (t.kind !== 'option') continue;
  const v = t.value ?? '';
  switch (t.name) {
    case 'say':
      script.push({ say: v });
      break;
    case 'wav':
      script.push({ wav: resolve(v) });
      break;
    case 'tone': {
      const [hz, ms] = v.split(':');
      script.push({ tone: { hz: num('tone', hz ?? ''), durationMs: num('tone', ms ?? '1000') } });
      break;
    }
    case 'silence':
      script.push({ silence: num('silence', v) });
      break;
    case 'dtmf':
      script.push({ dtmf: v });
      break;
    case 'wait-bot':
      script.push(...WAIT_BOT);
      break;
    case 'hangup':
      script.push({ hangup: true });
      break;
  }
}
if (script.length === 0) script.push(...WAIT_BOT);

/** `--say` speaks with the Gemini emulator's espeak-ng synthesizer (loaded only when needed). */
async function espeakSynthesizer(voice: string): Promise<{ synthesize: Synthesize; close(): Promise<void> }> {
  const tts = (await import('../src/emulator/tts.js')) as Record<string, unknown>;
  const SpeechSynth = tts['SpeechSynth'] as
    | (new () => { render(text: string, voice?: string): Promise<Int16Array>; close(): Promise<void> })
    | undefined;
  const rateHz = tts['OUTPUT_RATE_HZ'];
  if (typeof SpeechSynth !== 'function' || typeof rateHz !== 'number') {
    throw new Error('src/emulator/tts.ts no longer exports SpeechSynth / OUTPUT_RATE_HZ; --say cannot synthesize');
  }
  const synth = new SpeechSynth();
  return {
    synthesize: async (text, sampleRateHz) => resampleWhole(await synth.render(text, voice), rateHz, sampleRateHz),
    close: () => synth.close(),
  };
}

const needsSpeech = script.some((s) => 'say' in s);
const speech = needsSpeech ? await espeakSynthesizer(values.voice) : undefined;
const authToken = values['auth-token'] ?? process.env['TWILIO_AUTH_TOKEN'];
const publicBaseUrl = values['public-base-url'] ?? process.env['PUBLIC_BASE_URL'] ?? values.server;

try {
  const result = await placeCall({
    serverUrl: values.server,
    publicBaseUrl,
    from: values.from,
    to: values.to,
    ...(authToken ? { authToken } : {}),
    ...(values['account-sid'] ?? process.env['TWILIO_ACCOUNT_SID'] ? { accountSid: values['account-sid'] ?? process.env['TWILIO_ACCOUNT_SID'] } : {}),
    ...(values['call-sid'] ? { callSid: values['call-sid'] } : {}),
    script,
    timeScale: num('time-scale', values['time-scale']),
    ...(values.record ? { recordPath: resolve(values.record), recordStereo: values.stereo } : {}),
    ...(speech ? { synthesize: speech.synthesize } : {}),
    ...(values['jitter-buffer-ms'] ? { playback: { jitterBufferMs: num('jitter-buffer-ms', values['jitter-buffer-ms']) } } : {}),
    ...(values['max-duration-ms'] ? { maxDurationMs: num('max-duration-ms', values['max-duration-ms']) } : {}),
    afterScript: values.wait ? 'wait' : 'hangup',
  });
  console.log(`call ${result.callSid} → ${values.to}${authToken ? '' : ' (unsigned: no --auth-token / TWILIO_AUTH_TOKEN)'}`);
  console.log(formatTimeline(result.timeline));
  const c = result.counts;
  console.log(
    `\nsent ${c.mediaFramesSent} frames, ${c.dtmfSent} keys; received ${c.mediaMessagesReceived} media messages ` +
      `(${(c.mediaBytesReceived / 8000).toFixed(1)} s of audio), ${c.marksReceived} marks (${c.marksEchoedCleared} cleared), ${c.clearsReceived} clears`,
  );
  if (result.timeouts.length > 0) console.log(`timed out waiting: ${result.timeouts.join('; ')}`);
  if (result.protocolErrors.length > 0) console.log(`protocol errors (Twilio would warn): ${[...new Set(result.protocolErrors)].join('; ')}`);
  if (result.outcome.error) console.log(`error: ${result.outcome.error}`);
  if (result.recordPath) console.log(`recording: ${result.recordPath}${values.stereo ? ' (left: caller, right: heard)' : ''}`);
  process.exitCode = result.outcome.endedBy === 'error' || result.protocolErrors.length > 0 ? 1 : 0;
} catch (err) {
  console.error(`call: ${(err as Error).message}`);
  process.exitCode = 2;
} finally {
  await speech?.close();
}
