import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';

const root = new URL('../..', import.meta.url).pathname;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/calls.ts', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('calls CLI', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-cli-'));
    const store = openSqliteStore({ dataDir: dir });
    const writer = createTranscriptWriter({ store });
    seedDemoCall(writer, { callSid: demoCallSid(1), startedAt: Date.UTC(2025, 5, 10, 12) });
    seedDemoCall(writer, { callSid: demoCallSid(2), startedAt: Date.UTC(2025, 5, 11, 12), outcome: 'failed', flow: 'support' });
    await writer.close();
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists, filters, shows and exports calls; explains a missing database', async () => {
    const [all, failed, show, json, txt, missing, bad] = await Promise.all([
      run(['list', '--data-dir', dir]),
      run(['list', '--outcome', 'failed', '--data-dir', dir]),
      run(['show', demoCallSid(1), '--data-dir', dir]),
      run(['export', demoCallSid(1), '--format', 'json', '--data-dir', dir]),
      run(['export', demoCallSid(1), '--format', 'txt', '--data-dir', dir]),
      run(['list', '--data-dir', join(dir, 'nowhere')]),
      run(['list', '--limit', 'lots', '--data-dir', dir]),
    ]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, new RegExp(`${demoCallSid(2)}.*Failed`));
    assert.match(all.stdout, new RegExp(`${demoCallSid(1)}.*Ended by bot`));
    assert.match(all.stdout, /\+•••••0123/, 'caller numbers masked by default');
    assert.match(all.stdout, /1-2 of 2 calls/);
    assert.equal(failed.stdout.includes(demoCallSid(1)), false);
    assert.match(failed.stdout, /1-1 of 1 call/);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /^\[00:04\.8\] Caller: Hi, I'd like to book/m);
    assert.match(show.stdout, /^From: +\+•••••0123$/m);
    assert.equal((JSON.parse(json.stdout) as { call: { from: string } }).call.from, '+447700900123');
    assert.match(txt.stdout, /^From: +\+447700900123$/m);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no call database at .*nowhere/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit must be a whole number/);
  });
});
