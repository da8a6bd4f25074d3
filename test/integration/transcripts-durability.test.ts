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

describe('transcript durability', () => {
  it('after SIGKILL, every event enqueued more than 1 s before the kill is on disk, in order', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-kill-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const callSid = demoCallSid(77);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/transcripts-kill-child.ts', dir, callSid], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const enqueued: { seq: number; atMs: number }[] = [];
    let killedAt = 0;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000); // upper bound only
    for await (const line of createInterface({ input: child.stdout! })) {
      const m = /^enq (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      enqueued.push({ seq: Number(m[1]), atMs: Number(m[2]) });
      if (killedAt === 0 && enqueued[enqueued.length - 1]!.atMs - enqueued[0]!.atMs >= 2500) {
        killedAt = Date.now();
        child.kill('SIGKILL');
      }
    }
    clearTimeout(guard);
    assert.equal(await exited, 'SIGKILL');
    assert.ok(killedAt > 0, 'the child ran long enough');

    const store = openSqliteStore({ dataDir: dir });
    try {
      const stored = await store.getEvents(callSid);
      const storedSeqs = stored.map((e) => e.seq);
      assert.deepEqual(storedSeqs, storedSeqs.map((_, i) => i + 1), 'a gap-free prefix, in order');
      const mustHave = enqueued.filter((e) => e.atMs < killedAt - 1000);
      assert.ok(mustHave.length > 100, `enough events to judge (${mustHave.length})`);
      const lastStored = storedSeqs[storedSeqs.length - 1] ?? 0;
      const missing = mustHave.filter((e) => e.seq > lastStored);
      assert.deepEqual(missing, [], `events older than 1 s before the kill are stored (stored ${stored.length} of ${enqueued.length})`);
      assert.ok((await store.getCall(callSid)) !== undefined, 'the record is there too');
    } finally {
      await store.close();
    }
  });
});
