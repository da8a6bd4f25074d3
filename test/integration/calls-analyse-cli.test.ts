/**
 * `npm run calls -- analyse`: with no server running it runs the queued analyses itself (the
 * emulator's generateContent standing in for Gemini, the flow's fields read from the flow file);
 * with a server's runner on the same database it only queues and reports what the server did.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { analyseCommand } from '../../src/aftercall/cli.js';
import { startAfterCall } from '../../src/aftercall/index.js';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import { sqliteStores } from '../../src/transcripts/open-store.js';
import { SqliteAnalysisStore } from '../../src/transcripts/sqlite-analysis.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { silentLogger } from '../../src/shared/log.js';
import { demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';
import type { Flow } from '../../src/flows/index.js';
import { AnalysisSetting } from '../../src/flows/analysis-schema.js';

const FLOW = ['name: bookings', 'persona: You take bookings.', 'analysis:', '  fields:', '    party_size: { type: number }', '    reason: { type: enum, values: [booking, billing] }'].join('\n');

describe('calls analyse (CLI)', () => {
  let root: string;
  let dataDir: string;
  let flowsDir: string;
  let emulator: Emulator;
  let lines: string[];

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'cb-analyse-cli-'));
    dataDir = join(root, 'data');
    flowsDir = join(root, 'flows');
    mkdirSync(flowsDir);
    writeFileSync(join(flowsDir, 'bookings.yaml'), FLOW);
    const store = openSqliteStore({ dataDir });
    const writer = createTranscriptWriter({ store });
    seedDemoCall(writer, { callSid: demoCallSid(1), startedAt: Date.now() - 3600_000, outcome: 'ended_by_bot' });
    seedDemoCall(writer, { callSid: demoCallSid(2), startedAt: Date.now() - 3 * 86_400_000, outcome: 'completed' });
    await writer.close();
    // Mark the queued first analyses done: the command must re-run them.
    store.database.prepare("UPDATE jobs SET state = 'done'").run();
    await store.close();
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    lines = [];
  });
  afterEach(async () => {
    await emulator.close();
    rmSync(root, { recursive: true, force: true });
  });

  const command = (over: Partial<Parameters<typeof analyseCommand>[0]> = {}) =>
    analyseCommand({ dataDir, flowsDir, env: { GEMINI_API_BASE_URL: emulator.httpUrl }, log: silentLogger(), print: (l) => lines.push(l), serverWaitMs: 300, ...over });

  it('runs the analyses itself when no server takes them, with the flow file’s fields', async () => {
    assert.equal(await command({ sinceMs: Date.now() - 86_400_000 }), 0);
    assert.match(lines.join('\n'), /queued 1 analysis[\s\S]*no server took them: analysing here with gemini-3\.8-flash/);
    assert.match(lines.at(-1)!, new RegExp(`^${demoCallSid(1)}: ok`));
    const store = openSqliteStore({ dataDir });
    try {
      const a = await new SqliteAnalysisStore(store.database).getAnalysis(demoCallSid(1));
      assert.equal(a?.status, 'ok');
      assert.deepEqual(Object.keys(a!.fields).sort(), ['party_size', 'reason']);
      assert.equal(await new SqliteAnalysisStore(store.database).getAnalysis(demoCallSid(2)), undefined); // older than --since
    } finally {
      await store.close();
    }
    assert.equal(emulator.generate.requests, 1);
  });

  it('leaves the jobs to a running server and reports its results', async () => {
    const serverStore = openSqliteStore({ dataDir });
    const analysis = AnalysisSetting.parse({ fields: { party_size: { type: 'number' } } });
    const flows = [{ name: 'bookings', persona: 'You take bookings.', analysis } as unknown as Flow];
    const { jobs, analyses: serverAnalyses } = sqliteStores(serverStore);
    const server = startAfterCall({ store: serverStore, queue: jobs, analyses: serverAnalyses, flows: () => flows, gemini: { baseUrl: emulator.httpUrl, apiKey: 'k', model: 'gemini-3.7-flash' }, log: silentLogger(), pollMs: 50 });
    try {
      assert.equal(await command({ callSids: [demoCallSid(1), demoCallSid(2)], serverWaitMs: 5000 }), 0);
      assert.match(lines.join('\n'), /a running callbridge server is analysing them/);
      assert.doesNotMatch(lines.join('\n'), /analysing here/);
      const a = await server.analyses.getAnalysis(demoCallSid(2));
      assert.equal(a?.model, 'gemini-3.7-flash'); // the server's, not the command's
      assert.deepEqual(Object.keys(a!.fields), ['party_size']);
    } finally {
      await server.stop();
      await serverStore.close();
    }
  });

  it('says what is wrong: no database, unknown calls', async () => {
    assert.equal(await command({ dataDir: join(root, 'nowhere'), callSids: [demoCallSid(1)] }), 1);
    assert.match(lines[0]!, /no call database/);
    assert.equal(await command({ callSids: ['CA00000000000000000000000000000099'] }), 1);
    assert.match(lines.at(-1)!, /no such call/);
  });
});
