/**
 * WORKERS=2 (src/workers/primary.ts) as `npm start` runs it, on 127.0.0.1: both workers serve
 * the one port (fresh connections reach both, told apart by /metrics' instance pid); a worker
 * killed from outside is replaced; SIGTERM on the primary drains and stops every worker, and the
 * primary exits 0. Waits on observed state, never on elapsed time (the loops are bounded only so a
 * broken build fails instead of hanging).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { rmSync } from 'node:fs';
import { serverDirs, startServerProcess } from '../support/server-process.js';
import { testFlow } from '../support/e2e.js';

/** GET on a fresh connection (no keep-alive: round-robin hands each connection to the next worker). */
function getFresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // A connection handed to a worker as it is killed gets no answer: give up on it, ask again.
    req.setTimeout(3000, () => req.destroy(new Error('no answer')));
    req.on('error', reject);
  });
}

/** The pid and worker slot that answered a /metrics scrape. */
async function whoAnswers(url: string): Promise<{ pid: string; worker: string } | undefined> {
  const res = await getFresh(`${url}/metrics`).catch(() => undefined);
  const m = res && /callbridge_instance_info\{worker="(\d+)",pid="(\d+)"\} 1/.exec(res.body);
  return m ? { worker: m[1]!, pid: m[2]! } : undefined;
}

/**
 * Scrapes until `done(seen)` holds, 100 ms apart (so the scrapes do not starve a worker that is
 * still starting); at most `tries` scrapes.
 */
async function scrapeUntil(url: string, done: (seen: Map<string, string>) => boolean, tries = 1500): Promise<Map<string, string>> {
  const seen = new Map<string, string>(); // pid → worker slot
  for (let i = 0; i < tries && !done(seen); i++) {
    const who = await whoAnswers(url);
    if (who) seen.set(who.pid, who.worker);
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

describe('WORKERS=2', () => {
  it('two workers serve one port; a killed worker is replaced; SIGTERM stops them all cleanly', async () => {
    const { dir, env } = serverDirs('cb-workers-', { 'test.yaml': testFlow() });
    const server = await startServerProcess({ ...env, WORKERS: '2', SHUTDOWN_DEADLINE_MS: '5000' });
    try {
      const both = await scrapeUntil(server.url, (s) => new Set(s.values()).size === 2);
      assert.deepEqual([...new Set(both.values())].sort(), ['1', '2'], `both worker slots answered on one port:\n${server.output()}`);
      const pids = [...both.keys()];
      assert.equal(pids.length, 2, 'two processes');
      assert.ok(!pids.includes(String(server.child.pid)), 'the primary serves no request itself');

      // A crash (SIGKILL from outside) is replaced in the same slot by a new process.
      const [victim, victimSlot] = [...both.entries()][0]!;
      process.kill(Number(victim), 'SIGKILL');
      const after = await scrapeUntil(server.url, (s) => [...s.entries()].some(([pid, slot]) => slot === victimSlot && !pids.includes(pid)));
      const replacement = [...after.entries()].find(([pid, slot]) => slot === victimSlot && !pids.includes(pid));
      assert.ok(replacement, `slot ${victimSlot} serves again from a new process:\n${server.output()}`);
      assert.match(server.output(), /worker exited unexpectedly; restarting it/);

      server.child.kill('SIGTERM');
      const exit = await server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, `the primary exits 0 after its workers:\n${server.output()}`);
      const stopped = server.output().match(/"msg":"worker stopped"/g) ?? [];
      assert.equal(stopped.length, 2, 'both workers reported stopped');
      assert.equal((server.output().match(/"msg":"calls drained"/g) ?? []).length, 2, 'each worker drained its calls');
      for (const pid of [replacement[0], ...pids.filter((p) => p !== victim)]) {
        assert.throws(() => process.kill(Number(pid), 0), /ESRCH/, `worker ${pid} is gone`);
      }
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
