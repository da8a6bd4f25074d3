import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadFlowSources, type Flow } from '../../src/flows/index.js';
import { layoutFlow, clip, conditionOf, BOX_WIDTH, MAX_CHARS, type DiagramLayout } from '../../src/flows/diagram.js';
import { defineTool, ToolRegistry } from '../../src/tools/index.js';

const registry = ToolRegistry.create([
  defineTool({ name: 'lookup', description: 'Look something up.', schema: z.object({ q: z.string() }), handler: ({ q }) => ({ q }) }),
  defineTool({ name: 'book', description: 'Book it.', schema: z.object({ when: z.string() }), handler: () => ({ status: 'booked' }) }),
]);

function load(file: string): Flow {
  const result = loadFlowSources([{ file, text: readFileSync(file, 'utf8') }], { registry, env: {} });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.flows[0]!;
}

const engine = (): DiagramLayout => layoutFlow(load('test/fixtures/flows/engine.yaml'));

describe('stage diagram layout', () => {
  it('one box per stage in file order, the first marked as the start, boxes not overlapping', () => {
    const d = engine();
    assert.deepEqual(d.nodes.map((n) => n.stage), ['menu', 'booking', 'support', 'done']);
    assert.deepEqual(d.nodes.map((n) => n.start), [true, false, false, false]);
    for (let i = 1; i < d.nodes.length; i++) {
      const above = d.nodes[i - 1]!;
      assert.ok(d.nodes[i]!.y >= above.y + above.height + 1, `${d.nodes[i]!.stage} starts below ${above.stage}`);
    }
    for (const n of d.nodes) {
      assert.ok(n.x >= 0 && n.y >= 0 && n.x + n.width <= d.width && n.y + n.height <= d.height, `${n.stage} inside the drawing`);
    }
  });

  it('one arrow per move to another stage, labelled with its condition', () => {
    const d = engine();
    assert.deepEqual(
      d.edges.map((e) => [e.from, e.to, e.kind, e.label]),
      [
        ['menu', 'booking', 'key', 'key 1'],
        ['menu', 'support', 'key', 'key 2'],
        ['booking', 'menu', 'key', 'key *'],
        ['booking', 'done', 'function', 'after book if result.status = booked'],
        ['booking', 'support', 'function', 'after book if status in full, closed'],
        ['booking', 'menu', 'silence', 'after 8 s of silence'],
      ],
    );
  });

  it('arrows leave their source box and end on their target box, each in a lane of its own', () => {
    const d = engine();
    const box = new Map(d.nodes.map((n) => [n.stage, n]));
    const lanes = new Set<number>();
    for (const e of d.edges) {
      const [start, , , end] = e.points;
      const src = box.get(e.from)!;
      const dst = box.get(e.to)!;
      assert.equal(start![0], src.x + src.width, 'starts on the right side of its source');
      assert.ok(start![1] > src.y && start![1] < src.y + src.height, `${e.label}: starts within ${e.from}`);
      assert.equal(end![0], dst.x + dst.width, 'ends on the right side of its target');
      assert.ok(end![1] > dst.y && end![1] < dst.y + dst.height, `${e.label}: ends within ${e.to}`);
      assert.equal(e.points[1]![0], e.points[2]![0], 'the middle segment is vertical');
      assert.ok(e.points[1]![0] > src.x + src.width, 'the lane is right of the boxes');
      assert.ok(e.labelAt[0] + e.label.length * 6.5 <= d.width, 'the label fits in the drawing');
      lanes.add(e.points[1]![0]);
    }
    assert.equal(lanes.size, d.edges.length, 'no two arrows share a lane');
    // Anchors on one box never coincide.
    for (const n of d.nodes) {
      const ys = d.edges.flatMap((e) => [...(e.from === n.stage ? [e.points[0]![1]] : []), ...(e.to === n.stage ? [e.points[3]![1]] : [])]);
      assert.equal(new Set(ys).size, ys.length, `${n.stage}: distinct anchors`);
    }
  });

  it('shorter moves get the inner lanes', () => {
    const d = engine();
    const lane = (from: string, to: string, kind: string) => d.edges.find((e) => e.from === from && e.to === to && e.kind === kind)!.points[1]![0];
    assert.ok(lane('menu', 'booking', 'key') < lane('booking', 'done', 'function'), 'a span of 1 inside a span of 2');
    assert.ok(lane('booking', 'support', 'function') < lane('menu', 'support', 'key'), 'a span of 1 inside a span of 2');
  });

  it('box lines: purpose, functions, keys and exits that leave the flow; flow-wide keys as notes', () => {
    const d = engine();
    const menu = d.nodes[0]!;
    const texts = menu.lines.map((l) => `${l.kind}: ${l.text}`);
    assert.deepEqual(texts, [
      'purpose: Ask what the caller wants.',
      'function: ƒ go_to_stage, transfer_call',
      'enter: on enter: say “Welcome to the menu.”',
      'key: key 2 → say “Going to support.”',
      'key: key 3 → say “Goodbye.”, then end call',
      'key: key 9 → say “Menu nine.”',
      'exit: after 5 s of silence → say “Still there?”',
      'exit: after 15 s of silence → end call',
    ]);
    const exit = d.nodes[1]!.lines.find((l) => l.kind === 'exit');
    assert.deepEqual(exit, { kind: 'exit', text: 'after lookup if error_code is set → transfer to d…', full: 'after lookup if error_code is set → transfer to desk (+15550000001)' });
    assert.deepEqual(d.notes, ['Any stage: key 0 → transfer to desk (+15550000001)', 'Any stage: key 9 → say “Global nine.”']);
    assert.ok(d.nodes[0]!.y > 16 + 16, 'the notes sit above the first box');
    for (const n of d.nodes) for (const l of n.lines) assert.ok(l.text.length <= MAX_CHARS, `clipped: ${l.text}`);
    assert.equal(menu.width, BOX_WIDTH);
  });

  it('the shipped dental flow: moves only through go_to_stage are listed as a function, not drawn', () => {
    const result = loadFlowSources([{ file: 'flows/dental-receptionist.yaml', text: readFileSync('flows/dental-receptionist.yaml', 'utf8') }], {
      registry: ToolRegistry.create(['check_availability', 'book_appointment', 'move_appointment', 'cancel_appointment'].map((name) =>
        defineTool({ name, description: name, schema: z.object({}), handler: () => ({}) }))),
      env: {},
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const d = layoutFlow(result.flows[0]!);
    assert.deepEqual(d.edges.map((e) => `${e.from}→${e.to}`), ['booking→wrap-up', 'changes→wrap-up', 'changes→wrap-up']);
    assert.ok(d.nodes[0]!.lines.some((l) => l.text.startsWith('ƒ go_to_stage')));
  });

  it('helpers: clip and conditions', () => {
    assert.equal(clip('a  b\nc'), 'a b c');
    assert.equal(clip('x'.repeat(50), 10), `${'x'.repeat(9)}…`);
    assert.equal(conditionOf({ onSilence: { afterMs: 1500 } }), 'after 1.5 s of silence');
    assert.equal(conditionOf({ onFunction: 'f' }), 'after f');
    assert.equal(conditionOf({ onFunction: 'f', when: { field: 'ok', exists: false } }), 'after f if ok is not set');
  });
});
