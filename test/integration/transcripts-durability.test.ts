import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import { demoCallSid } from '../support/transcripts-fixtures.js';

const root = new URL('../..', import.meta.url).pathname;
/** The child (test/support/transcripts-kill-child.ts) enqueues 3 events every 4 ms tick… */
const EVENTS_PER_TICK = 3;
const TICK_MS = 4;
/** …through a writer that flushes 200 ms after the first event it holds (its default). */
const FLUSH_INTERVAL_MS = 200;
/**
 * The most events one flush can hold, counted in the child's own ticks rather than in ms: an
 * interval fires at most once per TICK_MS, and a stalled process runs an overdue one once, so a
 * flush interval spans at most FLUSH_INTERVAL_MS / TICK_MS ticks (+ slack) however busy the
 * machine. A writer flushing every second or more would hold five times as many.
 */
const MAX_EVENTS_PER_FLUSH = EVENTS_PER_TICK * (FLUSH_INTERVAL_MS / TICK_MS + 10);
const COMMITS_BEFORE_KILL = 10;

describe('transcript durability', () => {
  it('after SIGKILL, every committed event is on disk, in order; the writer commits everything it holds every flush interval', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-kill-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const callSid = demoCallSid(77);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/transcripts-kill-child.ts', dir, callSid], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    // What the child reported, in the order it happened there, up to the moment it was killed.
    let lastEnq = 0;
    const commits: { seq: number; events: number; lastEnqBefore: number }[] = [];
    let killed = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000); // upper bound only: a child that never commits
    for await (const line of createInterface({ input: child.stdout! })) {
      if (killed) continue;
      const enq = /^enq (\d+)$/.exec(line);
      if (enq) lastEnq = Number(enq[1]);
      const commit = /^commit (\d+) (\d+)$/.exec(line);
      if (commit) commits.push({ seq: Number(commit[1]), events: Number(commit[2]), lastEnqBefore: lastEnq });
      if (commits.length >= COMMITS_BEFORE_KILL) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
    clearTimeout(guard);
    assert.equal(await exited, 'SIGKILL');
    assert.equal(commits.length, COMMITS_BEFORE_KILL, `the writer committed batches while the call went on (${commits.length} before the kill)`);
    const committed = commits.at(-1)!.seq;
    assert.ok(committed > 100, `enough events to judge (${committed} committed before the kill)`);

    // Each commit holds everything enqueued up to it, and no more than one flush interval's worth.
    for (const [i, c] of commits.entries()) {
      assert.equal(c.seq, c.lastEnqBefore, `commit ${i} wrote every event enqueued before it (up to ${c.lastEnqBefore}), not just up to ${c.seq}`);
      assert.ok(c.events <= MAX_EVENTS_PER_FLUSH, `commit ${i} held ${c.events} events: at most ${MAX_EVENTS_PER_FLUSH} (${FLUSH_INTERVAL_MS} ms of ${TICK_MS} ms ticks)`);
    }
    const waiting = lastEnq - committed;
    assert.ok(waiting <= MAX_EVENTS_PER_FLUSH, `at the kill, ${waiting} events waited for the next flush: at most ${MAX_EVENTS_PER_FLUSH}`);

    const store = openSqliteStore({ dataDir: dir });
    try {
      const stored = await store.getEvents(callSid);
      const storedSeqs = stored.map((e) => e.seq);
      assert.deepEqual(storedSeqs, storedSeqs.map((_, i) => i + 1), 'a gap-free prefix, in order');
      const lastStored = storedSeqs[storedSeqs.length - 1] ?? 0;
      assert.ok(lastStored >= committed, `every event committed before the kill is stored (stored ${lastStored}, committed ${committed} of ${lastEnq} enqueued)`);
      assert.ok((await store.getCall(callSid)) !== undefined, 'the record is there too');
      console.log(`# durability: ${commits.length} commits of ${commits.map((c) => c.events).join('/')} events; ${committed} committed, ${lastEnq} enqueued, ${lastStored} stored after SIGKILL`);
    } finally {
      await store.close();
    }
  });
});
