import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlaybackBuffer } from '../../src/simulator/playback.js';
import { CallerMic, FRAME_SAMPLES } from '../../src/simulator/mic.js';
import { CallClock } from '../../src/simulator/clock.js';
import { decodeMulaw } from '../../src/audio/mulaw.js';

function recorder() {
  const events: string[] = [];
  return {
    events,
    listener: {
      markEchoed: (name: string, at: number, cleared: boolean) => events.push(`mark ${name} @${at}${cleared ? ' cleared' : ''}`),
      speechStarted: (at: number) => events.push(`speech+ @${at}`),
      speechStopped: (at: number) => events.push(`speech- @${at}`),
    },
  };
}

const loud = (n: number, v = 1000) => new Int16Array(n).fill(v);

describe('simulated Twilio playback buffer', () => {
  it('plays queued audio at 8000 samples/s from its arrival, writing it at its call-clock position', () => {
    const r = recorder();
    const p = new PlaybackBuffer(r.listener, { speechHangoverMs: 10 });
    p.enqueueAudio(loud(160, 500), 800); // arrives at 100 ms
    p.advance(880);
    assert.equal(p.bufferedSamples, 80);
    p.advance(2000);
    const heard = p.heard.toArray(2000);
    assert.equal(heard[799], 0);
    assert.equal(heard[800], 500);
    assert.equal(heard[959], 500);
    assert.equal(heard[960], 0);
    assert.deepEqual(r.events, ['speech+ @800', 'speech- @960']);
  });

  it('echoes a mark when the audio before it has played, or at once when nothing is buffered', () => {
    const r = recorder();
    const p = new PlaybackBuffer(r.listener, { speechThreshold: 1e9 });
    p.enqueueMark('idle', 100);
    p.enqueueAudio(loud(160), 100);
    p.enqueueMark('after-first', 100);
    p.enqueueAudio(loud(160), 120); // arrives while the first still plays: queued behind it
    p.enqueueMark('after-second', 120);
    p.advance(259);
    assert.deepEqual(r.events, ['mark idle @100']);
    p.advance(260);
    assert.deepEqual(r.events.slice(1), ['mark after-first @260']);
    p.advance(1000);
    assert.deepEqual(r.events.slice(2), ['mark after-second @420']);
  });

  it('clear drops buffered audio and echoes every pending mark at once', () => {
    const r = recorder();
    const p = new PlaybackBuffer(r.listener, { speechThreshold: 1e9 });
    p.enqueueAudio(loud(8000), 0);
    p.enqueueMark('a', 0);
    p.enqueueAudio(loud(8000), 0);
    p.enqueueMark('b', 0);
    const res = p.clear(4000);
    assert.deepEqual(res, { droppedSamples: 12000, marks: ['a', 'b'] });
    assert.deepEqual(r.events, ['mark a @4000 cleared', 'mark b @4000 cleared']);
    p.advance(6000);
    const heard = p.heard.toArray(6000);
    assert.equal(heard[3999], 1000);
    assert.equal(heard[4000], 0);
  });

  it('an optional jitter buffer delays the start of audio reaching an empty buffer, so late parts join without a gap', () => {
    const r = recorder();
    const p = new PlaybackBuffer(r.listener, { jitterBufferMs: 50, speechThreshold: 1e9 });
    p.enqueueAudio(loud(160), 800); // first part of a burst at 100 ms
    p.enqueueMark('m1', 800);
    p.enqueueAudio(loud(160), 1000); // the rest arrives 25 ms later: still buffered, no gap
    p.advance(4000);
    const heard = p.heard.toArray(4000);
    assert.equal(heard[1199], 0);
    assert.deepEqual([heard[1200], heard[1519], heard[1520]], [1000, 1000, 0]);
    assert.deepEqual(r.events, ['mark m1 @1360']);
  });

  it('speech detection bridges gaps shorter than the hangover', () => {
    const r = recorder();
    const p = new PlaybackBuffer(r.listener, { speechHangoverMs: 100 });
    p.enqueueAudio(loud(800), 0);
    p.enqueueAudio(new Int16Array(400), 0); // 50 ms pause
    p.enqueueAudio(loud(800), 0);
    p.advance(8000);
    assert.deepEqual(r.events, ['speech+ @0', 'speech- @2000']);
    assert.equal(p.lastLoudSample, 1999);
  });
});

describe('simulated caller microphone', () => {
  it('cuts queued audio into 160-sample μ-law frames, pads with silence, records what it sent', () => {
    const mic = new CallerMic();
    mic.enqueue(loud(200, 4000));
    const f1 = [...mic.nextFrame(0)];
    const f2 = [...mic.nextFrame(160)];
    const f3 = [...mic.nextFrame(320)];
    assert.equal(f1.length, FRAME_SAMPLES);
    assert.ok(decodeMulaw(new Uint8Array(f1)).every((v) => Math.abs(v - 4000) < 200), 'decodeMulaw(new Uint8Array(f1)).every((v) => Math.abs(v - 4000) < 200)');
    const d2 = decodeMulaw(new Uint8Array(f2));
    assert.ok(Math.abs(d2[39]! - 4000) < 200 && d2[40] === 0, 'Math.abs(d2[39]! - 4000) < 200 && d2[40] === 0');
    assert.ok(f3.every((b) => b === 0xff), 'an idle line carries μ-law silence');
    const sent = mic.sent.toArray(480);
    assert.equal(sent[199], 4000);
    assert.equal(sent[200], 0);
    assert.equal(mic.queuedSamples, 0);
  });
});

describe('simulated caller microphone timing', () => {
  it('audio queued for a later position is never sent earlier, even in a frame sent late', () => {
    const mic = new CallerMic();
    mic.enqueue(loud(100, 4000), 250); // the step started at sample 250
    mic.nextFrame(160); // frame [160, 320) is sent late, after the step started
    mic.nextFrame(320);
    const sent = mic.sent.toArray(480);
    assert.equal(sent[249], 0);
    assert.equal(sent[250], 4000);
    assert.equal(sent[349], 4000);
    assert.equal(sent[350], 0);
  });
});

describe('call clock', () => {
  it('scales time and refuses nonsense', () => {
    const c = new CallClock(0.001);
    const a = c.nowMs();
    const until = Date.now() + 5;
    while (Date.now() < until) { /* spin 5 ms = 5 s of call time */ }
    assert.ok(c.nowMs() - a >= 4000, 'c.nowMs() - a >= 4000');
    assert.ok(c.wallDelayUntil(c.nowMs() + 1000) <= 1, 'c.wallDelayUntil(c.nowMs() + 1000) <= 1');
    assert.throws(() => new CallClock(0), /positive/);
  });
});
