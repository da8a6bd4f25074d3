/**
 * The `calls` command on the PostgreSQL store: with DATABASE_URL it lists, shows and lists
 * follow-ups from the database (no DATA_DIR involved), and refuses a database no server has
 * migrated yet with a plain message and exit code 1.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openPostgresStores } from '../../src/transcripts/open-store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { demoCallSid, seedDemoCall } from '../support/transcripts-fixtures.js';
import { STORE_BACKENDS, freshPostgresUrl, stopStoreBackends } from '../support/store-backends.js';

const root = new URL('../..', import.meta.url).pathname;
const skip = STORE_BACKENDS.find((b) => b.name === 'postgres')!.skip;
after(stopStoreBackends);

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/calls.ts', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1', DATA_DIR: '/nonexistent-data-dir', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('calls CLI on PostgreSQL', { skip, timeout: 60_000 }, () => {
  it('reads the calls from DATABASE_URL, and refuses a database not yet migrated', async () => {
    const url = await freshPostgresUrl();
    const stores = await openPostgresStores(url);
    const writer = createTranscriptWriter({ store: stores.transcripts });
    seedDemoCall(writer, { callSid: demoCallSid(1), startedAt: Date.UTC(2025, 5, 10, 12) });
    seedDemoCall(writer, { callSid: demoCallSid(2), startedAt: Date.UTC(2025, 5, 11, 12), outcome: 'failed', flow: 'support', followUp: { level: 'red', reasons: ['The call failed.'] } });
    await writer.close();
    await stores.close();
    const empty = await freshPostgresUrl();

    const [list, show, followUps, unmigrated] = await Promise.all([
      run(['list'], { DATABASE_URL: url }),
      run(['show', demoCallSid(1)], { DATABASE_URL: url }),
      run(['follow-ups'], { DATABASE_URL: url }),
      run(['list'], { DATABASE_URL: empty }),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${demoCallSid(2)}.*Failed`));
    assert.match(list.stdout, new RegExp(`${demoCallSid(1)}.*Ended by bot`));
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /Trattoria/);
    assert.equal(followUps.code, 0, followUps.stderr);
    assert.match(followUps.stdout, new RegExp(demoCallSid(2)));
    assert.doesNotMatch(followUps.stdout, new RegExp(demoCallSid(1)));
    assert.equal(unmigrated.code, 1);
    assert.match(unmigrated.stderr, /schema version 0, this callbridge expects \d+; start the server once/);
  });
});
