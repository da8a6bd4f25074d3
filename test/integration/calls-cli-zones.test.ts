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
import { seedAnalysis, seedCall } from '../support/dashboard-fixtures.js';
import { SqliteDashboardStore } from '../../src/transcripts/sqlite-dashboard.js';
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
    await seedCall(store, { n: 3, flow: 'dental', startedAt: Date.parse('2026-03-10T15:00:00Z'), durationMs: 60_000, followUp: { level: 'amber', reasons: ['=The function book failed.'] } });
    await seedCall(store, { n: 4, flow: 'dental', startedAt: Date.parse('2026-03-11T15:00:00Z'), durationMs: 60_000 });
    await seedAnalysis(store, demoCallSid(4), { followUp: true, followUpReason: 'Wants a call back' });
    await new SqliteDashboardStore(store.database).markDone(demoCallSid(4), { by: 'Maria', via: 'admin', client: '127.0.0.1', atMs: Date.parse('2026-03-12T14:00:00Z') });
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

  it('lists the follow-ups, open or done, and as CSV', async () => {
    const base = ['--data-dir', dir, '--flows-dir', flows];
    const [open, done, csv, bad] = await Promise.all([
      run(['follow-ups', ...base]),
      run(['follow-ups', ...base, '--state', 'done']),
      run(['follow-ups', ...base, '--csv', '--state', 'all']),
      run(['follow-ups', ...base, '--state', 'maybe']),
    ]);
    assert.equal(open.code, 0, open.stderr);
    assert.match(open.stdout, /^2026-03-10 11:00 EDT\s+CA0+3 .*=The function book failed\./m);
    assert.doesNotMatch(open.stdout, /CA0+4/);
    assert.match(open.stdout, /1 of 1 open follow-up$/m);
    assert.match(done.stdout, /^2026-03-11 11:00 EDT\s+CA0+4 .*Wants a call back\s+Maria, 2026-03-12 10:00 EDT$/m);
    const lines = csv.stdout.replace(/^\uFEFF/, '').split('\r\n');
    assert.equal(lines[0], 'call_sid,started,time_zone,flow,caller,outcome,duration_s,level,reasons,analysis_reason,summary,intent,done_by,done_at,link');
    assert.match(lines[1]!, new RegExp(`^${demoCallSid(4)},2026-03-11 11:00,America/New_York,dental,'\\+447700900123,completed,60,analysis,,Wants a call back,.*,Maria,2026-03-12 10:00,/calls/${demoCallSid(4)}$`));
    assert.match(lines[2]!, new RegExp(`^${demoCallSid(3)},.*,amber,'=The function book failed\\.,`));
    assert.equal(bad.code, 2);
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
