/**
 * The call review server of the security suite (createApp + mountCalls + finishApp on
 * 127.0.0.1, as app.ts composes them) with calls stored in it: each a CallSid, what the caller
 * said, optionally a function call and a recording. For the attacks on stored data (XSS, FTS
 * search, recording paths).
 */
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, finishApp, listen } from '../../src/web/server.js';
import { mountCalls } from '../../src/web/calls-routes.js';
import { openSqliteStore, type SqliteTranscriptStore } from '../../src/transcripts/sqlite-store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { openCallRecording } from '../../src/transcripts/recording.js';
import { demoRecord } from '../support/transcripts-fixtures.js';
import type { CallRecord } from '../../src/transcripts/types.js';
import { captureLog, type LogLine } from './support.js';

export interface SeedCall {
  callSid: string;
  said: string[];
  functionCall?: { name: string; args: Record<string, unknown>; result: unknown };
  recording?: boolean;
  /** Stored as the record's recordingPath as is (a forged record). */
  recordingPath?: string;
  /** Other fields of the stored record (e.g. a `from` a SIP caller chose). */
  record?: Partial<CallRecord>;
}

export interface SeededServer {
  base: string;
  dir: string;
  store: SqliteTranscriptStore;
  lines: LogLine[];
  close(): Promise<void>;
}

export async function serveSeeded(calls: SeedCall[], o: { adminToken: string }): Promise<SeededServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cb-sec-seed-'));
  const store = openSqliteStore({ dataDir: dir });
  const writer = createTranscriptWriter({ store });
  const startedAt = Date.now() - 3600_000;
  for (const [i, c] of calls.entries()) {
    let recordingPath = c.recordingPath;
    if (c.recording) {
      const rec = openCallRecording({ dataDir: dir, callSid: c.callSid });
      rec.caller(0, new Int16Array(160));
      await rec.close();
      recordingPath = rec.relativePath;
    }
    const log = writer.openCall(demoRecord({ callSid: c.callSid, startedAt: startedAt + i * 60_000, ...(recordingPath !== undefined ? { recordingPath } : {}), ...c.record }));
    c.said.forEach((text, k) => log.event({ kind: 'caller_utterance', text }, 1000 + k * 1000));
    if (c.functionCall) log.event({ kind: 'function_call', id: 'fc-1', status: 'ok', latencyMs: 5, ...c.functionCall }, 9000);
    log.close({ outcome: 'ended_by_bot', endedAt: startedAt + i * 60_000 + 10_000, ...(c.record?.outcomeDetail ? { outcomeDetail: c.record.outcomeDetail } : {}) });
  }
  await writer.close();
  const { log, lines } = captureLog();
  const app = createApp({ log });
  mountCalls(app, { store, dataDir: dir, log, nodeEnv: 'test', adminToken: o.adminToken });
  finishApp(app);
  const server = await listen(app, 0, '127.0.0.1');
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dir,
    store,
    lines,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
