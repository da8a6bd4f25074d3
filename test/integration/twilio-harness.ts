/**
 * Test harness for the Twilio edge: a real server on 127.0.0.1 with the Twilio routes mounted,
 * a log captured in memory, and a loopback CallHandler that echoes the caller's audio back with a
 * mark per chunk (through a PlayoutTracker), like a bot that repeats everything.
 */
import { Writable } from 'node:stream';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, finishApp, listen, twilioEdgeOf } from '../../src/web/server.js';
import { createLogger } from '../../src/shared/log.js';
import type { TwilioRoutesOptions, TwilioEdge } from '../../src/web/twilio-routes.js';
import type { CallHandler, IncomingCall } from '../../src/twilio/handler.js';
import type { TwilioMediaStream } from '../../src/twilio/media-stream.js';
import { PlayoutTracker } from '../../src/call/playout.js';

/** A playout tracker wired to a Twilio stream: marks and clears go to it, its echoes and end come back. */
export function trackPlayout(stream: TwilioMediaStream): PlayoutTracker {
  const tracker = new PlayoutTracker({ sendMark: (name) => stream.sendMark(name), clear: () => stream.sendClear() });
  stream.on('mark', ({ name }) => tracker.onMark(name));
  stream.on('end', () => tracker.end());
  return tracker;
}

export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
export const ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2);

export interface LogLine {
  level: number;
  msg: string;
  code?: string;
  [key: string]: unknown;
}

export interface Edge {
  server: http.Server;
  serverUrl: string;
  publicBaseUrl: string;
  edge: TwilioEdge;
  logs: LogLine[];
  close(): Promise<void>;
}

export async function startEdge(options: Partial<Omit<TwilioRoutesOptions, 'log'>> & { handler: CallHandler }): Promise<Edge> {
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  const publicBaseUrl = options.publicBaseUrl ?? 'https://bot.example.test';
  const app = createApp({ log, twilio: { authToken: AUTH_TOKEN, ...options, publicBaseUrl } });
  finishApp(app);
  const server = await listen(app, 0, '127.0.0.1');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    serverUrl: `http://127.0.0.1:${port}`,
    publicBaseUrl,
    edge: twilioEdgeOf(app)!,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        twilioEdgeOf(app)!.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface LoopbackRecord {
  calls: IncomingCall[];
  streams: TwilioMediaStream[];
  trackers: PlayoutTracker[];
  dtmf: string[];
  ends: string[];
  statuses: { callSid: string; streamSid: string; event: string; error?: string }[];
}

/** Echoes caller audio back (with a mark per chunk). `onDtmf` lets a test act on key presses. */
export function loopbackHandler(
  options: { echo?: boolean; onDtmf?: (digit: string, stream: TwilioMediaStream, tracker: PlayoutTracker) => void; parameters?: Record<string, string> } = {},
): { handler: CallHandler; record: LoopbackRecord } {
  const record: LoopbackRecord = { calls: [], streams: [], trackers: [], dtmf: [], ends: [], statuses: [] };
  const handler: CallHandler = {
    onIncomingCall(call) {
      record.calls.push(call);
      return { kind: 'stream', parameters: options.parameters ?? { caller: 'loopback' } };
    },
    onStreamStart(stream) {
      record.streams.push(stream);
      const tracker = trackPlayout(stream);
      record.trackers.push(tracker);
      let utterance = 0;
      stream.on('media', (m) => {
        if (options.echo === false) return;
        stream.sendMedia(m.payload);
        tracker.sent(`echo-${utterance}`, m.payload.length / 8);
      });
      stream.on('dtmf', ({ digit }) => {
        record.dtmf.push(digit);
        utterance++;
        options.onDtmf?.(digit, stream, tracker);
      });
      stream.on('end', ({ reason }) => record.ends.push(reason));
    },
    onStreamStatus(status) {
      record.statuses.push(status);
    },
  };
  return { handler, record };
}
