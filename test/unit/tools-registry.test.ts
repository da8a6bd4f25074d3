import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallbridgeError } from '../../src/shared/errors.js';
import { loadToolModules, loadToolRegistry, ToolRegistry, createHttpTool } from '../../src/tools/index.js';

const FIXTURES = 'test/fixtures/flows';

describe('tool registry', () => {
  it('loads function modules from a folder, skipping helpers in sub-folders', async () => {
    const { tools, problems } = await loadToolModules(`${FIXTURES}/tools-good`);
    assert.deepStrictEqual(problems, []);
    assert.deepStrictEqual(tools.map((t) => [t.name, t.source]), [['greet', `${FIXTURES}/tools-good/greet.ts`]]);
  });

  it('loads the shipped dental functions', async () => {
    const registry = await loadToolRegistry('tools');
    assert.deepStrictEqual(registry.codeTools().map((t) => t.name).sort(), ['book_appointment', 'cancel_appointment', 'check_availability', 'move_appointment']);
  });

  it('reports every broken module, naming the file, and keeps the good ones', async () => {
    const { tools, problems } = await loadToolModules(`${FIXTURES}/tools-bad`);
    assert.deepStrictEqual(tools.map((t) => t.name), ['twin', 'fine']);
    const byFile = Object.fromEntries(problems.map((p) => [p.file.replace(`${FIXTURES}/tools-bad/`, ''), p.message]));
    assert.deepStrictEqual(Object.keys(byFile), ['a-throws.ts', 'b-no-default.ts', 'c-wrong-shape.ts', 'd-builtin-name.ts', 'f-dup-2.ts', 'g-bad-schema.ts']);
    assert.match(byFile['a-throws.ts']!, /^cannot load the module: database driver missing$/);
    assert.match(byFile['b-no-default.ts']!, /no default export; end it with `export default defineTool/);
    assert.match(byFile['c-wrong-shape.ts']!, /default export is not a defineTool\(\.\.\.\) result/);
    assert.match(byFile['d-builtin-name.ts']!, /end_call has the name of a built-in function/);
    assert.match(byFile['f-dup-2.ts']!, /twin is also defined in test\/fixtures\/flows\/tools-bad\/e-dup-1\.ts/);
    assert.match(byFile['g-bad-schema.ts']!, /cannot load the module: function unionish: value: unions/);
  });

  it('a broken tools folder is one boot error listing every file', async () => {
    await assert.rejects(loadToolRegistry(`${FIXTURES}/tools-bad`), (err: unknown) => {
      assert.ok(err instanceof CallbridgeError);
      assert.equal(err.code, 'CB_FLOW_INVALID');
      for (const f of ['a-throws.ts', 'b-no-default.ts', 'c-wrong-shape.ts', 'd-builtin-name.ts', 'f-dup-2.ts', 'g-bad-schema.ts']) assert.ok(err.message.includes(f), f);
      return true;
    });
  });

  it('a missing tools folder means no code functions', async () => {
    assert.deepStrictEqual(await loadToolModules(`${FIXTURES}/no-such-folder`), { tools: [], problems: [], modules: new Map() });
  });

  it('scopes HTTP functions to their flow', () => {
    const http = createHttpTool({ name: 'lookup_order', description: 'd', url: 'http://127.0.0.1:1/x' }, { secret: 's'.repeat(16), source: 'f.yaml' });
    const registry = ToolRegistry.create().withFlowFunctions('shop', [http]);
    assert.equal(registry.get('lookup_order', 'shop'), http);
    assert.equal(registry.get('lookup_order', 'dental'), undefined);
    assert.equal(registry.get('lookup_order'), undefined);
    assert.equal(registry.get('end_call', 'shop')?.kind, 'builtin');
    assert.deepStrictEqual(registry.names('shop'), ['end_call', 'go_to_stage', 'lookup_order', 'transfer_call']);
  });
});
