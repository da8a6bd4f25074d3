/**
 * GET /metrics through the real server after a real call (caller simulator → callbridge →
 * Gemini Live emulator): the text format parses strictly, the call is counted with its flow and
 * outcome, its first audio, turn and function figures are there, the breaker of its model is
 * listed; and the endpoint answers only to METRICS_TOKEN or ADMIN_TOKEN (401 otherwise, 429 after
 * too many wrong tokens).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRig } from '../support/e2e.js';
import { parseExposition } from '../support/prom-text.js';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { mountMetrics } from '../../src/metrics/index.js';
import { silentLogger } from '../../src/shared/log.js';

const ADMIN = 'metrics-admin-token-0123456789';
const SCRAPER = 'metrics-scraper-token-0123456789';
const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };

describe('GET /metrics', () => {
  it('after a call: counted by flow and outcome, with first-audio, turn and function figures; tokens enforced', async () => {
    const rig = await startRig({
      env: { ADMIN_TOKEN: ADMIN, METRICS_TOKEN: SCRAPER },
      emulator: {
        timing: FAST,
        scenario: { name: 'bye', turns: [{ heard: 'bye', say: { toneHz: 500, durationMs: 600, amplitude: 10000 }, toolCalls: [{ name: 'end_call', args: { reason: 'caller said goodbye' } }] }] },
      },
    });
    try {
      const url = `${rig.bridge.url}/metrics`;
      const none = await fetch(url);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await fetch(url, { headers: { Authorization: 'Bearer not-the-token-at-all' } })).status, 401);
      assert.equal((await fetch(url, { headers: { Authorization: `Basic ${SCRAPER}` } })).status, 401);
      const before = parseExposition(await (await fetch(url, { headers: { Authorization: `Bearer ${SCRAPER}` } })).text());
      assert.equal(before.value('callbridge_active_calls'), 0);
      assert.equal(before.find('callbridge_calls_total').length, 0);

      const result = await rig.call({
        timeScale: 0.5,
        afterScript: 'wait',
        maxDurationMs: 30000,
        script: [{ waitForBotSpeech: { timeoutMs: 15000 } }, { waitForBotSilence: { silenceMs: 500, timeoutMs: 15000 } }, { tone: { hz: 300, durationMs: 500, amplitude: 8000 } }],
      });
      await rig.bridge.writer.flush();
      const record = await rig.bridge.store.getCall(result.callSid);
      assert.equal(record?.outcome, 'ended_by_bot');

      const res = await fetch(url, { headers: { Authorization: `Bearer ${ADMIN}` } });
      assert.equal(res.status, 200, 'ADMIN_TOKEN works too');
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const x = parseExposition(await res.text());
      assert.equal(x.value('callbridge_active_calls'), 0);
      assert.equal(x.value('callbridge_calls_total', { flow: 'test-line', outcome: 'ended_by_bot', channel: 'phone' }), 1);
      assert.equal(x.value('callbridge_first_audio_seconds_count', { flow: 'test-line' }), 1);
      assert.equal(x.value('callbridge_first_audio_seconds_sum', { flow: 'test-line' }), record!.latency.firstBotAudioMs! / 1000);
      assert.equal(x.value('callbridge_turn_latency_seconds_count', { flow: 'test-line' }), record!.latency.turns.length);
      assert.ok(record!.latency.turns.length >= 1, 'the reply to the caller was a measured turn');
      assert.equal(x.value('callbridge_function_duration_seconds_count', { function: 'end_call', status: 'ok' }), 1);
      const model = record!.models[0]!;
      assert.equal(x.value('callbridge_breaker_state', { model, state: 'closed' }), 1, `breaker of ${model} listed as closed`);
      assert.equal(x.types.get('callbridge_event_loop_lag_seconds'), 'histogram');
      assert.equal(x.types.get('callbridge_gc_pause_seconds'), 'histogram');
      assert.equal(x.types.get('callbridge_bridge_latency_seconds'), 'histogram');
      assert.ok((x.value('callbridge_bridge_latency_seconds_count', { direction: 'in' }) ?? 0) >= 1, 'sampled caller frames were timed');
      assert.equal(x.find('callbridge_instance_info')[0]?.labels['pid'], String(process.pid));

      // Wrong tokens are throttled like the admin API's.
      let last = 0;
      for (let i = 0; i < 40 && last !== 429; i++) last = (await fetch(url, { headers: { Authorization: `Bearer wrong-${i}-xxxxxxxxxxxx` } })).status;
      assert.equal(last, 429, 'too many wrong tokens');
    } finally {
      await rig.close();
    }
  });

  it('development without tokens: open (the server listens on loopback only then)', async () => {
    const rig = await startRig({ emulator: { timing: FAST } });
    try {
      const res = await fetch(`${rig.bridge.url}/metrics`);
      assert.equal(res.status, 200, 'development without tokens (loopback only)');
      assert.ok(parseExposition(await res.text()).types.has('callbridge_active_calls'));
    } finally {
      await rig.close();
    }
  });

  it('production without METRICS_TOKEN or ADMIN_TOKEN: 503, and only the scraper token with METRICS_TOKEN alone', async () => {
    for (const [tokens, expect] of [[{}, [503, 503]], [{ metricsToken: SCRAPER }, [401, 200]]] as const) {
      const app = express();
      const mounted = mountMetrics(app, {
        writer: { subscribe: () => () => undefined },
        calls: () => ({ active: 0, awaitingStream: 0, draining: false }),
        breakers: () => [],
        adminToken: undefined,
        metricsToken: undefined,
        ...tokens,
        nodeEnv: 'production',
        log: silentLogger(),
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
        assert.equal((await fetch(url)).status, expect[0]);
        assert.equal((await fetch(url, { headers: { Authorization: `Bearer ${SCRAPER}` } })).status, expect[1]);
      } finally {
        mounted.close();
        await new Promise((r) => server.close(r));
      }
    }
  });
});
