/**
 * Fuzzing the Twilio edge through a live server: bad input never crashes the server nor disturbs
 * other calls.
 *
 * The server runs as its own process (src/main.ts, as `npm start` does), so a crash is an exit
 * code, not a dead test runner, and its log lines are read back. Three normal simulated calls
 * talk continuously (each a distinct tone, echoed back by the echo model) while many fuzzing media
 * streams — properly signed upgrades, some carrying a real per-call token from a real webhook so
 * they get past `start`, some not — send thousands of mutated Twilio messages
 * (test/support/twilio-fuzz.ts), out-of-order events, frames the WebSocket layer must refuse, and
 * connect/close storms.
 *
 * The fuzzing peers run in a process of their own (test/support/twilio-fuzz-driver.ts), so
 * generating the frames cannot stall the callers and the emulator here. Checked: the server never
 * exits and still answers /healthz, takes a new call and shuts down cleanly; it prints only
 * structured lines and no errors; its event loop is never held 100 ms by its own work (a monitor
 * preloaded into it, test/support/loop-monitor.mjs); every fuzz socket it closes has a CB_TWILIO_*
 * line under its `conn`, malformed input is logged once per kind per stream; the normal calls end
 * normally and each hears its own tone back, complete, clean and without a gap over 100 ms (gaps
 * while the machine kept the echo path waiting for a CPU are reported, not counted).
 *
 * Reproduce a run with FUZZ_SEED=<seed> (printed at the start and in every failure message).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import { placeCall } from '../../src/simulator/index.js';
import { fitSine } from '../../src/audio/analysis.js';
import { testFlow } from '../support/e2e.js';
import { serverDirs, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { MUTATION_KINDS, TERMINAL_CLOSE_CODE } from '../support/twilio-fuzz.js';
import { startFuzzDriver, type FuzzDriver, type FuzzOptions } from '../support/twilio-fuzz-driver.js';
import { analyseEcho, parseLog, SchedWatch, tail, within, type LogLine } from '../support/fuzz-observe.js';

const SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const AUTH_TOKEN = 'fuzz-test-auth-token-0123456789';
const ACCOUNT_SID = `AC${'f'.repeat(32)}`;
/**
 * The normal calls: distinct tones, none near a harmonic of another (nor of the fuzz streams'
 * 1250 Hz), and none a whole number of cycles per 20 ms frame, so a lost or doubled frame is a
 * phase jump in the echo.
 */
const NORMAL_TONES_HZ = [470, 710, 1130] as const;
const FUZZ_TONE_HZ = 1250;
const TONE_MS = 14_000;
const FUZZ_WINDOW_MS = 10_000;
const TOKENED_STREAMS = 10;
const UNTOKENED_STREAMS = 24;
const RAPID_CONNECTS = 40;
/**
 * The simulated caller's playback jitter buffer (Twilio's is undocumented; the 20-call test uses
 * the same). The server, the emulator, the callers and the fuzzing peers share the machine's CPUs.
 */
const JITTER_BUFFER_MS = 200;
/** The server's event loop held by its own work (CPU time, not waiting for a CPU) this long is a disturbance. */
const MAX_BUSY_STALL_MS = 100;
/** A gap in a caller's echo longer than this while it talks is a disturbance. */
const MAX_ECHO_GAP_MS = 100;
/** The echo starting this long after the tone (run-queue waits aside) is a disturbance. */
const MAX_ECHO_ONSET_MS = 1500;

const ROOT = new URL('../..', import.meta.url).pathname;
describe('bridge fuzz: the Twilio side', () => {
  it(`thousands of mutated Twilio messages neither crash the server nor disturb 3 normal calls (FUZZ_SEED=${SEED})`, async () => {
    console.log(`# bridge-fuzz-twilio: FUZZ_SEED=${SEED}`);
    const seedNote = `(FUZZ_SEED=${SEED})`;
    const { dir, env } = serverDirs('cb-fuzz-', { 'echo.yaml': testFlow({ model: 'gemini-emulator-echo' }) });
    const emulator = await startEmulator({
      port: 0,
      host: '127.0.0.1',
      seed: SEED,
      recordAudioPayloads: false,
      maxRecordedPerSession: 500,
      timing: { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 3, turnCompleteDelayMs: 20 },
    });
    let server: ServerProcess | undefined;
    let driver: FuzzDriver | undefined;
    try {
      server = await startServerProcess({
        ...env,
        GEMINI_LIVE_URL: emulator.url,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        LOG_LEVEL: 'info',
        SHUTDOWN_DEADLINE_MS: '3000',
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${ROOT}test/support/loop-monitor.mjs`.trim(),
      });
      const srv = server;
      const url = srv.url;
      /** Resolves when the server has printed a line `test` accepts (upper bound `timeoutMs`). */
      const waitForLog = (test: (log: LogLine[]) => boolean, timeoutMs: number, what: string) =>
        new Promise<void>((resolve, reject) => {
          const check = () => {
            if (test(parseLog(srv.output()))) {
              clearTimeout(timer);
              srv.child.stdout.off('data', check);
              resolve();
            }
          };
          const timer = setTimeout(() => {
            srv.child.stdout.off('data', check);
            reject(new Error(`timed out waiting for the server to log ${what} ${seedNote}`));
          }, timeoutMs);
          srv.child.stdout.on('data', check);
          check();
        });

      driver = await startFuzzDriver();
      // A short call first: the server's and this process's first-call work (module loading, JIT)
      // is not what this test is about.
      const warm = await placeCall({
        serverUrl: url, from: '+15557654321', to: '+15550100100', accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, timeScale: 1,
        script: [{ tone: { hz: 550, durationMs: 600, amplitude: 8000 } }, { silence: 200 }],
      });
      assert.equal(warm.outcome.endedBy, 'caller', `the warm-up call ran ${seedNote}`);

      const sched = { server: new SchedWatch(srv.child.pid!), test: new SchedWatch('self') };
      const callsStartedAt = Date.now();
      // --- the normal calls ---------------------------------------------------------------------
      const normalSids = NORMAL_TONES_HZ.map((_, i) => `CA${'0'.repeat(31)}${i + 1}`);
      const normalCalls = NORMAL_TONES_HZ.map((hz, i) =>
        placeCall({
          serverUrl: url,
          from: '+15557654321',
          to: '+15550100100',
          callSid: normalSids[i]!,
          accountSid: ACCOUNT_SID,
          authToken: AUTH_TOKEN,
          timeScale: 1,
          playback: { jitterBufferMs: JITTER_BUFFER_MS },
          maxDurationMs: TONE_MS + 20_000,
          // The trailing silence lets a late echo's tail arrive before the caller hangs up.
          script: [{ silence: 300 }, { tone: { hz, durationMs: TONE_MS, amplitude: 8000 } }, { silence: 2000 }],
        }),
      );
      await waitForLog((log) => normalSids.every((sid) => log.some((l) => l.msg === 'media stream started' && l['callSid'] === sid)), 15_000, 'the normal calls’ streams starting');

      // --- the fuzzing peers, in their own process ------------------------------------------
      const options: FuzzOptions = {
        url, authToken: AUTH_TOKEN, accountSid: ACCOUNT_SID, seed: SEED, tokened: TOKENED_STREAMS, untokened: UNTOKENED_STREAMS,
        rapid: RAPID_CONNECTS, windowMs: FUZZ_WINDOW_MS, toneHz: FUZZ_TONE_HZ,
      };
      const report = await driver.run(options, 40_000).catch(async (err: Error) => {
        const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) }).then((r) => `HTTP ${r.status}`, (e: Error) => e.message);
        throw new Error(`${err.message}; the server: ${srv.child.exitCode === null ? 'running' : `exited ${srv.child.exitCode}`}, GET /healthz → ${health}\n${tail(srv.output())}`);
      });
      const conns = report.conns;
      const results = await Promise.all(normalCalls);
      sched.server.stop();
      sched.test.stop();
      // --- the server is alive and still serves calls ---------------------------------------
      assert.equal(srv.child.exitCode, null, `the server process is still running ${seedNote}\n${tail(srv.output())}`);
      assert.equal(srv.child.signalCode, null, `the server process was not killed ${seedNote}`);
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      assert.equal(health.status, 200, `GET /healthz answers after the fuzz ${seedNote}`);
      const after = await placeCall({
        serverUrl: url, from: '+15557654321', to: '+15550100100', accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, timeScale: 1,
        playback: { jitterBufferMs: 60 }, script: [{ silence: 200 }, { tone: { hz: 550, durationMs: 800, amplitude: 8000 } }, { silence: 300 }],
      });
      const afterAmp = fitSine(after.heard, 550, 8000, 0, after.heard.length).amplitude;
      assert.ok(afterAmp > 1000, `a call placed after the fuzz hears its echo (550 Hz amplitude ${afterAmp.toFixed(0)}) ${seedNote}`);

      // A graceful shutdown still works.
      srv.child.kill('SIGTERM');
      const exit = await within(srv.exited, 15_000);
      assert.deepEqual(exit, { code: 0, signal: null }, `the server shut down cleanly on SIGTERM after the fuzz ${seedNote}\n${tail(srv.output())}`);

      const output = srv.output();
      const log = parseLog(output);
      const messages = report.frames;
      const isMutated = (kind: string) => (MUTATION_KINDS as readonly string[]).includes(kind) || kind.endsWith('-sweep') || kind.startsWith('terminal:');
      const mutated = Object.entries(report.byKind).filter(([k]) => isMutated(k)).reduce((a, [, n]) => a + n, 0);

      const ignored = log.filter((l) => l.msg === 'media stream message ignored').length;
      const twilioWarnings = log.filter((l) => typeof l['code'] === 'string' && (l['code'] as string).startsWith('CB_TWILIO_')).length;
      const echoes = results.map((result, i) => analyseEcho(result, NORMAL_TONES_HZ[i]!, [...NORMAL_TONES_HZ.filter((f) => f !== NORMAL_TONES_HZ[i]), FUZZ_TONE_HZ], MAX_ECHO_GAP_MS));
      const reasons = new Map<string, number>();
      for (const c of conns) if (c.close?.byServer) reasons.set(`${c.close.code} ${c.close.reason || '(no reason)'}`, (reasons.get(`${c.close.code} ${c.close.reason || '(no reason)'}`) ?? 0) + 1);
      const tokenedServed = conns.filter((c) => c.group === 'tokened' && c.mediaReceived > 0).length;
      console.log(
        `# bridge-fuzz-twilio: seed ${SEED}; ${messages} frames (${mutated} mutated) on ${conns.length} connections ` +
          `(${TOKENED_STREAMS} tokened, ${UNTOKENED_STREAMS} untokened, ${RAPID_CONNECTS} rapid) in ${(report.durationMs / 1000).toFixed(1)} s; ` +
          `${ignored} "message ignored" lines, ${twilioWarnings} CB_TWILIO_* lines, ${log.length} log lines in all; ` +
          `normal calls: longest echo gaps ${echoes.map((e) => e.maxGapMs).join('/')} ms, echoed ${echoes.map((e) => e.echoedMs).join('/')} ms of ${TONE_MS}, worst THD+N ${echoes.map((e) => e.worstWindowThdnDb.toFixed(0)).join('/')} dB; ${tokenedServed}/${TOKENED_STREAMS} tokened streams served`,
      );
      console.log(`# frames by kind: ${Object.entries(report.byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
      console.log(`# server closes: ${[...reasons].map(([k, n]) => `${k} ×${n}`).join(', ')}`);

      // --- nothing the server printed is a crash, and nothing is unstructured ------------------
      const raw = output.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
      assert.deepEqual(raw, [], `the server printed only structured log lines (no stack traces) ${seedNote}`);
      const errors = log.filter((l) => l.level >= 50);
      assert.deepEqual(errors.map((l) => l.msg), [], `no error-level log lines: bad input is a warning, not an error ${seedNote}`);
      assert.equal(log.filter((l) => /listener threw|handler failed/.test(l.msg)).length, 0, `no listener or handler threw ${seedNote}`);

      // --- the server's event loop was never held by its own work ----------------------------
      // (Its first call's module loading and compiling is over before the normal calls start.)
      const stalls = log.filter((l) => l['loopMonitor'] === true && Date.parse(String(l['time'])) >= callsStartedAt);
      // Running that long inside one stall is the server's own synchronous work, however loaded
      // the machine (on a busy machine a held loop is also preempted: waiting does not excuse it).
      const busy = stalls.filter((l) => (l['runMs'] as number) >= MAX_BUSY_STALL_MS);
      console.log(`# event-loop stalls of the server during the calls: ${stalls.map((l) => `${l['stallMs']} ms (ran ${l['runMs']}, waited ${l['waitMs']})`).join(', ') || 'none'}`);
      assert.deepEqual(busy.map((l) => `${l['stallMs']} ms (ran ${l['runMs']})`), [], `the server's own work never held its event loop for ${MAX_BUSY_STALL_MS} ms of CPU or more ${seedNote}`);

      // --- the 3 normal calls were undisturbed ----------------------------------------------
      const connByCallSid = new Map(log.filter((l) => l.msg === 'media stream started').map((l) => [l['callSid'] as string, l['conn'] as number]));
      for (const [i, result] of results.entries()) {
        const echo = echoes[i]!;
        const label = `normal call ${i} (${NORMAL_TONES_HZ[i]} Hz) ${seedNote}`;
        assert.equal(result.outcome.endedBy, 'caller', `${label}: ended by the caller hanging up (${JSON.stringify(result.outcome)})`);
        assert.equal(result.outcome.stream?.by, 'caller', `${label}: its stream was not closed by the server`);
        assert.deepEqual(result.protocolErrors, [], `${label}: no protocol errors`);
        // The echo starts within MAX_ECHO_ONSET_MS of the tone, not counting the time the echo path
        // (the server, this process) sat in the run queue meanwhile: compared with the scheduler's
        // figures for the same stretch, as for the gaps below.
        assert.ok(echo.onsetMs !== undefined, `${label}: the echo started`);
        const toneAt = result.originPerfMs + echo.toneAtCallMs;
        const onsetWaits = { server: sched.server.between(toneAt, toneAt + echo.onsetMs), test: sched.test.between(toneAt, toneAt + echo.onsetMs) };
        const onsetWaitMs = onsetWaits.server.waitMs + onsetWaits.test.waitMs;
        if (echo.onsetMs >= MAX_ECHO_ONSET_MS) console.log(`# ${label}: echo onset ${echo.onsetMs} ms while the echo path waited for a CPU ${onsetWaitMs} ms: ${JSON.stringify(onsetWaits)}`);
        assert.ok(echo.onsetMs - onsetWaitMs < MAX_ECHO_ONSET_MS, `${label}: the echo started within ${MAX_ECHO_ONSET_MS} ms of the tone, run-queue waits aside (onset ${echo.onsetMs} ms, waits ${JSON.stringify(onsetWaits)})`);
        // A gap: the audio due at its start was late by the jitter buffer plus the gap; look that far back.
        const gaps = echo.longGaps.map((g) => {
          const endsAt = result.originPerfMs + g.atCallMs + g.ms;
          const server = sched.server.between(endsAt - g.ms - JITTER_BUFFER_MS - 300, endsAt);
          const test = sched.test.between(endsAt - g.ms - JITTER_BUFFER_MS - 300, endsAt);
          return { ...g, server, test, excused: server.waitMs + test.waitMs >= g.ms / 2 };
        });
        const excused = gaps.filter((g) => g.excused);
        if (excused.length > 0) console.log(`# ${label}: echo gaps while the echo path waited for a CPU (not counted): ${JSON.stringify(excused)}`);
        const counted = gaps.filter((g) => !g.excused);
        assert.deepEqual(counted, [], `${label}: no gap in the echo while talking longer than ${MAX_ECHO_GAP_MS} ms (run-queue watch ${sched.server.available ? 'on' : 'unavailable'}): ${JSON.stringify(counted)}`);
        assert.ok(Math.abs(echo.echoedMs - TONE_MS) <= 10, `${label}: the echo is as long as the tone (${echo.echoedMs} ms of ${TONE_MS} ms): nothing lost or doubled`);
        assert.ok(echo.worstForeign < echo.ownAmplitude / 100, `${label}: no other call's tone: strongest foreign tone ${echo.worstForeign.toFixed(1)} vs own ${echo.ownAmplitude.toFixed(0)}`);
        assert.ok(echo.worstWindowThdnDb >= 20, `${label}: every 100 ms of the echo is its own clean tone (worst THD+N ${echo.worstWindowThdnDb.toFixed(1)} dB, ${echo.worstWindowAtMs} ms into the echo): nothing lost, doubled or mixed in`);
        const finished = log.find((l) => l.msg === 'call finished' && l['callSid'] === normalSids[i]);
        assert.ok(finished, `${label}: the server logged the call as finished`);
        assert.ok(['completed', 'caller_hung_up'].includes(finished['outcome'] as string), `${label}: outcome ${String(finished['outcome'])}`);
        assert.equal(finished['reconnects'], 0, `${label}: its Gemini session never dropped`);
        const conn = connByCallSid.get(normalSids[i]!);
        assert.ok(conn !== undefined, `${label}: its media stream is in the log`);
        const warnings = log.filter((l) => l['conn'] === conn && l.level >= 40);
        assert.deepEqual(warnings.map((l) => l.msg), [], `${label}: no warnings about its stream`);
      }

      // --- each fuzz connection kept running or was closed with a logged reason --------------
      // The server's `conn` of a client socket: same peer port, connected at about the same time
      // (a port can be used again by a later socket).
      const connected = log.filter((x) => x.msg === 'media stream connected').map((l) => ({ port: Number(String(l['remote']).split(':').at(-1)), at: Date.parse(String(l['time'])), conn: l['conn'] as number }));
      const serverConnOf = (c: (typeof conns)[number]) =>
        connected.filter((x) => x.port === c.localPort && Math.abs(x.at - c.openedAt!) < 1000).sort((x, y) => Math.abs(x.at - c.openedAt!) - Math.abs(y.at - c.openedAt!))[0]?.conn;
      for (const conn of conns) {
        const where = `${conn.label} (ending ${conn.ending}, sent ${conn.sent}, close ${JSON.stringify(conn.close)}, error ${conn.error ?? '-'}) ${seedNote}`;
        if (conn.group === 'rapid' && conn.ending === 'abort-handshake') continue; // may never reach the server
        assert.ok(conn.localPort !== undefined, `${where}: the upgrade was accepted`);
        const serverConn = serverConnOf(conn);
        assert.ok(serverConn !== undefined, `${where}: the server logged its connection`);
        const lines = log.filter((l) => l['conn'] === serverConn);
        const codes = lines.map((l) => l['code']).filter((c): c is string => typeof c === 'string');
        if (conn.close?.byServer) {
          assert.ok(codes.some((c) => c.startsWith('CB_TWILIO_')), `${where}: closed by the server with a logged CB_TWILIO_* code (its lines: ${JSON.stringify(lines.map((l) => [l.msg, l['code'], l['kind']]))})`);
          const expected = expectedCode(conn.close.code, conn.close.reason);
          assert.ok(expected === undefined || codes.includes(expected), `${where}: close ${conn.close.code} is explained by ${expected} in the log (found ${codes.join(', ')})`);
        }
        if (conn.terminal && TERMINAL_CLOSE_CODE[conn.terminal] !== undefined && (conn.close?.byServer ?? false)) {
          // The server reads a socket's frames in order, and the peer sends its terminal frame last
          // without waiting for the server's answer to the frames before it. So the close is the
          // terminal frame's, unless an earlier frame had already got the stream refused: an
          // untokened stream's mutated start refused for its token (logged, checked above; only the
          // second half of the untokened streams send starts: test/support/twilio-fuzz-driver.ts).
          // Which of the two reaches the peer first is a race (a busy server answers later), not a bug.
          const sendsStarts = conn.group === 'untokened' && Number(conn.label.split('#')[1]) >= UNTOKENED_STREAMS / 2;
          const refusedEarlier = sendsStarts && conn.close?.code === 1008 && conn.close.reason === 'invalid stream token' && codes.includes('CB_TWILIO_STREAM_TOKEN_INVALID');
          if (!refusedEarlier) assert.equal(conn.close?.code, TERMINAL_CLOSE_CODE[conn.terminal], `${where}: a ${conn.terminal} frame closes with ${TERMINAL_CLOSE_CODE[conn.terminal]}`);
        }
        if (conn.group === 'tokened') {
          assert.ok(!conn.error?.startsWith('the server did not close'), `${where}: ${conn.error}`);
          assert.ok(codes.length > 0 || conn.sent < 50, `${where}: its malformed input was logged`);
          assert.ok(lines.some((l) => l.msg === 'media stream started'), `${where}: got past start with its token despite the garbage before it`);
          const callLines = log.filter((l) => l['callSid'] === conn.callSid).map((l) => [l.msg, l['code'], l['kind'], l['reason'], l['outcome']]);
          assert.ok(conn.mediaReceived > 0, `${where}: the bridge served it (echoed media came back: ${conn.mediaReceived}); its call's lines: ${JSON.stringify(callLines)}`);
          if (!conn.terminal) assert.ok(!conn.close?.byServer, `${where}: no terminal frame, so the server kept it running until the client left`);
        }
        // Rate-limited: one line per kind per stream, however many bad frames it sent.
        const perKind = new Map<string, number>();
        for (const l of lines.filter((x) => x.msg === 'media stream message ignored')) perKind.set(String(l['kind']), (perKind.get(String(l['kind'])) ?? 0) + 1);
        for (const [kind, n] of perKind) assert.equal(n, 1, `${where}: "${kind}" logged ${n} times`);
      }
      // Sent for a fixed time: about 4000 on an idle 2-core machine, about 3000 under a parallel suite.
      assert.ok(mutated >= 1000, `thousands of mutated messages were sent (${mutated}) ${seedNote}`);
      // Rate-limited: the lines are bounded by what was connected (a line per kind per tokened
      // stream; a refusal or close per other connection), not by how many frames the machine
      // managed to send in the time (a loaded machine sends fewer, a fast one more).
      const kinds = Object.keys(report.byKind).length;
      const bound = TOKENED_STREAMS * kinds + (conns.length - TOKENED_STREAMS) * 3;
      assert.ok(twilioWarnings <= bound, `malformed input is logged rate-limited: ${twilioWarnings} CB_TWILIO_* lines for ${mutated} mutated messages on ${conns.length} connections (bound ${bound}) ${seedNote}`);
      assert.ok(twilioWarnings < mutated / 5, `far fewer lines than bad messages: ${twilioWarnings} CB_TWILIO_* lines for ${mutated} mutated messages ${seedNote}`);
      assert.ok(log.length < messages / 2, `the whole log (${log.length} lines) is far smaller than the input (${messages} frames) ${seedNote}`);
    } finally {
      driver?.kill();
      if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The CB code that must explain a server close (undefined: any CB_TWILIO_* code will do). */
function expectedCode(code: number, reason: string): string | undefined {
  if (code === 1008 && reason === 'no start') return 'CB_TWILIO_NO_START';
  if (code === 1008 && reason === 'invalid stream token') return 'CB_TWILIO_STREAM_TOKEN_INVALID';
  if (code === 1009 || code === 1007 || code === 1002) return 'CB_TWILIO_MALFORMED_MESSAGE';
  return undefined;
}

