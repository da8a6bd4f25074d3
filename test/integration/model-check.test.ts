/**
 * The model check (src/health/model-check.ts) against the built-in emulator, which serves a model
 * catalogue and refuses an unknown model with 1008 like the real endpoint: an accepted and a
 * refused model, the cache hit on the second run (no new session), and `flows:check` honouring
 * FLOWS_DIR / TOOLS_DIR / DATA_DIR and checking the flows' models when a key is set.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { checkModels, describeVerdicts, modelUses } from '../../src/health/model-check.js';
import { refusedModels, runBootChecks } from '../../src/health/boot-checks.js';
import { FlowCatalog } from '../../src/flows/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { testFlow, TOOLS_MODULE, ZOD_MODULE } from '../support/e2e.js';

const run = promisify(execFile);
const GOOD = 'gemini-2.5-flash-native-audio-preview-09-2025';
const BAD = 'gemini-9.9-flash-live-nonexistent';

describe('model check against the emulator', () => {
  let emulator: Emulator;
  let dir: string;

  before(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', ttsCacheDir: join(tmpdir(), 'callbridge-test-tts') });
    dir = mkdtempSync(join(tmpdir(), 'cb-models-'));
  });
  after(async () => {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a served model, refuses an unknown one, and the second run uses the cache', async () => {
    const cacheFile = join(dir, 'cache', 'model-check.json');
    const options = { apiKey: 'test-key', url: emulator.url, cacheFile };
    const before = emulator.sessions.length;
    const first = await checkModels([GOOD, BAD, GOOD], options);
    assert.deepEqual(first.map((v) => [v.model, v.status, v.cached]), [[GOOD, 'accepted', false], [BAD, 'refused', false]]);
    assert.equal(first[1]!.code, 'CB_GEMINI_MODEL_NOT_FOUND');
    assert.equal(emulator.sessions.length - before, 2, 'one setup per model');
    const stored = JSON.parse(readFileSync(cacheFile, 'utf8')) as { accepted: Record<string, { model: string }> };
    assert.deepEqual(Object.values(stored.accepted).map((e) => e.model), [GOOD], 'only accepted models are cached');
    assert.ok(!readFileSync(cacheFile, 'utf8').includes('test-key'), 'the key is not written');

    const second = await checkModels([GOOD, BAD], options);
    assert.deepEqual(second.map((v) => [v.model, v.status, v.cached]), [[GOOD, 'accepted', true], [BAD, 'refused', false]]);
    assert.equal(emulator.sessions.length - before, 3, 'the cached model opened no session; the refused one was checked again');

    // Another key, or an expired entry, is checked again.
    await checkModels([GOOD], { ...options, apiKey: 'other-key' });
    assert.equal(emulator.sessions.length - before, 4);
    const later = await checkModels([GOOD], { ...options, now: () => Date.now() + 2 * 86_400_000 });
    assert.equal(later[0]!.cached, false);
  });

  it('names the flows that use a refused model', async () => {
    const uses = modelUses(
      [{ name: 'dental', model: BAD, fallbackModels: [] }, { name: 'ivr', fallbackModels: [] }],
      { defaultModel: GOOD, defaultFallbackModels: [] },
    );
    const verdicts = await checkModels(uses.keys(), { apiKey: 'test-key', url: emulator.url });
    const { errors, warnings } = describeVerdicts(verdicts, uses);
    assert.deepEqual(warnings, []);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, new RegExp(`^model ${BAD} \\(used by flow dental\\) was refused by the Gemini endpoint: .*\\[CB_GEMINI_MODEL_NOT_FOUND\\]$`));
  });

  it('boot with a key stops on a refused model (CB_FLOW_INVALID naming flow and model) and passes on served ones', async () => {
    const env = { GEMINI_API_KEY: 'test-key', GEMINI_LIVE_URL: emulator.url, TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32), TWILIO_AUTH_TOKEN: 'tok' };
    const flows = [{ name: 'line', model: BAD, fallbackModels: [], transfers: {} }];
    await assert.rejects(
      runBootChecks({ flows, env, dataDir: dir, log: silentLogger(), defaultModel: GOOD, defaultFallbackModels: [] }),
      (err: Error & { code?: string }) => err.code === 'CB_FLOW_INVALID' && err.message.includes(`model ${BAD} (used by flow line)`),
    );
    await runBootChecks({ flows: [{ ...flows[0]!, model: GOOD }], env, dataDir: dir, log: silentLogger(), defaultModel: GOOD, defaultFallbackModels: [] });
  });

  it('a hot reload that brings in a refused model is refused; the last good flow keeps serving', async () => {
    const env = { GEMINI_API_KEY: 'test-key', GEMINI_LIVE_URL: emulator.url };
    const flowsDir = join(dir, 'reload-flows');
    const toolsDir = join(dir, 'reload-tools');
    mkdirSync(flowsDir, { recursive: true });
    mkdirSync(toolsDir, { recursive: true });
    writeFileSync(join(flowsDir, 'line.yaml'), testFlow({ name: 'line', model: GOOD }));
    const checks = { env, dataDir: dir, log: silentLogger(), defaultModel: GOOD, defaultFallbackModels: [] };
    const catalog = await FlowCatalog.open({
      flowsDir, toolsDir, env: {}, log: silentLogger(),
      vet: async (flows) => (await refusedModels({ ...checks, flows })).map((message) => ({ file: flowsDir, message })),
    });
    try {
      writeFileSync(join(flowsDir, 'line.yaml'), testFlow({ name: 'line', model: BAD }));
      const refused = await catalog.reload('test');
      assert.equal(refused.applied, false);
      assert.ok(refused.problems.some((p) => p.message.includes(`model ${BAD} (used by flow line)`)), JSON.stringify(refused.problems));
      assert.equal(catalog.current.flows[0]!.model, GOOD, 'the last good version serves');

      writeFileSync(join(flowsDir, 'line.yaml'), testFlow({ name: 'line', model: GOOD, greeting: 'Hello again.' }));
      const applied = await catalog.reload('test');
      assert.equal(applied.applied, true, JSON.stringify(applied.problems));
      assert.equal(catalog.current.flows[0]!.greeting, 'Hello again.');
    } finally {
      catalog.close();
    }
  });

  it('flows:check reads FLOWS_DIR and TOOLS_DIR, and with a key checks the models (cached on the second run)', async () => {
    const flowsDir = join(dir, 'my-flows');
    const toolsDir = join(dir, 'my-tools');
    const dataDir = join(dir, 'data');
    mkdirSync(flowsDir);
    mkdirSync(toolsDir);
    writeFileSync(join(flowsDir, 'line.yaml'), testFlow({ model: GOOD, functions: ['shop_hours'] }));
    writeFileSync(
      join(toolsDir, 'shop-hours.ts'),
      `import { z } from '${ZOD_MODULE}';\nimport { defineTool } from '${TOOLS_MODULE}';\nexport default defineTool({ name: 'shop_hours', description: 'Hours.', schema: z.object({}), handler: () => ({ open: '9-5' }) });\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, FLOWS_DIR: flowsDir, TOOLS_DIR: toolsDir, DATA_DIR: dataDir, GEMINI_API_KEY: 'test-key', GEMINI_LIVE_URL: emulator.url };
    delete env['GEMINI_MODEL'];
    const script = ['--import', 'tsx', 'scripts/flows-check.ts'];
    const ok = await run(process.execPath, script, { env });
    assert.match(ok.stdout, /^ok {2}test-line \(.*my-flows\/line\.yaml\): default; 1 stage; 3 functions;/m);
    assert.match(ok.stdout, new RegExp(`^ok {2}model ${GOOD}: accepted$`, 'm'));
    const again = await run(process.execPath, script, { env });
    assert.match(again.stdout, new RegExp(`^ok {2}model ${GOOD}: accepted \\(checked recently\\)$`, 'm'));

    writeFileSync(join(flowsDir, 'line.yaml'), testFlow({ model: BAD, topLevel: 'voice: Robot' }));
    const badVoice = await run(process.execPath, script, { env }).then(() => assert.fail('should exit 1'), (e: { code: number; stderr: string }) => e);
    assert.equal(badVoice.code, 1);
    assert.match(badVoice.stderr, /line\.yaml:\d+ voice — "Robot" is not a Gemini Live voice/);

    writeFileSync(join(flowsDir, 'line.yaml'), testFlow({ model: BAD }));
    const refused = await run(process.execPath, script, { env }).then(() => assert.fail('should exit 1'), (e: { code: number; stderr: string }) => e);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`model ${BAD} \\(used by flow test-line\\) was refused by the Gemini endpoint`));
    assert.match(refused.stderr, /1 model refused\./);
  });
});
