import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/shared/log.js';
import { CallbridgeError } from '../../src/shared/errors.js';
import { FlowCatalog, type ReloadResult } from '../../src/flows/index.js';

const flow = (name: string, greeting: string, extra = '') =>
  `name: ${name}\n${extra}persona: A test.\ngreeting: ${greeting}\nstages:\n  - name: main\n    instructions: Help.\n`;

function folders(files: Record<string, string>): { root: string; flowsDir: string; toolsDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'cb-catalog-'));
  const flowsDir = join(root, 'flows');
  const toolsDir = join(root, 'tools');
  mkdirSync(flowsDir);
  mkdirSync(toolsDir);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(flowsDir, file), text);
  return { root, flowsDir, toolsDir };
}

async function open(files: Record<string, string>) {
  const dirs = folders(files);
  const catalog = await FlowCatalog.open({ ...dirs, log: silentLogger(), env: {}, debounceMs: 20 });
  return { ...dirs, catalog };
}

describe('FlowCatalog', () => {
  it('each flow carries its version: the first 12 hex of the SHA-256 of its file', async () => {
    const text = flow('a', 'Hello.', 'default: true\n');
    const { catalog, root } = await open({ 'a.yaml': text });
    try {
      assert.equal(catalog.current.flows[0]!.version, createHash('sha256').update(text).digest('hex').slice(0, 12));
      assert.equal(catalog.lastReload.reason, 'boot');
      assert.deepEqual(catalog.lastReload.versions, { a: catalog.current.flows[0]!.version });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an invalid start is one CB_FLOW_INVALID listing every problem', async () => {
    const dirs = folders({ 'a.yaml': 'name: a\ndefault: true\npersona: x\n' });
    try {
      await assert.rejects(FlowCatalog.open({ ...dirs, log: silentLogger(), env: {} }), (err: unknown) => {
        assert.ok(err instanceof CallbridgeError);
        assert.equal(err.code, 'CB_FLOW_INVALID');
        assert.match(err.message, /a\.yaml:\d+/);
        return true;
      });
    } finally {
      rmSync(dirs.root, { recursive: true, force: true });
    }
  });

  it('an edit applies; a broken edit is refused and the last good version keeps serving', async () => {
    const { catalog, root, flowsDir } = await open({ 'a.yaml': flow('a', 'One.', 'default: true\n') });
    try {
      const v1 = catalog.current.flows[0]!.version;
      writeFileSync(join(flowsDir, 'a.yaml'), flow('a', 'Two.', 'default: true\n'));
      const applied = await catalog.reload();
      assert.equal(applied.applied, true);
      assert.deepEqual(applied.changed, { added: [], removed: [], updated: ['a'] });
      assert.equal(catalog.current.flows[0]!.greeting, 'Two.');
      const v2 = catalog.current.flows[0]!.version;
      assert.notEqual(v2, v1);

      writeFileSync(join(flowsDir, 'a.yaml'), flow('a', 'Three.', 'default: true\nvoice: [\n'));
      const refused = await catalog.reload();
      assert.equal(refused.applied, false);
      assert.ok(refused.problems.length > 0);
      assert.ok(refused.problems.every((p) => p.file.endsWith('a.yaml') && typeof p.line === 'number'), JSON.stringify(refused.problems));
      assert.deepEqual(refused.versions, { a: v2 }, 'what serves is reported');
      assert.equal(catalog.current.flows[0]!.greeting, 'Two.');
      assert.equal(catalog.lastReload, refused, '/flows shows the refused change’s problems');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a change that breaks a rule across files (two defaults) is refused as a whole', async () => {
    const { catalog, root, flowsDir } = await open({ 'a.yaml': flow('a', 'A.', 'default: true\n'), 'b.yaml': flow('b', 'B.', 'numbers: ["+15550001111"]\n') });
    try {
      writeFileSync(join(flowsDir, 'b.yaml'), flow('b', 'B two.', 'default: true\n'));
      const r = await catalog.reload();
      assert.equal(r.applied, false);
      assert.ok(r.problems.some((p) => /several flows are the default/.test(p.message)));
      assert.equal(catalog.current.router.route('+15550001111')?.name, 'b', 'the old routing stays');
      assert.equal(catalog.current.flows.find((f) => f.name === 'b')?.greeting, 'B.');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reloads never overlap: one asked for during another runs after it, and later asks share it', async () => {
    const { catalog, root } = await open({ 'a.yaml': flow('a', 'A.', 'default: true\n') });
    try {
      const order: string[] = [];
      catalog.onReload((r) => order.push(r.reason));
      const first = catalog.reload('first');
      const second = catalog.reload('second');
      const third = catalog.reload('third');
      assert.notEqual(first, second);
      assert.equal(second, third, 'requests while one is queued share it');
      await Promise.all([first, second, third]);
      assert.deepEqual(order, ['first', 'second']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('watch: saving a flow file reloads by itself; a listener that throws does not stop it', async () => {
    const { catalog, root, flowsDir } = await open({ 'a.yaml': flow('a', 'A.', 'default: true\n') });
    try {
      catalog.onReload(() => {
        throw new Error('listener bug');
      });
      catalog.watch();
      const seen = new Promise<ReloadResult>((resolve) => {
        catalog.onReload((r) => {
          if (r.versions['b'] !== undefined) resolve(r);
        });
      });
      // The watcher and its debounce timer do not hold the process open (a server does); this test must.
      const keepAlive = setInterval(() => {}, 1000);
      writeFileSync(join(flowsDir, 'b.yaml'), flow('b', 'B.', 'numbers: ["+15550002222"]\n'));
      const r = await seen.finally(() => clearInterval(keepAlive));
      assert.equal(r.reason, 'watch');
      assert.equal(r.applied, true);
      assert.deepEqual(r.changed.added, ['b']);
      assert.equal(catalog.current.router.route('+15550002222')?.name, 'b');
    } finally {
      catalog.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
