import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallerSpeech } from '../../src/call/caller-speech.js';
import { PHONE_FORMAT, WIDEBAND_FORMAT } from '../../src/call/audio-path.js';
import { encodeMulaw } from '../../src/audio/mulaw.js';

/** `ms` of a 440 Hz tone (or near-silence) at `rateHz`, in 20 ms frames. */
function frames(rateHz: number, ms: number, amplitude: number, startSample = 0): Int16Array[] {
  const per = rateHz / 50;
  return Array.from({ length: ms / 20 }, (_, f) =>
    Int16Array.from({ length: per }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * 440 * (startSample + f * per + i)) / rateHz))),
  );
}

/** Feeds silence then speech; returns the live 16 kHz audio and the speech start (16 kHz sample index). */
function talk(speech: CallerSpeech, rateHz: number, toPayload: (pcm: Int16Array) => Uint8Array): { live: Int16Array; startedAt: number } {
  const live: number[] = [];
  let startedAt = -1;
  let nowMs = 0;
  const all = [...frames(rateHz, 1000, 0), ...frames(rateHz, 1500, 8000, (rateHz / 1000) * 1000)];
  for (const f of all) {
    if (speech.frame(toPayload(f), (nowMs += 20)) === 'started' && startedAt < 0) startedAt = live.length;
    live.push(...speech.pcm16k);
  }
  return { live: Int16Array.from(live), startedAt };
}

const bytesOf = (pcm: Int16Array) => new Uint8Array(pcm.buffer.slice(0));

describe('CallerSpeech: replay of the unanswered words after a fault', () => {
  it('phone line: the ring keeps 8 kHz; the replay is the 16 kHz the agent heard, from just before the speech', () => {
    const speech = new CallerSpeech(PHONE_FORMAT);
    const { live, startedAt } = talk(speech, 8000, (pcm) => encodeMulaw(pcm));
    assert.ok(startedAt > 0, 'the detector heard the tone');
    const replay = speech.unanswered(0)!;
    assert.ok(replay, 'there are unanswered words');
    // From the speech (and its pre-roll) to the end of what was said, at 16 kHz.
    assert.ok(replay.length > live.length - startedAt && replay.length < live.length, `${replay.length} samples`);
    const tail = live.subarray(live.length - replay.length);
    // The replay runs through a fresh filter: past its first 2 ms it matches the live audio.
    let worst = 0;
    for (let i = 64; i < replay.length; i++) worst = Math.max(worst, Math.abs(replay[i]! - tail[i]!));
    assert.ok(worst <= 2, `largest difference ${worst}`);
    const cut = speech.unanswered(500)!;
    assert.equal(cut.length, replay.length - 8000, 'what came during a 500 ms outage is not replayed (the link sends it)');
  });

  it('wideband: the ring keeps the caller’s 16 kHz unchanged', () => {
    const speech = new CallerSpeech(WIDEBAND_FORMAT);
    const { live } = talk(speech, 16000, bytesOf);
    const replay = speech.unanswered(0)!;
    assert.deepEqual(replay, live.subarray(live.length - replay.length));
  });

  it('a reply heard while the caller is quiet clears them', () => {
    const speech = new CallerSpeech(PHONE_FORMAT);
    talk(speech, 8000, (pcm) => encodeMulaw(pcm));
    let nowMs = 3000;
    for (const f of frames(8000, 1000, 0)) speech.frame(encodeMulaw(f), (nowMs += 20));
    assert.equal(speech.speaking, false);
    speech.replied();
    assert.equal(speech.unanswered(0), undefined);
  });
});
