/**
 * The metrics module on its own: the call feed turns record patches and events into counters and
 * histograms (once per turn, once per call), the scrape-time gauges read their sources, two
 * instances keep separate figures, and the runtime sampler observes event-loop lag and GC pauses.
 * The exposition is read back with a strict parser of the text format (test/support/prom-text.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallbridgeMetrics, CallFeed, METRIC_NAMES, type MetricsSources } from '../../src/metrics/index.js';
import { sampleRuntime } from '../../src/metrics/runtime.js';
import { FrameTimer } from '../../src/call/frame-timer.js';
import type { AgentEvent } from '../../src/call/ports.js';
import type { CallRecord } from '../../src/transcripts/types.js';
import { parseExposition } from '../support/prom-text.js';

const SID = `CA${'1'.repeat(32)}`;

function sources(over: Partial<MetricsSources> = {}): MetricsSources {
  return {
    calls: () => ({ active: 3, awaitingStream: 1, draining: false }),
    breakers: () => [
      { model: 'model-a', state: 'open', quotaWaitMs: 2500 },
      { model: 'model-b', state: 'closed', quotaWaitMs: 0 },
    ],
    instance: { worker: '2', pid: '99' },
    ...over,
  };
}

function record(patch: Partial<CallRecord> = {}): CallRecord {
  return {
    callSid: SID, from: '+15550000001', to: '+15550000002', flow: 'dental', channel: 'phone', models: ['model-a'], startedAt: 1000,
    outcome: 'in_progress', geminiCloses: [], reconnects: 0, usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 }, latency: { turns: [] },
    ...patch,
  };
}

const turn = (latencyMs: number) => ({ callerStopMs: 1000, firstBotAudioMs: 1000 + latencyMs, latencyMs });

describe('metrics', () => {
  it('declares every listed metric, and reads the gauges from their sources when scraped', async () => {
    const m = new CallbridgeMetrics(sources());
    const x = parseExposition(await m.text());
    for (const name of METRIC_NAMES) assert.ok(x.types.has(name), `${name} is declared`);
    assert.equal(x.value('callbridge_active_calls'), 3);
    assert.equal(x.value('callbridge_calls_awaiting_stream'), 1);
    assert.equal(x.value('callbridge_draining'), 0);
    assert.equal(x.value('callbridge_instance_info', { worker: '2', pid: '99' }), 1);
    assert.equal(x.value('callbridge_breaker_state', { model: 'model-a', state: 'open' }), 1);
    assert.equal(x.value('callbridge_breaker_state', { model: 'model-a', state: 'closed' }), 0);
    assert.equal(x.value('callbridge_breaker_state', { model: 'model-b', state: 'closed' }), 1);
    assert.equal(x.value('callbridge_breaker_quota_wait_seconds', { model: 'model-a' }), 2.5);
    assert.equal(x.types.get('callbridge_turn_latency_seconds'), 'histogram');
  });

  it('the call feed counts a call once, each turn once, closes, reconnects and function calls', async () => {
    const m = new CallbridgeMetrics(sources());
    const feed = new CallFeed(m);
    feed.onChange({ type: 'call', record: record() });
    feed.onChange({ type: 'call', record: record({ latency: { firstBotAudioMs: 800, turns: [] } }) });
    feed.onChange({ type: 'call', record: record({ latency: { firstBotAudioMs: 800, turns: [turn(400)] } }) });
    feed.onChange({ type: 'call', record: record({ latency: { firstBotAudioMs: 800, turns: [turn(400)] }, usage: { promptTokens: 5, responseTokens: 5, totalTokens: 10 } }) });
    feed.onChange({ type: 'call', record: record({ latency: { firstBotAudioMs: 800, turns: [turn(400), turn(1200)] } }) });
    const ev = (event: Parameters<typeof feed.onChange>[0] & { type: 'event' }) => feed.onChange(event);
    ev({ type: 'event', callSid: SID, seq: 1, event: { kind: 'gemini_close', code: 1011, reason: 'internal', errorCode: 'CB_GEMINI_INTERNAL', model: 'model-a', atMs: 5 } });
    ev({ type: 'event', callSid: SID, seq: 2, event: { kind: 'reconnect', model: 'model-a', resumed: true, silenceMs: 300, atMs: 6 } });
    ev({ type: 'event', callSid: SID, seq: 3, event: { kind: 'function_call', id: 'f1', name: 'book', args: {}, status: 'ok', latencyMs: 120, atMs: 7 } });
    ev({ type: 'event', callSid: SID, seq: 4, event: { kind: 'function_call', id: 'f2', name: 'book', args: {}, status: 'timeout', errorCode: 'CB_TOOL_TIMEOUT', latencyMs: 5000, atMs: 8 } });
    ev({ type: 'event', callSid: SID, seq: 5, event: { kind: 'caller_utterance', text: 'hi', atMs: 9 } });
    assert.equal(feed.tracked, 1);
    const final = record({ outcome: 'ended_by_bot', endedAt: 9000, latency: { firstBotAudioMs: 800, turns: [turn(400), turn(1200)] } });
    feed.onChange({ type: 'call', record: final });
    assert.equal(feed.tracked, 0, 'a closed call is forgotten');

    const x = parseExposition(await m.text());
    assert.equal(x.value('callbridge_calls_total', { flow: 'dental', outcome: 'ended_by_bot', channel: 'phone' }), 1);
    assert.equal(x.find('callbridge_calls_total').length, 1, 'in-progress patches are not counted');
    assert.equal(x.value('callbridge_first_audio_seconds_count', { flow: 'dental' }), 1);
    assert.equal(x.value('callbridge_first_audio_seconds_sum', { flow: 'dental' }), 0.8);
    assert.equal(x.value('callbridge_turn_latency_seconds_count', { flow: 'dental' }), 2, 'each turn once, however often the record is patched');
    assert.equal(x.value('callbridge_turn_latency_seconds_sum', { flow: 'dental' }), 1.6);
    assert.equal(x.value('callbridge_turn_latency_seconds_bucket', { flow: 'dental', le: '0.5' }), 1);
    assert.equal(x.value('callbridge_turn_latency_seconds_bucket', { flow: 'dental', le: '+Inf' }), 2);
    assert.equal(x.value('callbridge_gemini_closes_total', { code: '1011', error_code: 'CB_GEMINI_INTERNAL', model: 'model-a' }), 1);
    assert.equal(x.value('callbridge_reconnects_total', { model: 'model-a', resumed: 'true' }), 1);
    assert.equal(x.value('callbridge_function_duration_seconds_count', { function: 'book', status: 'ok' }), 1);
    assert.equal(x.value('callbridge_function_duration_seconds_count', { function: 'book', status: 'timeout' }), 1);
    assert.equal(x.value('callbridge_function_errors_total', { function: 'book', error_code: 'CB_TOOL_TIMEOUT' }), 1);
  });

  it('a call whose media another instance took is not counted here (that instance counts it)', async () => {
    const m = new CallbridgeMetrics(sources());
    const feed = new CallFeed(m);
    feed.onChange({ type: 'call', record: record({ instance: 'a' }) });
    feed.onChange({ type: 'call', record: record({ instance: 'b' }) });
    feed.onChange({ type: 'call', record: record({ instance: 'b', outcome: 'failed', endedAt: 5000 }) });
    const other = `CA${'2'.repeat(32)}`;
    feed.onChange({ type: 'call', record: record({ callSid: other, instance: 'a' }) });
    feed.onChange({ type: 'call', record: record({ callSid: other, instance: 'a', outcome: 'completed', endedAt: 5000 }) });
    const x = parseExposition(await m.text());
    assert.equal(x.find('callbridge_calls_total').length, 1);
    assert.equal(x.value('callbridge_calls_total', { flow: 'dental', outcome: 'completed', channel: 'phone' }), 1);
    assert.equal(feed.tracked, 0);
  });

  it('two instances in one process keep their own figures', async () => {
    const a = new CallbridgeMetrics(sources());
    const b = new CallbridgeMetrics(sources({ calls: () => ({ active: 7, awaitingStream: 0, draining: true }) }));
    new CallFeed(a).onChange({ type: 'call', record: record({ outcome: 'completed', endedAt: 2000 }) });
    const xa = parseExposition(await a.text());
    const xb = parseExposition(await b.text());
    assert.equal(xa.value('callbridge_calls_total', { flow: 'dental', outcome: 'completed', channel: 'phone' }), 1);
    assert.equal(xb.find('callbridge_calls_total').length, 0);
    assert.equal(xa.value('callbridge_active_calls'), 3);
    assert.equal(xb.value('callbridge_active_calls'), 7);
    assert.equal(xb.value('callbridge_draining'), 1);
  });

  it('the runtime sampler observes a blocked event loop and garbage collections', async () => {
    const m = new CallbridgeMetrics(sources());
    const runtime = sampleRuntime(m, { windowMs: 60_000 });
    try {
      // Block the loop for a while, measured with the same clock the comparison uses.
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      while (performance.now() - t0 < 60);
      await new Promise((r) => setTimeout(r, 20));
      runtime.sample();
      // Garbage until the observer reports a collection (entries arrive asynchronously).
      let keep: unknown[] = [];
      for (let round = 0; round < 200; round++) {
        for (let i = 0; i < 20_000; i++) keep.push({ i, s: `x${i}` });
        keep = [];
        await new Promise((r) => setImmediate(r));
        if ((parseExposition(await m.text()).find('callbridge_gc_pause_seconds_count').reduce((s, x) => s + x.value, 0)) > 0) break;
      }
      const x = parseExposition(await m.text());
      assert.equal(x.value('callbridge_event_loop_lag_seconds_count'), 1);
      const lag = x.value('callbridge_event_loop_lag_seconds_sum')!;
      assert.ok(lag >= 0.03, `the 60 ms block shows as lag (${lag} s)`);
      const gcs = x.find('callbridge_gc_pause_seconds_count');
      assert.ok(gcs.reduce((s, g) => s + g.value, 0) > 0, 'a collection was observed');
      assert.ok(gcs.every((g) => ['minor', 'major', 'incremental', 'weakcb', 'other'].includes(g.labels['kind']!)));
    } finally {
      runtime.stop();
    }
  });

  it('the frame timer times one frame in N per direction with the call clock, and passes every frame on', () => {
    let clock = 0;
    const times: Array<[string, number]> = [];
    const timer = new FrameTimer((d, s) => times.push([d, s]), () => clock, 4);
    const seen: number[] = [];
    const inbound = timer.inbound((_p, ts) => {
      seen.push(ts);
      clock += 3; // each frame "takes" 3 ms
    });
    for (let i = 0; i < 9; i++) inbound(new Uint8Array(160), i * 20);
    assert.deepEqual(seen, [0, 20, 40, 60, 80, 100, 120, 140, 160], 'every frame handled, in order');
    assert.deepEqual(times, [['in', 0.003], ['in', 0.003]], 'frames 4 and 8 timed');
    const agentSeen: string[] = [];
    const outbound = timer.outbound((e) => {
      agentSeen.push(e.type);
      clock += 2;
    });
    const audio = { type: 'audio', samples: new Int16Array(480) } as unknown as AgentEvent;
    const text = { type: 'outputTranscription', text: 'hi' } as unknown as AgentEvent;
    for (let i = 0; i < 6; i++) outbound(text);
    for (let i = 0; i < 4; i++) outbound(audio);
    assert.equal(agentSeen.length, 10);
    assert.deepEqual(times.slice(2), [['out', 0.002]], 'only audio chunks count towards the sample');
    const plain = (_p: Uint8Array, _t: number) => undefined;
    assert.equal(new FrameTimer(undefined, () => 0).inbound(plain), plain, 'no sink: the handler is not wrapped');
  });
});
