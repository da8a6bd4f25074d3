/**
 * The `calls` CLI prints times, and reads --from/--to days, in the business's time zone: the
 * call's flow's hours.timeZone (from the flow files), else TIME_ZONE, else UTC; --time-zone wins.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import { seedCall } from '../support/dashboard-fixtures.js';
import { demoCallSid } from '../support/transcripts-fixtures.js';

const root = new URL('../..', import.meta.url).pathname;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/calls.ts', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1', TIME_ZONE: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('calls CLI time zones', () => {
  let dir: string;
  let flows: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cb-cli-tz-'));
    flows = join(dir, 'flows');
    mkdirSync(flows);
    writeFileSync(join(flows, 'dental.yaml'), 'name: dental\nhours:\n  timeZone: America/New_York\n');
    writeFileSync(join(flows, 'bookings.yaml'), 'name: bookings\n');
    writeFileSync(join(flows, 'broken.yaml'), 'name: [unclosed\n');
    const store = openSqliteStore({ dataDir: dir });
    await seedCall(store, { n: 1, flow: 'dental', startedAt: Date.parse('2026-03-09T03:30:00Z'), durationMs: 60_000 });
    await seedCall(store, { n: 2, flow: 'bookings', startedAt: Date.parse('2026-07-09T23:30:00Z'), durationMs: 60_000 });
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints each call in its flow\'s zone, the default zone otherwise, or the zone asked for', async () => {
    const base = ['--data-dir', dir, '--flows-dir', flows];
    const [byFlow, utc, forced, show, bad, badEnv] = await Promise.all([
      run(['list', ...base], { TIME_ZONE: 'Europe/London' }),
      run(['list', ...base]),
      run(['list', ...base, '--time-zone', 'Asia/Tokyo']),
      run(['show', demoCallSid(1), ...base]),
      run(['list', ...base, '--time-zone', 'Mars/Olympus']),
      run(['list', ...base], { TIME_ZONE: 'Nowhere/Land' }),
    ]);
    assert.equal(byFlow.code, 0, byFlow.stderr);
    assert.match(byFlow.stdout, /2026-03-08 23:30 EDT\s+CA0+1 /); // New York, the day before in UTC
    assert.match(byFlow.stdout, /2026-07-10 00:30 GMT\+1\s+CA0+2 /); // London summer time (TIME_ZONE)
    assert.match(utc.stdout, /2026-07-09 23:30 UTC\s+CA0+2 /);
    assert.match(forced.stdout, /2026-03-09 12:30 GMT\+9\s+CA0+1 /);
    assert.match(show.stdout, /Started:\s+2026-03-08 23:30 America\/New_York \(2026-03-09T03:30:00\.000Z\)/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--time-zone: "Mars\/Olympus" is not a known time zone/);
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /TIME_ZONE: "Nowhere\/Land"/);
  });

  it('reads --from and --to as days of the flow\'s zone', async () => {
    const base = ['--data-dir', dir, '--flows-dir', flows, '--flow', 'dental'];
    const [mar8, mar9] = await Promise.all([
      run(['list', ...base, '--from', '2026-03-08', '--to', '2026-03-08']),
      run(['list', ...base, '--from', '2026-03-09', '--to', '2026-03-09']),
    ]);
    assert.match(mar8.stdout, new RegExp(demoCallSid(1)));
    assert.match(mar9.stdout, /No calls match/);
  });
});
