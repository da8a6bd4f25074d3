import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sineWave } from '../../src/audio/analysis.js';
import { concatPcm16 } from '../../src/audio/pcm.js';
import { EnergyVad, vadConfigFromSetup, type VadEvent } from '../../src/emulator/index.js';

const RATE = 16000;
const tone = (ms: number, amplitude = 8000) => sineWave(300, RATE, ms, amplitude);
const quiet = (ms: number) => new Int16Array((RATE * ms) / 1000);

/** Feeds the signal in 20 ms chunks (as a client would) and collects the events. */
function run(vad: EnergyVad, signal: Int16Array): VadEvent[] {
  const events: VadEvent[] = [];
  for (let i = 0; i < signal.length; i += 320) events.push(...vad.push(signal.subarray(i, i + 320)));
  return events;
}

const vad = (prefixPaddingMs = 30, silenceDurationMs = 300) =>
  new EnergyVad({ sampleRateHz: RATE, thresholdDbfs: -40, prefixPaddingMs, silenceDurationMs });

describe('emulator VAD', () => {
  it('finds the start and end of tone bursts separated by silence', () => {
    const signal = concatPcm16([quiet(200), tone(500), quiet(400), tone(300), quiet(400)]);
    assert.deepEqual(run(vad(), signal), [
      { type: 'start', atMs: 200 },
      { type: 'end', atMs: 700 },
      { type: 'start', atMs: 1100 },
      { type: 'end', atMs: 1400 },
    ]);
  });

  it('pauses shorter than silenceDurationMs do not end speech', () => {
    const signal = concatPcm16([tone(300), quiet(200), tone(300), quiet(400)]);
    assert.deepEqual(run(vad(30, 300), signal), [
      { type: 'start', atMs: 0 },
      { type: 'end', atMs: 800 },
    ]);
  });

  it('a click shorter than prefixPaddingMs is not speech', () => {
    assert.deepEqual(run(vad(50), concatPcm16([quiet(100), tone(30), quiet(500)])), []);
    assert.equal(run(vad(20), concatPcm16([quiet(100), tone(30), quiet(500)])).length, 2);
  });

  it('quiet signals below the threshold are silence; start sensitivity moves the threshold', () => {
    const soft = concatPcm16([tone(300, 300), quiet(400)]); // about -43.8 dBFS RMS: under -40, over -45
    assert.deepEqual(run(vad(), soft), []);
    const high = new EnergyVad(vadConfigFromSetup({ automaticActivityDetection: { startOfSpeechSensitivity: 'START_SENSITIVITY_HIGH' } }, { thresholdDbfs: -40, prefixPaddingMs: 30, silenceDurationMs: 300 }, RATE));
    assert.equal(run(high, soft).length, 2);
  });

  it('audioStreamEnd (flush) ends ongoing speech at the last voiced frame', () => {
    const v = vad();
    run(v, tone(250));
    assert.equal(v.speaking, true);
    assert.deepEqual(v.flush(), [{ type: 'end', atMs: 250 }]);
    assert.deepEqual(v.flush(), []);
  });

  it('setup fields override the defaults', () => {
    const c = vadConfigFromSetup({ automaticActivityDetection: { prefixPaddingMs: 10, silenceDurationMs: 123 } }, { thresholdDbfs: -40, prefixPaddingMs: 40, silenceDurationMs: 600 }, RATE);
    assert.equal(c.prefixPaddingMs, 10);
    assert.equal(c.silenceDurationMs, 123);
    const low = vadConfigFromSetup({ automaticActivityDetection: { endOfSpeechSensitivity: 'END_SENSITIVITY_LOW' } }, { thresholdDbfs: -40, prefixPaddingMs: 40, silenceDurationMs: 600 }, RATE);
    assert.equal(low.silenceDurationMs, 900);
  });
});
