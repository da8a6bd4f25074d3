/**
 * The caller simulator end to end against the real Twilio routes, with small bots built on the
 * edge's public API (TwilioMediaStream + PlayoutTracker) as the CallHandler.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitSine, sineWave } from '../../src/audio/analysis.js';
import { decodeMulaw, encodeMulaw } from '../../src/audio/mulaw.js';
import { decodeWav } from '../../src/audio/wav.js';
import type { CallHandler } from '../../src/twilio/handler.js';
import type { TwilioMediaStream } from '../../src/twilio/media-stream.js';
import type { PlayoutTracker, InterruptResult, PlayedOutcome } from '../../src/call/playout.js';
import { placeCall, type CallResult, type TimelineEvent } from '../../src/simulator/index.js';
import { startEdge, loopbackHandler, trackPlayout, AUTH_TOKEN, type Edge } from './twilio-harness.js';
import { FrameTicks, TICK_MS } from '../support/frame-ticks.js';

interface BotCall {
  stream: TwilioMediaStream;
  tracker: PlayoutTracker;
  inbound: Buffer[];
  replays: Buffer[];
  digits: string[];
  ends: string[];
  interrupts: (InterruptResult | null)[];
  played: Promise<PlayedOutcome>[];
}

/**
 * Sends μ-law audio with a mark behind each chunk, as the call bridge will. `chunkBytes`
 * Infinity sends it as one media message: Twilio accepts any size, and one message cannot be
 * split by socket flow control, so its playback has no gaps even when the test machine stalls
 * (at a fast time scale, a few ms of stall between two parts of a burst is a gap of many ms).
 */
function speak(call: BotCall, utteranceId: string, mulaw: Uint8Array, chunkBytes = 160): void {
  for (let i = 0; i < mulaw.length; i += chunkBytes) {
    const chunk = mulaw.subarray(i, i + chunkBytes);
    call.stream.sendMedia(chunk);
    call.tracker.sent(utteranceId, chunk.length / 8);
  }
}

/**
 * A bot driven by key presses: '#' replays what the caller said since the last '#' (one
 * message), '1' says a 3 s 500 Hz tone (20 ms chunks), '2' interrupts (clear), '3' says a 200 ms
 * 700 Hz tone (one message), '9' closes the stream.
 */
function keypadBot(): { handler: CallHandler; calls: BotCall[] } {
  const calls: BotCall[] = [];
  const handler: CallHandler = {
    onIncomingCall: () => ({ kind: 'stream' }),
    onStreamStart(stream) {
      const call: BotCall = { stream, tracker: trackPlayout(stream), inbound: [], replays: [], digits: [], ends: [], interrupts: [], played: [] };
      calls.push(call);
      let n = 0;
      stream.on('media', (m) => call.inbound.push(Buffer.from(m.payload)));
      stream.on('end', ({ reason }) => call.ends.push(reason));
      stream.on('dtmf', ({ digit }) => {
        call.digits.push(digit);
        const id = `u${++n}`;
        if (digit === '#') {
          // What the caller said, without the line's trailing silence (μ-law 0xFF).
          const said = Buffer.concat(call.inbound);
          let end = said.length;
          while (end > 0 && said[end - 1] === 0xff) end--;
          const replay = said.subarray(0, end);
          call.replays.push(replay);
          speak(call, id, replay, Infinity);
          call.inbound = [];
          call.played.push(call.tracker.whenPlayed(id));
        } else if (digit === '1') {
          speak(call, id, encodeMulaw(sineWave(500, 8000, 3000, 8000)));
          call.played.push(call.tracker.whenPlayed(id));
        } else if (digit === '2') {
          call.interrupts.push(call.tracker.interrupt());
        } else if (digit === '3') {
          speak(call, id, encodeMulaw(sineWave(700, 8000, 200, 8000)), Infinity);
        } else if (digit === '9') {
          stream.close(1000);
        }
      });
    },
  };
  return { handler, calls };
}

const events = <K extends TimelineEvent['kind']>(r: CallResult, kind: K) =>
  r.timeline.filter((e): e is Extract<TimelineEvent, { kind: K }> => e.kind === kind);

function firstLoud(samples: Int16Array, from = 0, threshold = 300): number {
  for (let i = from; i < samples.length; i++) if (Math.abs(samples[i]!) > threshold) return i;
  return -1;
}

function lastLoud(samples: Int16Array, threshold = 300): number {
  for (let i = samples.length - 1; i >= 0; i--) if (Math.abs(samples[i]!) > threshold) return i;
  return -1;
}

let edge: Edge;
let bot: ReturnType<typeof keypadBot>;
let dir: string;

before(async () => {
  bot = keypadBot();
  edge = await startEdge({ handler: bot.handler });
  dir = await mkdtemp(join(tmpdir(), 'cb-sim-'));
});
after(async () => {
  await edge.close();
  await rm(dir, { recursive: true, force: true });
});

function call(script: Parameters<typeof placeCall>[0]['script'], extra: Partial<Parameters<typeof placeCall>[0]> = {}) {
  return placeCall({
    serverUrl: edge.serverUrl,
    publicBaseUrl: edge.publicBaseUrl,
    authToken: AUTH_TOKEN,
    from: '+15552223333',
    to: '+15550001111',
    timeScale: 0.05,
    script,
    ...extra,
  });
}

describe('caller simulator against the real Twilio routes', () => {
  it('a tone the caller sends comes back and is heard cleanly; the mark is echoed when it has played', async () => {
    const before_ = bot.calls.length;
    const r = await call([
      { tone: { hz: 1000, durationMs: 1000 } }, { dtmf: '#' },
      { waitForBotSpeech: { timeoutMs: 20_000 } }, { waitForBotSilence: { silenceMs: 300, timeoutMs: 20_000 } },
    ]);
    assert.deepEqual(r.protocolErrors, []);
    assert.deepEqual(r.timeouts, []);
    const b = bot.calls[before_]!;
    assert.equal(await b.played[0], 'played', 'the tracker saw the whole reply played');
    const [start] = events(r, 'bot-speech-start');
    const [stop] = events(r, 'bot-speech-stop');
    assert.ok(start && stop, 'bot speech heard');
    assert.ok(Math.abs(stop.atMs - start.atMs - 1000) <= 1, `heard ${stop.atMs - start.atMs} ms of tone`);
    const from = Math.round(start.atMs * 8) + 400;
    const fit = fitSine(r.heard, 1000, 8000, from, from + 6400);
    assert.ok(Math.abs(fit.amplitude - 8000) < 400, `amplitude ${fit.amplitude}`);
    assert.ok(fit.thdnDb > 30, `THD+N ${fit.thdnDb.toFixed(1)} dB`);
    // The mark behind the reply is echoed exactly when the reply's last sample (after the tone's
    // trailing silence) has played, not earlier.
    const replay = decodeMulaw(b.replays[0]!);
    const trailingMs = (replay.length - 1 - lastLoud(replay)) / 8;
    const marks = events(r, 'mark-echo');
    assert.equal(marks.length, 1);
    assert.equal(marks[0]!.cleared, false);
    assert.ok(Math.abs(marks[0]!.atMs - (stop.atMs + trailingMs)) <= 0.25, `mark at ${marks[0]!.atMs}, audio ended at ${stop.atMs + trailingMs}`);
    assert.equal(b.tracker.playedMs('u1'), b.tracker.sentMs('u1'));
    assert.equal(b.tracker.sentMs('u1'), replay.length / 8);
  });

  it('clear drops buffered audio at once, echoes pending marks, and the tracker reports what was heard', async () => {
    const before_ = bot.calls.length;
    const r = await call(
      [{ dtmf: '1' }, { waitForBotSpeech: { timeoutMs: 20_000 } }, { silence: 1000 }, { dtmf: '2' }, { silence: 500 }],
      // 20 ms chunks arrive as a burst the socket may split; the jitter buffer keeps a stalled
      // test machine from turning that into gaps.
      { timeScale: 0.1, playback: { jitterBufferMs: 300 } },
    );
    assert.deepEqual(r.protocolErrors, []);
    assert.deepEqual(r.timeouts, []);
    const b = bot.calls[before_]!;
    const [clear] = events(r, 'clear');
    assert.ok(clear, 'clear received');
    assert.ok(clear.droppedMs > 0 && clear.droppedMs < 2100, `dropped ${clear.droppedMs} ms of 3000`);
    // 150 chunks, a mark behind each: every mark comes back, the unplayed ones at once on clear.
    assert.equal(r.counts.marksReceived, 150);
    assert.equal(r.counts.marksEchoed, 150);
    assert.ok(clear.marksEchoed > 0, 'pending marks echoed');
    assert.equal(r.counts.marksEchoedCleared, clear.marksEchoed);
    assert.equal(events(r, 'mark-echo').filter((e) => e.cleared && e.atMs === clear.atMs).length, clear.marksEchoed);
    // Tone before the clear, nothing after it.
    const clearSample = Math.round(clear.atMs * 8);
    assert.equal(firstLoud(r.heard, clearSample + 1), -1, 'silence after clear');
    const onset = firstLoud(r.heard);
    assert.ok(onset >= 0 && onset < clearSample, 'tone heard before the clear');
    assert.ok(fitSine(r.heard, 500, 8000, onset + 80, onset + 880).thdnDb > 20, 'it was the bot’s tone');
    // The tracker: whenPlayed resolved 'cleared'; heardMs is what mark echoes confirmed before the
    // key press (20 ms per mark; echoes after it were for marks the interrupt had discarded).
    assert.equal(await b.played[0], 'cleared');
    const result = b.interrupts[0];
    assert.ok(result, 'interrupt returned what was playing');
    assert.equal(result.utteranceId, 'u1');
    assert.equal(result.sentMs, 3000);
    const press = events(r, 'dtmf').find((e) => e.digit === '2')!;
    const confirmed = events(r, 'mark-echo').filter((e) => !e.cleared && e.atMs <= press.atMs).length * 20;
    assert.ok(Math.abs(result.heardMs - confirmed) <= 20, `heardMs ${result.heardMs}, marks before the key press ${confirmed}`);
    assert.ok(result.heardMs <= 3000 - clear.droppedMs, 'never more than was played');
    assert.equal(b.tracker.playedMs('u1'), result.heardMs, 'echoes of cleared marks did not count as played');
  });

  it('DTMF reaches the handler; the caller hanging up sends stop and ends the stream once', async () => {
    const before_ = bot.calls.length;
    const r = await call([{ dtmf: '47' }, { silence: 300 }, { hangup: true }]);
    const b = bot.calls[before_]!;
    assert.deepEqual(b.digits, ['4', '7']);
    assert.deepEqual(events(r, 'dtmf').map((e) => e.digit), ['4', '7']);
    assert.equal(r.outcome.endedBy, 'caller');
    assert.deepEqual(events(r, 'stop-sent').map((e) => e.reason), ['caller hung up']);
    assert.deepEqual(b.ends, ['stop']);
    assert.equal(b.stream.ended, true);
  });

  it('the server closing the stream ends the call (no TwiML after </Connect>)', async () => {
    const r = await call([{ silence: 200 }, { dtmf: '9' }, { silence: 60_000 }]);
    assert.equal(r.outcome.endedBy, 'twiml');
    assert.equal(r.outcome.stream?.by, 'server');
    assert.equal(r.outcome.stream?.code, 1000);
    assert.ok(r.durationMs < 60_000, 'ended before the script did');
    assert.deepEqual(events(r, 'status-callback').map((e) => `${e.event} ${e.status}`), ['stream-started 204', 'stream-stopped 204']);
  });

  it('time scale: a 5 s call at 0.05 takes about 0.25 s, paced by the clock (no drift)', async () => {
    const ticks = new FrameTicks();
    const r = await call([{ silence: 5000 }]).finally(() => ticks.stop());
    const returnedAt = performance.now();
    const at = (callMs: number) => r.originPerfMs + callMs * r.timeScale;
    const stop = events(r, 'stop-sent')[0]!;
    const streamMs = stop.atMs - r.streamStartMs!;
    assert.ok(r.durationMs >= 5000, `call lasted ${r.durationMs} ms`);
    assert.ok(streamMs >= 5000, `the caller talked for ${streamMs} ms of call time`);
    // It hung up as soon as its 5 s were due, not later: within two 20 ms frame ticks of this
    // process (at 0.05, 40 ms of wall time is 800 ms of call time; a stall counts one tick).
    const lateTicks = ticks.between(at(r.streamStartMs! + 5000), at(stop.atMs));
    assert.ok(lateTicks <= 2, `hung up ${lateTicks} frame ticks (${TICK_MS} ms) after the script's 5 s were due (${streamMs} ms of call time)`);
    // Frame k leaves once the clock has passed its end, late ticks catch up: never behind (all 250
    // frames of the 5 s were sent before the script moved on) and never ahead of the clock.
    const frames = r.counts.mediaFramesSent;
    assert.ok(frames >= 250 && frames <= Math.floor(streamMs / 20) + 1, `${frames} frames in ${streamMs} ms`);
    assert.ok(r.wallMs >= r.durationMs * 0.05 * 0.95, `wall ${r.wallMs} ms is not faster than the scale allows`);
    // Nor slower: no real-time wait outside the call clock (before it started: the script's
    // rendering; after it stopped: the result) — both together within two frame ticks.
    const outside = ticks.between(returnedAt - r.wallMs, r.originPerfMs) + ticks.between(at(r.durationMs), returnedAt);
    assert.ok(outside <= 2, `wall ${r.wallMs.toFixed(0)} ms for ${r.durationMs.toFixed(0)} ms of call time at 0.05: ${outside} frame ticks outside the call clock`);
  });

  it('the recording is aligned on the call clock (stereo: caller left, heard right)', async () => {
    const path = join(dir, 'call.wav');
    const ticks = new FrameTicks();
    const r = await call([{ silence: 300 }, { tone: { hz: 440, durationMs: 400 } }, { dtmf: '3' }, { waitForBotSpeech: { timeoutMs: 20_000 } }, { silence: 600 }], {
      timeScale: 0.25, recordPath: path, recordStereo: true,
    }).finally(() => ticks.stop());
    const wav = decodeWav(await readFile(path));
    assert.equal(wav.channels, 2);
    assert.equal(wav.sampleRateHz, 8000);
    const frames = wav.samples.length / 2;
    assert.equal(frames, r.heard.length);
    assert.ok(Math.abs(frames - r.durationMs * 8) <= 8, `${frames} frames for ${r.durationMs} ms`);
    for (let i = 0; i < frames; i += 97) {
      assert.equal(wav.samples[2 * i], r.sent[i]);
      assert.equal(wav.samples[2 * i + 1], r.heard[i]);
    }
    // The caller's tone sits where the script put it: its step started at most one frame before it.
    const toneStep = events(r, 'step').find((e) => e.step.startsWith('tone'))!;
    const sentOnset = firstLoud(r.sent) / 8;
    assert.ok(sentOnset >= toneStep.atMs && sentOnset <= toneStep.atMs + 5, `tone sent at ${sentOnset}, step at ${toneStep.atMs}`);
    assert.ok(Math.abs(lastLoud(r.sent) / 8 - sentOnset - 400) <= 1, 'the whole tone, in one piece');
    assert.ok(Math.abs(events(r, 'bot-speech-start')[0]!.atMs - firstLoud(r.heard) / 8) < 0.2, 'speech start where the audio is');
    // The bot's reply to the key press is heard after the key press, within the loop latency:
    // at once, within two 20 ms frame ticks of this process (a stall counts one tick).
    const press = events(r, 'dtmf')[0]!;
    const heardOnset = firstLoud(r.heard) / 8;
    const at = (callMs: number) => r.originPerfMs + callMs * r.timeScale;
    const lateTicks = ticks.between(at(press.atMs), at(heardOnset));
    assert.ok(heardOnset >= press.atMs && lateTicks <= 2, `reply heard at ${heardOnset}, key at ${press.atMs} (${lateTicks} frame ticks of ${TICK_MS} ms later)`);
    const fit = fitSine(r.heard, 700, 8000, Math.round(heardOnset * 8) + 80, Math.round(heardOnset * 8) + 1500);
    assert.ok(fit.thdnDb > 30, `THD+N ${fit.thdnDb}`);
    assert.equal(firstLoud(r.heard, Math.round(heardOnset * 8) + 1600 + 8), -1, 'the 200 ms reply ends where it should');
  });

  it('5 concurrent calls stay separate', async () => {
    const before_ = bot.calls.length;
    const freqs = [400, 600, 800, 1000, 1200];
    const results = await Promise.all(
      freqs.map((hz, i) =>
        call([{ tone: { hz, durationMs: 600 } }, { dtmf: '#' }, { waitForBotSpeech: { timeoutMs: 20_000 } }, { waitForBotSilence: { silenceMs: 200, timeoutMs: 20_000 } }], {
          from: `+1555000000${i}`,
          timeScale: 0.1,
        }),
      ),
    );
    assert.equal(bot.calls.length - before_, 5);
    assert.equal(new Set(results.map((r) => r.callSid)).size, 5);
    results.forEach((r, i) => {
      assert.deepEqual(r.protocolErrors, []);
      assert.deepEqual(r.timeouts, []);
      const start = events(r, 'bot-speech-start')[0]!;
      const from = Math.round(start.atMs * 8) + 400;
      const own = fitSine(r.heard, freqs[i]!, 8000, from, from + 3200);
      assert.ok(own.thdnDb > 30, `call ${i}: THD+N ${own.thdnDb.toFixed(1)} dB at its own ${freqs[i]} Hz`);
      for (const other of freqs) {
        if (other === freqs[i]) continue;
        assert.ok(fitSine(r.heard, other, 8000, from, from + 3200).amplitude < 100, `call ${i} hears ${other} Hz`);
      }
    });
  });

  it('a handler answering with its own TwiML: the outcome reports it, no stream opens', async () => {
    const closed = await startEdge({
      handler: { onIncomingCall: () => ({ kind: 'twiml', twiml: '<Response><Say>We are closed.</Say><Hangup/></Response>' }), onStreamStart() {} },
    });
    try {
      const r = await placeCall({ serverUrl: closed.serverUrl, publicBaseUrl: closed.publicBaseUrl, authToken: AUTH_TOKEN, from: '+1', to: '+2', script: [], timeScale: 0.05 });
      assert.equal(r.outcome.endedBy, 'twiml');
      assert.deepEqual(r.outcome.verbs, [{ verb: 'Say', text: 'We are closed.' }, { verb: 'Hangup' }]);
      assert.equal(r.streamSid, undefined);
      assert.equal(closed.edge.acceptedStreams, 0);
    } finally {
      await closed.close();
    }
  });

  it('a simulator with the wrong auth token is refused at the webhook', async () => {
    const r = await call([], { authToken: 'wrong-token-wrong-token-wrong-tok' });
    assert.equal(r.webhookStatus, 403);
    assert.equal(r.outcome.endedBy, 'error');
  });

  it('the live loopback handler echoes audio as it arrives (with marks)', async () => {
    const { handler, record } = loopbackHandler();
    const e = await startEdge({ handler });
    try {
      const r = await placeCall({ serverUrl: e.serverUrl, publicBaseUrl: e.publicBaseUrl, authToken: AUTH_TOKEN, from: '+1', to: '+2', timeScale: 0.05,
        script: [{ tone: { hz: 600, durationMs: 500 } }, { waitForBotSpeech: { timeoutMs: 20_000 } }, { waitForBotSilence: { silenceMs: 300, timeoutMs: 20_000 } }] });
      assert.equal(record.streams.length, 1);
      assert.ok(r.counts.mediaMessagesReceived > 20, `${r.counts.mediaMessagesReceived} media messages back`);
      // A mark follows each media message (the last one may still be in flight at hang-up).
      assert.ok(r.counts.marksReceived >= r.counts.mediaMessagesReceived - 1, `${r.counts.marksReceived} marks`);
      assert.ok(events(r, 'bot-speech-start').length >= 1, 'echo heard');
    } finally {
      await e.close();
    }
  });
});
