/**
 * `pipeline:` and `tts:` in a flow file (src/flows/schema.ts; docs/cascade.md, "Flow keys"): the
 * default is live; a cascade flow's text model gets no Live model advice and is not checked
 * against the Live endpoint at boot (src/health/model-check.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlowSources } from '../../src/flows/index.js';
import { ToolRegistry } from '../../src/tools/index.js';
import { modelUses } from '../../src/health/model-check.js';

const flow = (extra: string) => `
name: desk
default: true
${extra}
persona: You are the desk.
greeting: Hello.
stages:
  - name: main
    instructions: Help.
`;

function load(extra: string) {
  return loadFlowSources([{ file: 'flows/desk.yaml', text: flow(extra) }], { registry: ToolRegistry.create([]), env: {} });
}

describe('pipeline and tts in a flow', () => {
  it('defaults to live, with no tts', () => {
    const r = load('');
    assert.ok(r.ok);
    assert.equal(r.flows[0]!.pipeline, 'live');
    assert.equal(r.flows[0]!.tts, undefined);
  });

  it('takes cascade with a text model and a voice, without Live model advice', () => {
    const live = load('model: gemini-3.1-flash-live-preview');
    assert.ok(live.ok);
    assert.ok(live.warnings.some((w) => w.field === 'model'), 'a Live preview model gets advice on a live flow');
    const r = load('pipeline: cascade\nmodel: gemini-3.1-flash-live-preview\ntts: en-US-Neural2-F');
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.equal(r.flows[0]!.pipeline, 'cascade');
    assert.equal(r.flows[0]!.tts, 'en-US-Neural2-F');
    assert.ok(!r.warnings.some((w) => w.field === 'model'), JSON.stringify(r.warnings));
  });

  it('refuses an unknown pipeline and a malformed voice, naming the choices', () => {
    const p = load('pipeline: realtime');
    assert.ok(!p.ok);
    assert.match(p.errors.map((e) => e.message).join('\n'), /must be one of "live", "cascade", not "realtime"/);
    const v = load('pipeline: cascade\ntts: "en US voice"');
    assert.ok(!v.ok);
    assert.match(v.errors.map((e) => e.message).join('\n'), /name a text-to-speech voice/);
  });

  it('the boot check of Live models skips cascade flows', () => {
    const uses = modelUses(
      [{ name: 'live', fallbackModels: [] }, { name: 'cascade', model: 'gemini-3.8-flash', fallbackModels: [], pipeline: 'cascade' }],
      { defaultModel: 'gemini-live-default', defaultFallbackModels: [] },
    );
    assert.deepEqual([...uses.keys()], ['gemini-live-default']);
  });
});
