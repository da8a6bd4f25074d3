/**
 * The fuzzing peers of test/integration/bridge-fuzz-twilio.test.ts: many media-stream connections
 * to a running callbridge, each sending mutated Twilio input (./twilio-fuzz.ts).
 *
 *  - tokened: a real signed webhook first, so the stream carries a valid per-call token and gets
 *    past `start` (after garbage sent before it); then valid media mixed with mutations, duplicate
 *    starts and the like; it ends with `stop` and more frames, a frame the WebSocket layer must
 *    refuse, or the client leaving.
 *  - untokened: garbage and out-of-order events with no valid start; ends with a start that has no
 *    valid token, with silence until the start timeout, a refused frame, or the client leaving.
 *  - rapid: connect/close storms (close at once, drop the TCP connection, abort the handshake).
 *
 * Run as its own process (the test spawns it with the server's URL) so the work of generating
 * thousands of frames cannot stall the test process, where the normal callers keep real time;
 * it prints one JSON line, a FuzzReport. Also usable in-process through runFuzz().
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import twilio from 'twilio';
import {
  Prng, ValidMessages, twimlParameters, mutate, pickKind, overCapText, invalidUtf8, terminalBytes, wrongTypeSweep, MUTATION_KINDS,
  type BaseEvent, type FuzzFrame, type MutationKind, type StreamIds, type TerminalKind,
} from './twilio-fuzz.js';

export interface FuzzOptions {
  /** Where the server listens (and its public base URL: the test runs it without PUBLIC_BASE_URL). */
  url: string;
  authToken: string;
  accountSid: string;
  seed: number;
  tokened: number;
  untokened: number;
  rapid: number;
  /** How long the tokened streams talk (ms). */
  windowMs: number;
  /** Tone in the tokened streams' valid media (so a normal call hearing it is crosstalk). */
  toneHz: number;
}

/** One fuzzing connection and what happened to it. */
export interface FuzzConn {
  label: string;
  group: 'tokened' | 'untokened' | 'rapid';
  callSid: string;
  streamSid: string;
  /** Client port of the TCP connection (the server logs the peer's address with its `conn`). */
  localPort: number | undefined;
  /** Date.now() when the upgrade was answered (ports are reused: with the port, it finds the server's `conn`). */
  openedAt: number | undefined;
  sent: number;
  /** The last thing the connection did on purpose. */
  ending: string;
  /** The frame sent that the server must refuse by closing, if any. */
  terminal?: TerminalKind;
  clientClosing: boolean;
  close?: { code: number; reason: string; byServer: boolean };
  /** Media messages the server sent it (a tokened stream is served: its audio is echoed back). */
  mediaReceived: number;
  error?: string;
}

export interface FuzzReport {
  seed: number;
  conns: FuzzConn[];
  /** Frames sent, by kind (mutation kinds, valid messages, terminal frames, rapid connects). */
  byKind: Record<string, number>;
  frames: number;
  durationMs: number;
}

/** Mutations that can never turn into an acceptable `start` (safe before a tokened stream's own start). */
const NEVER_A_START: readonly MutationKind[] = [
  'non-json', 'binary-frame', 'event-wrong-type', 'unknown-event', 'odd-dtmf', 'odd-mark', 'bad-base64', 'odd-payload',
  'wrong-stream-sid', 'deep-nesting', 'huge-numbers', 'big-timestamp',
];
/** While a tokened stream must keep running: no `stop` a mutation might leave valid. */
const RUNNING_BASES: readonly BaseEvent[] = ['media', 'media', 'media', 'start', 'dtmf', 'mark', 'connected'];
const TERMINAL_KINDS: readonly TerminalKind[] = ['invalid-utf8', 'over-cap', 'unmasked-frame', 'reserved-opcode', 'rsv1-set', 'truncated-frame'];

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const wsUrl = `${o.url.replace(/^http/, 'ws')}/twilio/media`;
  const upgradeSignature = twilio.getExpectedTwilioSignature(o.authToken, wsUrl, {});
  const byKind: Record<string, number> = {};
  let frames = 0;
  const conns: FuzzConn[] = [];
  const sockets = new Set<WebSocket>();
  const rawSockets = new WeakMap<WebSocket, Socket>();
  const count = (kind: string) => {
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    frames++;
  };

  /** A real, signed voice webhook; returns the per-call token and the other stream parameters from the TwiML. */
  const webhook = async (callSid: string): Promise<{ token: string; parameters: Record<string, string> }> => {
    const form = { CallSid: callSid, AccountSid: o.accountSid, From: '+15557654321', To: '+15550100100', CallStatus: 'ringing', Direction: 'inbound' };
    const res = await fetch(`${o.url}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(o.authToken, `${o.url}/twilio/voice`, form) },
      body: new URLSearchParams(form).toString(),
    });
    const body = await res.text();
    const token = /<Parameter name="callbridgeToken" value="([^"]+)"/.exec(body)?.[1];
    if (res.status !== 200 || !token) throw new Error(`the webhook for ${callSid} answered no stream token: ${res.status} ${body.slice(0, 200)}`);
    return { token, parameters: twimlParameters(body) };
  };

  const newConn = (label: string, group: FuzzConn['group'], ids: StreamIds): FuzzConn => {
    const conn: FuzzConn = { label, group, callSid: ids.callSid, streamSid: ids.streamSid, localPort: undefined, openedAt: undefined, sent: 0, ending: 'client-close', clientClosing: false, mediaReceived: 0 };
    conns.push(conn);
    return conn;
  };

  /** Opens a signed media WebSocket; resolves once open (undefined if it never opened). */
  const open = (conn: FuzzConn, onSocket?: (ws: WebSocket) => void): Promise<WebSocket | undefined> =>
    new Promise((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { 'x-twilio-signature': upgradeSignature } });
      sockets.add(ws);
      ws.on('upgrade', (res: IncomingMessage) => {
        const raw = res.socket as Socket;
        rawSockets.set(ws, raw);
        conn.localPort = raw.localPort;
        conn.openedAt = Date.now();
      });
      ws.on('message', (data, isBinary) => {
        if (!isBinary && (data as Buffer).subarray(0, 16).toString() === '{"event":"media"') conn.mediaReceived++;
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
    count(frame.kind);
    return true;
  };
  const sendJson = (ws: WebSocket, conn: FuzzConn, kind: string, msg: unknown) => send(ws, conn, { kind, data: JSON.stringify(msg) });

  /** Waits for the connection to close, up to `ms`; returns whether it did. */
  const closedWithin = (ws: WebSocket, ms: number) =>
    new Promise<boolean>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });

  /** Sends a frame the WebSocket layer must refuse; the server then closes the connection. */
  const sendTerminal = (ws: WebSocket, conn: FuzzConn, m: ValidMessages, rng: Prng, kind: TerminalKind) => {
    conn.terminal = kind;
    conn.ending = `terminal:${kind}`;
    count(`terminal:${kind}`);
    conn.sent++;
    if (kind === 'invalid-utf8') return ws.send(invalidUtf8(m, rng), { binary: false });
    if (kind === 'over-cap') return ws.send(overCapText(m));
    const raw = rawSockets.get(ws)!;
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

  const rng = new Prng(o.seed);
  const startedAt = performance.now();
  const sid = (prefix: 'CA' | 'MZ', fill: string, i: number) => `${prefix}${fill.repeat(28)}${String(i).padStart(4, '0')}`;

  const runTokened = async (i: number) => {
    const r = rng.fork(1000 + i);
    // Staggered: every new call also opens a Gemini session; ten at once are a load spike, not a fuzz.
    await delay(Math.round((i * o.windowMs) / (3 * Math.max(1, o.tokened))) + r.int(0, 200));
    const ids: StreamIds = { accountSid: o.accountSid, callSid: sid('CA', 'f', i), streamSid: sid('MZ', 'f', i) };
    ({ token: ids.token, parameters: ids.parameters } = await webhook(ids.callSid));
    const conn = newConn(`tokened#${i}`, 'tokened', ids);
    const ws = await open(conn);
    if (!ws) return;
    const m = new ValidMessages(ids, o.toneHz);
    // Before start: out-of-order events and garbage that can never pass for a start.
    if (r.chance(0.7)) sendJson(ws, conn, 'connected', m.connected());
    for (let n = r.int(0, 8); n > 0; n--) {
      if (r.chance(0.5)) sendJson(ws, conn, 'before-start', r.pick([m.media(), m.mark(), m.dtmf(), m.stop(), m.connected()]));
      else send(ws, conn, mutate(r, m, pickKind(r, NEVER_A_START)));
    }
    sendJson(ws, conn, 'start', m.start());
    // The first stream also gets every field of every message with every wrong type, and missing
    // (none of those stops is a valid stop).
    const sweep = i === 0 ? wrongTypeSweep(m) : [];
    const endAt = startedAt + o.windowMs - r.int(0, 1000);
    while (performance.now() < endAt && ws.readyState === WebSocket.OPEN) {
      sendJson(ws, conn, 'valid-media', m.media());
      for (const frame of sweep.splice(0, 12)) send(ws, conn, frame);
      for (let n = r.int(0, 3); n > 0; n--) {
        const roll = r.next();
        if (roll < 0.04) sendJson(ws, conn, 'duplicate-start', r.chance(0.5) ? m.start() : new ValidMessages({ ...ids, streamSid: `MZ${'e'.repeat(32)}` }).start());
        else if (roll < 0.06) sendJson(ws, conn, 'connected-after-start', m.connected());
        else send(ws, conn, mutate(r, m, undefined, RUNNING_BASES));
      }
      await delay(40);
    }
    // Mutated stops (one that stays valid ends the stream; the rest must be ignored).
    for (let n = r.int(0, 3); n > 0; n--) send(ws, conn, mutate(r, m, pickKind(r, MUTATION_KINDS), ['stop']));
    // Endings in turn: stop and more, a refused frame, the client leaving.
    const ending = i % 3;
    if (ending === 0) {
      // Twilio's `stop`, then more of everything: all of it must be ignored.
      conn.ending = 'stop-then-more';
      sendJson(ws, conn, 'stop', m.stop());
      for (let n = 0; n < 30; n++) {
        if (n % 3 === 0) sendJson(ws, conn, 'after-stop', r.pick([m.media(), m.start(), m.mark(), m.dtmf(), m.stop()]));
        else send(ws, conn, mutate(r, m));
      }
      await delay(100);
    } else if (ending === 1) {
      sendTerminal(ws, conn, m, r, TERMINAL_KINDS[Math.floor(i / 3) % TERMINAL_KINDS.length]!);
      if (!(await closedWithin(ws, 5000))) conn.error = 'the server did not close after a terminal frame';
      return;
    }
    // Still open: the server kept it running through all of that.
    if (ws.readyState === WebSocket.OPEN) await endByClient(ws, conn, r.chance(0.8) ? 'close' : 'terminate');
  };

  /**
   * The first half only sends what can never pass for a start, so each reaches its planned ending
   * (every refused-frame kind, silence until the start timeout, a start without a valid token, the
   * client leaving); the second half sends anything, mutated starts included (usually refused for
   * their token before their planned ending).
   */
  const runUntokened = async (i: number) => {
    const r = rng.fork(2000 + i);
    await delay(r.int(0, Math.max(0, o.windowMs - 2500)));
    const ids: StreamIds = { accountSid: o.accountSid, callSid: sid('CA', 'd', i), streamSid: sid('MZ', 'd', i) };
    const conn = newConn(`untokened#${i}`, 'untokened', ids);
    const ws = await open(conn);
    if (!ws) return;
    const m = new ValidMessages(ids, o.toneHz);
    const survivor = i < o.untokened / 2;
    const total = r.int(40, 160);
    for (let n = 0; n < total && ws.readyState === WebSocket.OPEN; n++) {
      if (r.chance(0.15)) sendJson(ws, conn, 'before-start', r.pick([m.media(), m.media(), m.mark(), m.dtmf(), m.stop(), m.connected()]));
      else send(ws, conn, survivor ? mutate(r, m, pickKind(r, NEVER_A_START)) : mutate(r, m));
      if (n % 8 === 7) await delay(r.int(5, 40));
    }
    if (ws.readyState !== WebSocket.OPEN) return; // a mutated start was read as a start (and refused), or similar
    const plan = survivor ? i : r.int(0, 10);
    if (plan < TERMINAL_KINDS.length) {
      sendTerminal(ws, conn, m, r, TERMINAL_KINDS[plan]!);
      await closedWithin(ws, 5000);
    } else if (plan <= 7) {
      conn.ending = 'no-start';
      await closedWithin(ws, 8000);
    } else if (plan <= 9) {
      conn.ending = 'start-without-token';
      sendJson(ws, conn, 'start-bad-token', m.start(r.chance(0.5) ? {} : { callbridgeToken: r.pick(['', 'v1.x.y', `v1.${'z'.repeat(8)}.${'A'.repeat(43)}`]) }));
      await closedWithin(ws, 5000);
    } else {
      await endByClient(ws, conn, r.chance(0.5) ? 'close' : 'terminate');
    }
  };

  const runRapid = async (i: number) => {
    const r = rng.fork(3000 + i);
    await delay(r.int(0, Math.max(0, o.windowMs - 500)));
    const ids: StreamIds = { accountSid: o.accountSid, callSid: `CA${'c'.repeat(32)}`, streamSid: `MZ${'c'.repeat(32)}` };
    const conn = newConn(`rapid#${i}`, 'rapid', ids);
    const how = r.pick(['close-at-once', 'terminate-at-once', 'abort-handshake', 'one-frame-then-close', 'garbage-then-terminate'] as const);
    conn.ending = how;
    count(`rapid:${how}`);
    if (how === 'abort-handshake') {
      conn.clientClosing = true;
      await open(conn, (ws) => setImmediate(() => ws.terminate()));
      return;
    }
    const ws = await open(conn);
    if (!ws) return;
    const m = new ValidMessages(ids, o.toneHz);
    if (how === 'one-frame-then-close') send(ws, conn, mutate(r, m));
    if (how === 'garbage-then-terminate') for (let n = 0; n < 10; n++) send(ws, conn, mutate(r, m));
    await endByClient(ws, conn, how === 'close-at-once' || how === 'one-frame-then-close' ? 'close' : 'terminate');
  };

  try {
    await Promise.all([
      ...Array.from({ length: o.tokened }, (_, i) => runTokened(i)),
      ...Array.from({ length: o.untokened }, (_, i) => runUntokened(i)),
      ...Array.from({ length: o.rapid }, (_, i) => runRapid(i)),
    ]);
  } finally {
    for (const ws of sockets) ws.terminate();
  }
  return { seed: o.seed, conns, byKind, frames, durationMs: Math.round(performance.now() - startedAt) };
}

/** This module in a process of its own, started (and ready) before it is used. */
export interface FuzzDriver {
  run(options: FuzzOptions, timeoutMs: number): Promise<FuzzReport>;
  kill(): void;
}

export function startFuzzDriver(): Promise<FuzzDriver> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const driver: FuzzDriver = {
    run: (options, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the fuzz driver did not finish in ${timeoutMs} ms (FUZZ_SEED=${options.seed})\n${err}`));
        }, timeoutMs);
        child.stdin.end(`${JSON.stringify(options)}\n`);
        void exited.then((code) => {
          clearTimeout(timer);
          if (code !== 0) return reject(new Error(`the fuzz driver failed (${code}) (FUZZ_SEED=${options.seed}):\n${err}`));
          try {
            resolve(JSON.parse(out.trim().split('\n').at(-1)!) as FuzzReport);
          } catch {
            reject(new Error(`the fuzz driver printed no report:\n${out.slice(-2000)}\n${err}`));
          }
        });
      }),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fuzz driver did not start in 30 s:\n${err}`)), 30_000);
    const onData = () => {
      if (!out.startsWith('ready\n')) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(driver);
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the fuzz driver exited (${code}) before it was ready:\n${err}`));
    });
  });
}

// As a script: prints `ready`, reads the options (JSON, one line) from stdin, runs, prints the
// report (one JSON line) and exits. The test starts it early so its own start-up (loading and
// compiling modules) is over before the fuzzing, and the normal calls, begin.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  let input = '';
  process.stdin.on('data', (d: Buffer) => {
    input += d.toString();
    if (!input.includes('\n')) return;
    process.stdin.pause();
    runFuzz(JSON.parse(input) as FuzzOptions).then(
      (report) => {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`fuzz driver failed: ${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  });
  process.stdout.write('ready\n');
}
