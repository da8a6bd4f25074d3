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
 * Reproduce a run with FUZZ_SEED=<seed> (printed at the start and in every failure message).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import twilio from 'twilio';
import { startEmulator } from '../../src/emulator/index.js';
import { placeCall, type CallResult } from '../../src/simulator/index.js';
import { fitSine } from '../../src/audio/analysis.js';
import { testFlow } from '../support/e2e.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import {
  Prng, ValidMessages, mutate, MUTATION_KINDS, overCapText, invalidUtf8, terminalBytes, TERMINAL_CLOSE_CODE,
  type FuzzFrame, type MutationKind, type StreamIds, type TerminalKind,
} from '../support/twilio-fuzz.js';

const SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const AUTH_TOKEN = 'fuzz-test-auth-token-0123456789';
const ACCOUNT_SID = `AC${'f'.repeat(32)}`;
/** The normal calls: distinct tones, none a harmonic of another (nor of the fuzz streams' 1250 Hz). */
const NORMAL_TONES_HZ = [450, 650, 950] as const;
const FUZZ_TONE_HZ = 1250;
const TONE_MS = 11_000;
const FUZZ_WINDOW_MS = 7_000;
const SCALE = Number(process.env['FUZZ_SCALE'] ?? 1);
const TOKENED_STREAMS = Math.round(10 * SCALE);
const UNTOKENED_STREAMS = Math.round(24 * SCALE);
const RAPID_CONNECTS = Math.round(40 * SCALE);
/** A gap in a caller's echo longer than this while it talks is a disturbance. */
const MAX_ECHO_GAP_MS = 100;

const TERMINAL_KINDS: readonly TerminalKind[] = ['invalid-utf8', 'over-cap', 'unmasked-frame', 'reserved-opcode', 'rsv1-set', 'truncated-frame'];
/** Mutations that can never turn into an acceptable `start` (safe before a tokened stream's own start). */
const NEVER_A_START: readonly MutationKind[] = [
  'non-json', 'binary-frame', 'event-wrong-type', 'unknown-event', 'odd-dtmf', 'odd-mark', 'bad-base64', 'odd-payload',
  'wrong-stream-sid', 'deep-nesting', 'huge-numbers', 'big-timestamp',
];

type LogLine = Record<string, unknown> & { level: number; msg: string };

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One fuzzing connection and what happened to it. */
interface FuzzConn {
  label: string;
  group: 'tokened' | 'untokened' | 'rapid';
  ids: StreamIds;
  localPort: number | undefined;
  sent: number;
  /** The last thing this connection did on purpose. */
  ending: string;
  /** The terminal frame sent, if any (the server must close). */
  terminal?: TerminalKind;
  clientClosing: boolean;
  close?: { code: number; reason: string; byServer: boolean };
  mediaReceived: number;
  error?: string;
}

class Tally {
  readonly byKind = new Map<string, number>();
  total = 0;
  add(kind: string): void {
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    this.total++;
  }
}

describe('bridge fuzz: the Twilio side', () => {
  it(`thousands of mutated Twilio messages neither crash the server nor disturb 3 normal calls (FUZZ_SEED=${SEED})`, async () => {
    console.log(`# bridge-fuzz-twilio: FUZZ_SEED=${SEED}`);
    const seedNote = `(FUZZ_SEED=${SEED})`;
    const dir = mkdtempSync(join(tmpdir(), 'cb-fuzz-'));
    mkdirSync(join(dir, 'flows'));
    mkdirSync(join(dir, 'tools'));
    writeFileSync(join(dir, 'flows', 'echo.yaml'), testFlow({ model: 'gemini-emulator-echo' }));
    const emulator = await startEmulator({
      port: 0,
      host: '127.0.0.1',
      seed: SEED,
      recordAudioPayloads: false,
      maxRecordedPerSession: 500,
      timing: { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 3, turnCompleteDelayMs: 20 },
    });
    let server: ServerProcess | undefined;
    const conns: FuzzConn[] = [];
    const sockets = new Set<WebSocket>();
    try {
      server = await startServerProcess({
        DATA_DIR: join(dir, 'data'),
        FLOWS_DIR: join(dir, 'flows'),
        TOOLS_DIR: join(dir, 'tools'),
        GEMINI_LIVE_URL: emulator.url,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        LOG_LEVEL: 'info',
        SHUTDOWN_DEADLINE_MS: '3000',
      });
      const srv = server;
      const url = srv.url;
      const wsUrl = `${url.replace(/^http/, 'ws')}/twilio/media`;
      const upgradeSignature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, wsUrl, {});
      const tally = new Tally();

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

      /** A real, signed voice webhook; returns the per-call token from the TwiML. */
      const webhook = async (callSid: string): Promise<string> => {
        const form = { CallSid: callSid, AccountSid: ACCOUNT_SID, From: '+15557654321', To: '+15550100100', CallStatus: 'ringing', Direction: 'inbound' };
        const res = await fetch(`${url}/twilio/voice`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${url}/twilio/voice`, form) },
          body: new URLSearchParams(form).toString(),
        });
        const body = await res.text();
        const token = /<Parameter name="callbridgeToken" value="([^"]+)"/.exec(body)?.[1];
        assert.ok(res.status === 200 && token, `the webhook for ${callSid} answered a stream with a token: ${res.status} ${body.slice(0, 200)} ${seedNote}`);
        return token;
      };

      /** Opens a signed media WebSocket for `conn`; resolves once open (or undefined if it never opened). */
      const open = (conn: FuzzConn, onSocket?: (ws: WebSocket) => void): Promise<WebSocket | undefined> =>
        new Promise((resolve) => {
          const ws = new WebSocket(wsUrl, { headers: { 'x-twilio-signature': upgradeSignature } });
          sockets.add(ws);
          let rawSocket: Socket | undefined;
          ws.on('upgrade', (res: IncomingMessage) => {
            rawSocket = res.socket as Socket;
            conn.localPort = rawSocket.localPort;
          });
          ws.on('message', (data, isBinary) => {
            if (!isBinary && data.toString().startsWith('{"event":"media"')) conn.mediaReceived++;
          });
          ws.on('error', (err) => {
            conn.error ??= err.message;
          });
          ws.on('close', (code, reason) => {
            sockets.delete(ws);
            conn.close = { code, reason: reason.toString(), byServer: !conn.clientClosing };
            resolve(undefined);
          });
          ws.once('open', () => resolve(ws));
          ws.once('unexpected-response', (_req, res: IncomingMessage) => {
            conn.error = `HTTP ${res.statusCode}`;
            res.resume();
            resolve(undefined);
          });
          onSocket?.(ws);
        });

      const send = (ws: WebSocket, conn: FuzzConn, frame: FuzzFrame): boolean => {
        if (ws.readyState !== WebSocket.OPEN) return false;
        ws.send(frame.data, { binary: frame.binary === true });
        conn.sent++;
        tally.add(frame.kind);
        return true;
      };
      const sendJson = (ws: WebSocket, conn: FuzzConn, kind: string, msg: unknown) => send(ws, conn, { kind, data: JSON.stringify(msg) });

      /** Waits for the connection to close (upper bound), returning whether it did. */
      const closedWithin = (ws: WebSocket, ms: number) =>
        new Promise<boolean>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve(true);
          const timer = setTimeout(() => resolve(false), ms);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });

      /** Sends a frame that the WebSocket layer must refuse; the server then closes the connection. */
      const sendTerminal = (ws: WebSocket, conn: FuzzConn, m: ValidMessages, rng: Prng, kind: TerminalKind) => {
        conn.terminal = kind;
        conn.ending = `terminal:${kind}`;
        tally.add(`terminal:${kind}`);
        conn.sent++;
        if (kind === 'invalid-utf8') return ws.send(invalidUtf8(m, rng), { binary: false });
        if (kind === 'over-cap') return ws.send(overCapText(m));
        const raw = (ws as unknown as { _socket: Socket })._socket;
        raw.write(terminalBytes(kind, m));
        if (kind === 'truncated-frame') {
          conn.clientClosing = true;
          raw.destroy();
        }
      };

      const endByClient = async (ws: WebSocket, conn: FuzzConn, how: 'close' | 'terminate') => {
        if (ws.readyState !== WebSocket.OPEN) return;
        conn.clientClosing = true;
        if (how === 'close') ws.close(1000, 'fuzz done');
        else ws.terminate();
        await closedWithin(ws, 3000);
      };

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
          playback: { jitterBufferMs: 60 },
          maxDurationMs: TONE_MS + 20_000,
          script: [{ silence: 300 }, { tone: { hz, durationMs: TONE_MS, amplitude: 8000 } }, { silence: 500 }],
        }),
      );
      await waitForLog((log) => normalSids.every((sid) => log.some((l) => l.msg === 'media stream started' && l['callSid'] === sid)), 15_000, 'the normal calls’ streams starting');

      // --- fuzzing streams that get past `start` (a real token from a real webhook) ------------
      const rng = new Prng(SEED);
      const runTokened = async (i: number) => {
        const r = rng.fork(1000 + i);
        await delay(r.int(0, 800));
        const callSid = `CA${'f'.repeat(28)}${String(i).padStart(4, '0')}`;
        const ids: StreamIds = { accountSid: ACCOUNT_SID, callSid, streamSid: `MZ${'f'.repeat(28)}${String(i).padStart(4, '0')}`, token: await webhook(callSid) };
        const conn: FuzzConn = { label: `tokened#${i}`, group: 'tokened', ids, localPort: undefined, sent: 0, ending: 'client-close', clientClosing: false, mediaReceived: 0 };
        conns.push(conn);
        const ws = await open(conn);
        if (!ws) return;
        const m = new ValidMessages(ids, FUZZ_TONE_HZ);
        // Before start: out-of-order events and garbage that can never pass for a start.
        if (r.chance(0.7)) sendJson(ws, conn, 'connected', m.connected());
        for (let n = r.int(0, 8); n > 0; n--) {
          if (r.chance(0.5)) sendJson(ws, conn, 'before-start', r.pick([m.media(), m.mark(), m.dtmf(), m.stop(), m.connected()]));
          else send(ws, conn, mutate(r, m, r.pick(NEVER_A_START)));
        }
        sendJson(ws, conn, 'start', m.start());
        const endAt = performance.now() + FUZZ_WINDOW_MS - r.int(0, 2000);
        while (performance.now() < endAt && ws.readyState === WebSocket.OPEN) {
          sendJson(ws, conn, 'valid-media', m.media());
          for (let n = r.int(0, 3); n > 0; n--) {
            const roll = r.next();
            if (roll < 0.04) sendJson(ws, conn, 'duplicate-start', r.chance(0.5) ? m.start() : new ValidMessages({ ...ids, streamSid: `MZ${'e'.repeat(32)}` }).start());
            else if (roll < 0.06) sendJson(ws, conn, 'connected-after-start', m.connected());
            else send(ws, conn, mutate(r, m));
          }
          await delay(20);
        }
        const ending = r.next();
        if (ending < 0.35) {
          // Twilio's `stop`, then more of everything: all of it must be ignored.
          conn.ending = 'stop-then-more';
          sendJson(ws, conn, 'stop', m.stop());
          for (let n = 0; n < 30; n++) {
            if (n % 3 === 0) sendJson(ws, conn, 'after-stop', r.pick([m.media(), m.start(), m.mark(), m.dtmf(), m.stop()]));
            else send(ws, conn, mutate(r, m));
          }
          await delay(100);
        } else if (ending < 0.75) {
          sendTerminal(ws, conn, m, r, TERMINAL_KINDS[i % TERMINAL_KINDS.length]!);
          if (!(await closedWithin(ws, 5000))) conn.error = 'the server did not close after a terminal frame';
          return;
        }
        // Still open: the server kept it running through all of that.
        if (ws.readyState === WebSocket.OPEN) await endByClient(ws, conn, r.chance(0.8) ? 'close' : 'terminate');
      };

      // --- fuzzing streams that never get a valid token ----------------------------------------
      const runUntokened = async (i: number) => {
        const r = rng.fork(2000 + i);
        await delay(r.int(0, FUZZ_WINDOW_MS - 2500));
        const callSid = `CA${'d'.repeat(28)}${String(i).padStart(4, '0')}`;
        const ids: StreamIds = { accountSid: ACCOUNT_SID, callSid, streamSid: `MZ${'d'.repeat(28)}${String(i).padStart(4, '0')}` };
        const conn: FuzzConn = { label: `untokened#${i}`, group: 'untokened', ids, localPort: undefined, sent: 0, ending: 'client-close', clientClosing: false, mediaReceived: 0 };
        conns.push(conn);
        const ws = await open(conn);
        if (!ws) return;
        const m = new ValidMessages(ids, FUZZ_TONE_HZ);
        const frames = r.int(40, 160);
        for (let n = 0; n < frames && ws.readyState === WebSocket.OPEN; n++) {
          const roll = r.next();
          if (roll < 0.15) sendJson(ws, conn, 'before-start', r.pick([m.media(), m.media(), m.mark(), m.dtmf(), m.stop(), m.connected()]));
          else send(ws, conn, mutate(r, m));
          if (n % 8 === 7) await delay(r.int(5, 40));
        }
        if (ws.readyState !== WebSocket.OPEN) return; // a mutated start was read as a start (and refused), or similar
        const ending = r.int(0, 4);
        if (ending === 0) {
          conn.ending = 'start-without-token';
          sendJson(ws, conn, 'start-bad-token', m.start(r.chance(0.5) ? {} : { callbridgeToken: r.pick(['', 'v1.x.y', `v1.${'z'.repeat(8)}.${'A'.repeat(43)}`]) }));
          await closedWithin(ws, 5000);
        } else if (ending === 1) {
          conn.ending = 'no-start';
          await closedWithin(ws, 8000);
        } else if (ending === 2) {
          sendTerminal(ws, conn, m, r, r.pick(TERMINAL_KINDS));
          await closedWithin(ws, 5000);
        } else {
          await endByClient(ws, conn, ending === 3 ? 'close' : 'terminate');
        }
      };

      // --- connect/close storms ----------------------------------------------------------------
      const runRapid = async (i: number) => {
        const r = rng.fork(3000 + i);
        await delay(r.int(0, FUZZ_WINDOW_MS - 500));
        const ids: StreamIds = { accountSid: ACCOUNT_SID, callSid: `CA${'c'.repeat(32)}`, streamSid: `MZ${'c'.repeat(32)}` };
        const conn: FuzzConn = { label: `rapid#${i}`, group: 'rapid', ids, localPort: undefined, sent: 0, ending: '', clientClosing: false, mediaReceived: 0 };
        conns.push(conn);
        const how = r.pick(['close-at-once', 'terminate-at-once', 'abort-handshake', 'one-frame-then-close', 'garbage-then-terminate'] as const);
        conn.ending = how;
        tally.add(`rapid:${how}`);
        if (how === 'abort-handshake') {
          conn.clientClosing = true;
          await open(conn, (ws) => setImmediate(() => ws.terminate()));
          return;
        }
        const ws = await open(conn);
        if (!ws) return;
        const m = new ValidMessages(ids, FUZZ_TONE_HZ);
        if (how === 'one-frame-then-close') send(ws, conn, mutate(r, m));
        if (how === 'garbage-then-terminate') for (let n = 0; n < 10; n++) send(ws, conn, mutate(r, m));
        await endByClient(ws, conn, how === 'close-at-once' || how === 'one-frame-then-close' ? 'close' : 'terminate');
      };

      const fuzzStartedAt = performance.now();
      await Promise.all([
        ...Array.from({ length: TOKENED_STREAMS }, (_, i) => runTokened(i)),
        ...Array.from({ length: UNTOKENED_STREAMS }, (_, i) => runUntokened(i)),
        ...Array.from({ length: RAPID_CONNECTS }, (_, i) => runRapid(i)),
      ]);
      const fuzzMs = performance.now() - fuzzStartedAt;
      const results = await Promise.all(normalCalls);

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

      // Every fuzz socket still open is closed by us now; then a graceful shutdown must work.
      for (const ws of sockets) ws.terminate();
      srv.child.kill('SIGTERM');
      const exit = await Promise.race([srv.exited, delay(15_000).then(() => undefined)]);
      assert.deepEqual(exit, { code: 0, signal: null }, `the server shut down cleanly on SIGTERM after the fuzz ${seedNote}\n${tail(srv.output())}`);

      const output = srv.output();
      const log = parseLog(output);
      const messages = tally.total;
      const mutated = [...tally.byKind].filter(([k]) => (MUTATION_KINDS as readonly string[]).includes(k)).reduce((a, [, n]) => a + n, 0);

      // --- nothing the server printed is a crash, and nothing is unstructured ------------------
      const raw = output.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
      assert.deepEqual(raw, [], `the server printed only structured log lines (no stack traces) ${seedNote}`);
      const errors = log.filter((l) => l.level >= 50);
      assert.deepEqual(errors.map((l) => l.msg), [], `no error-level log lines: bad input is a warning, not an error ${seedNote}`);
      assert.equal(log.filter((l) => /listener threw|handler failed/.test(l.msg)).length, 0, `no listener or handler threw ${seedNote}`);

      // --- the 3 normal calls were undisturbed ----------------------------------------------
      const connByCallSid = new Map(log.filter((l) => l.msg === 'media stream started').map((l) => [l['callSid'] as string, l['conn'] as number]));
      const gaps: number[] = [];
      for (const [i, result] of results.entries()) {
        const hz = NORMAL_TONES_HZ[i]!;
        const label = `normal call ${i} (${hz} Hz) ${seedNote}`;
        assert.equal(result.outcome.endedBy, 'caller', `${label}: ended by the caller hanging up (${JSON.stringify(result.outcome)})`);
        assert.equal(result.outcome.stream?.by, 'caller', `${label}: its stream was not closed by the server`);
        assert.deepEqual(result.protocolErrors, [], `${label}: no protocol errors`);
        const echo = analyseEcho(result, hz, [...NORMAL_TONES_HZ.filter((f) => f !== hz), FUZZ_TONE_HZ]);
        gaps.push(echo.maxGapMs);
        console.log(`# DEBUG ${label}: ${JSON.stringify(echo)}`);
        assert.ok(echo.onsetMs !== undefined && echo.onsetMs < 1000, `${label}: the echo started within 1 s of the tone (${echo.onsetMs} ms)`);
        assert.ok(echo.heardMs >= TONE_MS - 200, `${label}: heard ${echo.heardMs} ms of its ${TONE_MS} ms echo`);
        assert.ok(echo.maxGapMs <= MAX_ECHO_GAP_MS, `${label}: longest gap in the echo while talking ${echo.maxGapMs} ms (at ${echo.maxGapAtMs} ms) ≤ ${MAX_ECHO_GAP_MS} ms`);
        assert.ok(echo.worstForeign < echo.ownAmplitude / 100, `${label}: no other call's tone: strongest foreign tone ${echo.worstForeign.toFixed(1)} vs own ${echo.ownAmplitude.toFixed(0)}`);
        assert.ok(echo.worstWindowThdnDb >= 20, `${label}: every 100 ms of the echo is clean (worst THD+N ${echo.worstWindowThdnDb.toFixed(1)} dB at ${echo.worstWindowAtMs} ms): nothing mixed in`);
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
      const connByPort = new Map<number, number[]>();
      for (const l of log.filter((x) => x.msg === 'media stream connected')) {
        const port = Number(String(l['remote']).split(':').at(-1));
        connByPort.set(port, [...(connByPort.get(port) ?? []), l['conn'] as number]);
      }
      const linesOf = (conn: FuzzConn) => {
        const ids = conn.localPort === undefined ? [] : (connByPort.get(conn.localPort) ?? []);
        return log.filter((l) => ids.includes(l['conn'] as number));
      };
      const reasons = new Map<string, number>();
      for (const conn of conns) {
        const where = `${conn.label} (ending ${conn.ending}, sent ${conn.sent}, close ${JSON.stringify(conn.close)}, error ${conn.error ?? '-'}) ${seedNote}`;
        if (conn.group === 'rapid' && conn.ending === 'abort-handshake') continue; // may never reach the server
        assert.ok(conn.localPort !== undefined, `${where}: the upgrade was accepted`);
        assert.equal(connByPort.get(conn.localPort)?.length, 1, `${where}: exactly one server connection for its port`);
        const lines = linesOf(conn);
        const codes = lines.map((l) => l['code']).filter((c): c is string => typeof c === 'string');
        if (conn.close?.byServer) {
          const key = `${conn.close.code} ${conn.close.reason || '(no reason)'}`;
          reasons.set(key, (reasons.get(key) ?? 0) + 1);
          assert.ok(codes.some((c) => c.startsWith('CB_TWILIO_')), `${where}: closed by the server with a logged CB_TWILIO_* code (its lines: ${JSON.stringify(lines.map((l) => [l.msg, l['code'], l['kind']]))})`);
          const expected = expectedCode(conn.close.code, conn.close.reason);
          assert.ok(expected === undefined || codes.includes(expected), `${where}: close ${conn.close.code} is explained by ${expected} in the log (found ${codes.join(', ')})`);
        }
        if (conn.terminal && TERMINAL_CLOSE_CODE[conn.terminal] !== undefined && (conn.close?.byServer ?? false)) {
          assert.equal(conn.close?.code, TERMINAL_CLOSE_CODE[conn.terminal], `${where}: a ${conn.terminal} frame closes with ${TERMINAL_CLOSE_CODE[conn.terminal]}`);
        }
        if (conn.group === 'tokened') {
          assert.ok(!conn.error?.startsWith('the server did not close'), `${where}: ${conn.error}`);
          assert.ok(codes.length > 0 || conn.sent < 50, `${where}: its malformed input was logged`);
          assert.ok(lines.some((l) => l.msg === 'media stream started'), `${where}: got past start with its token despite the garbage before it`);
          assert.ok(conn.mediaReceived > 0, `${where}: the bridge served it (echoed media came back: ${conn.mediaReceived})`);
          if (!conn.terminal) assert.ok(!conn.close?.byServer, `${where}: no terminal frame, so the server kept it running until the client left`);
        }
        // Rate-limited: one line per kind per stream, however many bad frames it sent.
        const perKind = new Map<string, number>();
        for (const l of lines.filter((x) => x.msg === 'media stream message ignored')) perKind.set(String(l['kind']), (perKind.get(String(l['kind'])) ?? 0) + 1);
        for (const [kind, n] of perKind) assert.equal(n, 1, `${where}: "${kind}" logged ${n} times`);
      }
      const ignored = log.filter((l) => l.msg === 'media stream message ignored').length;
      const twilioWarnings = log.filter((l) => typeof l['code'] === 'string' && (l['code'] as string).startsWith('CB_TWILIO_')).length;
      assert.ok(mutated >= 3000, `thousands of mutated messages were sent (${mutated}) ${seedNote}`);
      assert.ok(twilioWarnings < mutated / 10, `malformed input is logged rate-limited: ${twilioWarnings} CB_TWILIO_* lines for ${mutated} mutated messages ${seedNote}`);
      assert.ok(log.length < messages / 2, `the whole log (${log.length} lines) is far smaller than the input (${messages} frames) ${seedNote}`);
      const tokenedServed = conns.filter((c) => c.group === 'tokened' && c.mediaReceived > 0).length;

      console.log(
        `# bridge-fuzz-twilio: seed ${SEED}; ${messages} frames (${mutated} mutated) on ${conns.length} connections ` +
          `(${TOKENED_STREAMS} tokened, ${UNTOKENED_STREAMS} untokened, ${RAPID_CONNECTS} rapid) in ${(fuzzMs / 1000).toFixed(1)} s; ` +
          `${ignored} "message ignored" lines, ${twilioWarnings} CB_TWILIO_* lines, ${log.length} log lines in all; ` +
          `normal calls' longest echo gaps ${gaps.join('/')} ms; ${tokenedServed}/${TOKENED_STREAMS} tokened streams served`,
      );
      console.log(`# frames by kind: ${[...tally.byKind].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
      console.log(`# server closes: ${[...reasons].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    } finally {
      for (const ws of sockets) ws.terminate();
      if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function parseLog(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of output.split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // a line cut in the middle (still being written)
    }
  }
  return lines;
}

function tail(output: string): string {
  return output.split('\n').slice(-30).join('\n');
}

/** The CB code that must explain a server close (undefined: any CB_TWILIO_* code will do). */
function expectedCode(code: number, reason: string): string | undefined {
  if (code === 1008 && reason === 'no start') return 'CB_TWILIO_NO_START';
  if (code === 1008 && reason === 'invalid stream token') return 'CB_TWILIO_STREAM_TOKEN_INVALID';
  if (code === 1009 || code === 1007 || code === 1002) return 'CB_TWILIO_MALFORMED_MESSAGE';
  return undefined;
}

interface EchoAnalysis {
  ownAmplitude: number;
  /** Call time of the first heard echo, from the start of the tone the caller sent. */
  onsetMs: number | undefined;
  heardMs: number;
  maxGapMs: number;
  maxGapAtMs: number;
  worstForeign: number;
  worstWindowThdnDb: number;
  worstWindowAtMs: number;
}

/**
 * What a normal caller heard while it talked: its own tone echoed back, continuously (20 ms
 * windows), with nothing else in it (other tones over the whole span; THD+N per 100 ms window).
 */
function analyseEcho(result: CallResult, hz: number, foreignHz: readonly number[]): EchoAnalysis {
  const { heard, sent } = result;
  const frame = 160;
  // Where the caller's tone is on the call clock (from what it sent).
  let toneStart = -1;
  let toneEnd = -1;
  for (let i = 0; i < sent.length; i++) {
    if (Math.abs(sent[i]!) > 1000) {
      if (toneStart < 0) toneStart = i;
      toneEnd = i;
    }
  }
  const present: boolean[] = [];
  const firstFrame = Math.floor(toneStart / frame);
  const lastFrame = Math.min(Math.floor((toneEnd + 8000) / frame), Math.floor(heard.length / frame) - 1);
  for (let f = firstFrame; f <= lastFrame; f++) present.push(fitSine(heard, hz, 8000, f * frame, (f + 1) * frame).amplitude > 2000);
  const first = present.indexOf(true);
  const last = present.lastIndexOf(true);
  if (first < 0) return { ownAmplitude: 0, onsetMs: undefined, heardMs: 0, maxGapMs: Infinity, maxGapAtMs: 0, worstForeign: Infinity, worstWindowThdnDb: -Infinity, worstWindowAtMs: 0 };
  let maxGap = 0;
  let maxGapAt = 0;
  let run = 0;
  for (let k = first; k <= last; k++) {
    if (present[k]) run = 0;
    else if (++run > maxGap) {
      maxGap = run;
      maxGapAt = k;
    }
  }
  const spanStart = (firstFrame + first + 1) * frame; // skip the edge frames
  const spanEnd = (firstFrame + last) * frame;
  const own = fitSine(heard, hz, 8000, spanStart, spanEnd).amplitude;
  let worstForeign = 0;
  for (const f of foreignHz) worstForeign = Math.max(worstForeign, fitSine(heard, f, 8000, spanStart, spanEnd).amplitude);
  let worstThdn = Infinity;
  let worstAt = 0;
  for (let s = spanStart; s + 800 <= spanEnd; s += 800) {
    const t = fitSine(heard, hz, 8000, s, s + 800).thdnDb;
    if (t < worstThdn) {
      worstThdn = t;
      worstAt = s;
    }
  }
  const toMs = (samples: number) => Math.round(samples / 8);
  return {
    ownAmplitude: own,
    onsetMs: first * 20,
    heardMs: (last - first + 1) * 20,
    maxGapMs: maxGap * 20,
    maxGapAtMs: toMs((firstFrame + maxGapAt) * frame - toneStart),
    worstForeign,
    worstWindowThdnDb: worstThdn,
    worstWindowAtMs: toMs(worstAt - toneStart),
  };
}
