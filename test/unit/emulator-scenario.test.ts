import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCENARIO_PATH, ScenarioError, loadScenarioFile, parseScenario, renderTemplate, templateContext } from '../../src/emulator/index.js';
import { ScenarioCursor } from '../../src/emulator/cursor.js';

function problems(yaml: string, file = 'scenarios/bad.yaml'): string[] {
  try {
    parseScenario(yaml, file);
  } catch (err) {
    assert.ok(err instanceof ScenarioError);
    return err.problems;
  }
  assert.fail('expected a ScenarioError');
}

describe('emulator scenarios', () => {
  it('loads the default scenario: a greeting, turns with one tool call, an end-of-scenario line', async () => {
    const s = await loadScenarioFile(DEFAULT_SCENARIO_PATH);
    assert.equal(s.name, 'dental-receptionist');
    assert.ok(s.greeting?.say);
    const withTools = s.turns.filter((t) => t.toolCalls);
    assert.equal(withTools.length, 1);
    assert.equal(withTools[0]!.toolCalls![0]!.name, 'check_availability');
    assert.match(JSON.stringify(withTools[0]!.afterTool), /\{\{output\.slots\.0\}\}/);
    assert.equal(s.endOfScenario.mode, 'repeat');
  });

  it('names file, line and field of each problem', () => {
    const found = problems(['greeting: hi', 'turns:', '  - heard: a', '    say: b', '  - heard: c', '    toolCalls:', '      - args: {}', '    sing: x'].join('\n'));
    assert.ok(found.some((p) => /^scenarios\/bad\.yaml:7:\d+ turns\[1\]\.toolCalls\[0\]\.name: /.test(p)), found.join('\n'));
    assert.ok(found.some((p) => /^scenarios\/bad\.yaml:5:\d+ turns\[1\]: .*sing/.test(p)), found.join('\n'));
  });

  it('rejects bad says, regexes, orphan afterTool and YAML syntax errors', () => {
    assert.match(problems('turns:\n  - say: { toneHz: 1000 }\n').join('\n'), /turns\[0\]\.say: must be a line of text/);
    assert.match(problems("turns:\n  - match: '(['\n    say: x\n").join('\n'), /turns\[0\]\.match: is not a valid regular expression/);
    assert.match(problems('turns:\n  - say: x\n    afterTool: { say: y }\n').join('\n'), /turns\[0\]\.afterTool: afterTool\/afterToolError need toolCalls/);
    assert.match(problems('turns:\n  - heard: x\n').join('\n'), /turns\[0\]: needs `say` or `toolCalls`/);
    assert.match(problems('turns: [\n').join('\n'), /^scenarios\/bad\.yaml:\d+:\d+ /);
  });

  it('a missing file is a ScenarioError naming it', async () => {
    await assert.rejects(loadScenarioFile('/nonexistent/x.yaml'), (err: unknown) => err instanceof ScenarioError && /\/nonexistent\/x\.yaml/.test(err.message));
  });

  it('templates read tool responses: output fields, error, per-function, whole-object output', () => {
    const ctx = templateContext([
      { id: '1', name: 'check', response: { output: { slots: ['9:00', '10:00'], n: 2 } } },
      { id: '2', name: 'other', response: { error: { message: 'down' } } },
    ]);
    assert.equal(renderTemplate('{{output.slots.1}} of {{ output.n }} via {{name}}', ctx), '10:00 of 2 via check');
    assert.equal(renderTemplate('{{other.error}}; {{missing.x}}!', ctx), 'down; !');
    assert.equal(renderTemplate('{{output.ok}}', templateContext([{ id: '1', name: 'f', response: { ok: true } }])), 'true');
  });
});

describe('emulator scenario cursor', () => {
  const scenario = parseScenario(
    ['greeting: hello', 'turns:', '  - { heard: one, say: "1" }', '  - { match: "pressed (\\\\d)", say: digit }', '  - { heard: two, say: "2" }', 'endOfScenario: { say: bye }'].join('\n'),
    'inline',
  );

  it('text → match turn, else greeting first, else next turn; audio skips match turns; then the closing line', () => {
    const c = new ScenarioCursor(scenario);
    assert.equal(c.forText('start').reply.say, 'hello');
    assert.equal(c.forText('The caller pressed 5').reply.say, 'digit');
    assert.equal(c.forUtterance().heard, 'one');
    assert.equal(c.forUtterance().heard, 'two');
    assert.deepEqual(c.forUtterance().reply, { say: 'bye' });
    assert.equal(c.forText('pressed 1').reply.say, 'bye', 'a used match turn is not repeated');
  });

  it('snapshots and restores the position', () => {
    const c = new ScenarioCursor(scenario);
    c.forText('hi');
    c.forUtterance();
    const resumed = new ScenarioCursor(scenario, c.snapshot());
    assert.equal(resumed.forUtterance().heard, 'two');
    assert.equal(resumed.forText('again').reply.say, 'bye', 'no second greeting after resuming');
  });

  it('lists fixed lines for pre-rendering, skipping templated ones', () => {
    const s = parseScenario('greeting: hi\nturns:\n  - say: "a {{output.x}}"\n  - say: { toneHz: 5, durationMs: 5 }\n  - say: b\n', 'inline');
    assert.deepEqual(new ScenarioCursor(s).lines().map((l) => l.text), ['hi', 'b']);
  });
});
