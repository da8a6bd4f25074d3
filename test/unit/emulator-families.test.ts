/**
 * The emulator's model families (src/emulator/models.ts, docs/gemini-live.md §2.1, §2.4, §2.5, §5,
 * §6): which setups each family takes and which it closes (with the rule that fired), function
 * behaviours and scheduling, contextUpdate, lifetimes, and the named fault profile.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODELS, checkSetup, parseClientFrame, resolveOptions, EmulatorOptionsError } from '../../src/emulator/index.js';
import { BackgroundCalls, ToolBehaviors } from '../../src/emulator/background-calls.js';
import { FAULT_PROFILES, FaultPlan } from '../../src/emulator/faults.js';
import { planLifetime } from '../../src/emulator/lifetimes.js';
import { FAMILIES, type ModelSpec } from '../../src/emulator/models.js';
import { checkClientContent, checkContextUpdate, type ContextUpdate } from '../../src/emulator/validate-family.js';
import type { Setup } from '../../src/gemini/protocol.js';

const M25 = 'gemini-2.5-flash-native-audio-preview-12-2025';
const M31 = 'gemini-3.1-flash-live-preview';
const M38 = 'gemini-3.8-live';
const M38T = 'gemini-3.8-live-extended-thinking';

function fn(name: string, behavior?: string) {
  return { name, description: name, parameters: { type: 'OBJECT', properties: {} }, ...(behavior ? { behavior } : {}) };
}

/** Parses a setup the way the server does, then runs the semantic checks. */
function check(model: string, extra: Record<string, any> = {}) {
  const { generationConfig, ...rest } = extra;
  const setup = { model: `models/${model}`, generationConfig: { responseModalities: ['AUDIO'], ...generationConfig }, ...rest };
  const parsed = parseClientFrame(JSON.stringify({ setup }));
  assert.equal(parsed.kind, 'ok', `parses: ${JSON.stringify(setup)}`);
  return checkSetup((parsed as { message: { setup: Setup } }).message.setup, DEFAULT_MODELS, 'v1beta');
}

function accepted(model: string, extra: Record<string, any> = {}): void {
  const r = check(model, extra);
  assert.equal(r.kind, 'ok', `${model} accepts ${JSON.stringify(extra)}: ${JSON.stringify(r)}`);
}

function rejected(model: string, extra: Record<string, any>, code: number, why: RegExp): void {
  const r = check(model, extra);
  assert.equal(r.kind, 'reject', `${model} rejects ${JSON.stringify(extra)}`);
  if (r.kind !== 'reject') return;
  assert.equal(r.close.code, code);
  if (code === 1007) assert.equal(r.close.reason, 'Request contains an invalid argument.');
  assert.match(r.close.why ?? '', why);
}

const spec = (id: string): ModelSpec => DEFAULT_MODELS[id]!;

describe('emulator families: valid setups', () => {
  it('2.5 takes thinkingBudget, affective dialog, proactive audio and both function behaviours', () => {
    accepted(M25, {
      generationConfig: { thinkingConfig: { thinkingBudget: 0 }, enableAffectiveDialog: true },
      proactivity: { proactiveAudio: true },
      tools: [{ functionDeclarations: [fn('lookup', 'BLOCKING'), fn('log_callback', 'NON_BLOCKING'), fn('plain')] }],
    });
  });

  it('3.1 takes every thinkingLevel and BLOCKING / UNSPECIFIED functions', () => {
    for (const level of ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH']) accepted(M31, { generationConfig: { thinkingConfig: { thinkingLevel: level } } });
    accepted(M31, { tools: [{ functionDeclarations: [fn('lookup', 'BLOCKING'), fn('plain', 'UNSPECIFIED'), fn('bare')] }] });
    accepted(M31, { proactivity: { proactiveAudio: false }, generationConfig: { enableAffectiveDialog: false } });
  });

  it('3.8 takes no thinking config, proactiveAudio: true, and both behaviours', () => {
    accepted(M38, {
      proactivity: { proactiveAudio: true },
      tools: [{ functionDeclarations: [fn('lookup', 'BLOCKING'), fn('log_callback', 'NON_BLOCKING'), fn('plain')] }],
    });
  });

  it('3.8 extended thinking takes LOW/MEDIUM/HIGH thinkingLevel and NON_BLOCKING functions', () => {
    for (const level of ['LOW', 'MEDIUM', 'HIGH']) accepted(M38T, { generationConfig: { thinkingConfig: { thinkingLevel: level } } });
    accepted(M38T, { tools: [{ functionDeclarations: [fn('lookup', 'NON_BLOCKING'), fn('plain')] }] });
  });
});

describe('emulator families: rejected variants', () => {
  it('3.8: any thinkingConfig, proactiveAudio: false, enableAffectiveDialog (either value) → 1007', () => {
    rejected(M38, { generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }, 1007, /thinkingConfig is not supported by the 3\.8 family/);
    rejected(M38, { generationConfig: { thinkingConfig: { thinkingLevel: 'MINIMAL' } } }, 1007, /thinkingConfig is not supported/);
    rejected(M38, { generationConfig: { thinkingConfig: {} } }, 1007, /thinkingConfig is not supported/);
    rejected(M38, { proactivity: { proactiveAudio: false } }, 1007, /proactive audio is always on/);
    rejected(M38, { generationConfig: { enableAffectiveDialog: true } }, 1007, /enableAffectiveDialog was removed/);
    rejected(M38, { generationConfig: { enableAffectiveDialog: false } }, 1007, /enableAffectiveDialog was removed/);
  });

  it('3.1: NON_BLOCKING functions, thinkingBudget, proactive audio, affective dialog → 1007', () => {
    rejected(M31, { tools: [{ functionDeclarations: [fn('ok'), fn('log_callback', 'NON_BLOCKING')] }] }, 1007, /function log_callback: behavior NON_BLOCKING is not supported by the 3\.1 family/);
    rejected(M31, { generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }, 1007, /thinkingBudget is not supported by the 3\.1 family/);
    rejected(M31, { proactivity: { proactiveAudio: true } }, 1007, /proactive audio is not supported/);
    rejected(M31, { generationConfig: { enableAffectiveDialog: true } }, 1007, /affective dialog is not supported/);
  });

  it('2.5: thinkingLevel, or budget and level together → 1007', () => {
    rejected(M25, { generationConfig: { thinkingConfig: { thinkingLevel: 'LOW' } } }, 1007, /thinkingLevel is not supported by the 2\.5 family/);
    rejected(M25, { generationConfig: { thinkingConfig: { thinkingBudget: 0, thinkingLevel: 'LOW' } } }, 1007, /not both/);
  });

  it('3.8 extended thinking: BLOCKING functions, MINIMAL, thinkingBudget → 1007', () => {
    rejected(M38T, { tools: [{ functionDeclarations: [fn('lookup', 'BLOCKING')] }] }, 1007, /behavior BLOCKING is not supported by the 3\.8-thinking family/);
    rejected(M38T, { generationConfig: { thinkingConfig: { thinkingLevel: 'MINIMAL' } } }, 1007, /thinkingLevel MINIMAL is not supported/);
    rejected(M38T, { generationConfig: { thinkingConfig: { thinkingBudget: 1024 } } }, 1007, /thinkingBudget is not supported/);
  });

  it('TEXT output: 1007 "Cannot extract voices…" on 2.5, 1011 on every 3.x family; two modalities 1007 everywhere', () => {
    const text = (m: string) => check(m, { generationConfig: { responseModalities: ['TEXT'] } });
    assert.deepEqual((text(M25) as any).close, { code: 1007, reason: 'Cannot extract voices from a non-audio request.' });
    for (const m of [M31, M38, M38T]) assert.deepEqual((text(m) as any).close, { code: 1011, reason: 'Internal error encountered.' });
    for (const m of [M25, M31, M38, M38T]) {
      assert.deepEqual((check(m, { generationConfig: { responseModalities: ['AUDIO', 'TEXT'] } }) as any).close, { code: 1007, reason: 'Request contains an invalid argument.' });
    }
  });
});

describe('emulator families: contextUpdate', () => {
  const update = (tools?: unknown[]): ContextUpdate => ({ systemInstruction: { parts: [{ text: 'Stage two.' }] }, ...(tools ? { tools: { tools } } : {}) });

  it('is accepted on 3.8 and 3.8 extended thinking', () => {
    assert.equal(checkContextUpdate(update([{ functionDeclarations: [fn('lookup', 'NON_BLOCKING')] }]), spec(M38)), undefined);
    assert.equal(checkContextUpdate(update(), spec(M38T)), undefined);
  });

  it('closes 1007 like an unknown field on 2.5 and 3.1', () => {
    for (const m of [M25, M31]) {
      const r = checkContextUpdate(update(), spec(m));
      assert.equal(r?.code, 1007);
      assert.equal(r?.reason, 'Invalid JSON payload received. Unknown name "contextUpdate": Cannot find field.');
    }
  });

  it('new tools must suit the family (BLOCKING on 3.8 extended thinking → 1007)', () => {
    assert.match(checkContextUpdate(update([{ functionDeclarations: [fn('lookup', 'BLOCKING')] }]), spec(M38T))?.why ?? '', /behavior BLOCKING/);
  });
});

describe('emulator families: clientContent mid-session', () => {
  const base = { model: `models/${M31}` } as Setup;
  const seeded = { ...base, historyConfig: { initialHistoryInClientContent: true } } as Setup;

  it('3.1 takes clientContent only to seed history: with historyConfig, before the first model turn', () => {
    assert.equal(checkClientContent(seeded, spec(M31), 0), undefined);
    assert.match(checkClientContent(base, spec(M31), 0)?.why ?? '', /needs historyConfig\.initialHistoryInClientContent/);
    const late = checkClientContent(seeded, spec(M31), 1);
    assert.deepEqual({ code: late?.code, reason: late?.reason }, { code: 1007, reason: 'Request contains an invalid argument.' });
    assert.match(late?.why ?? '', /after the model's first turn/);
  });

  it('2.5 and 3.8 take clientContent at any time', () => {
    for (const m of [M25, M38, M38T]) assert.equal(checkClientContent(base, spec(m), 5), undefined);
  });
});

describe('emulator families: function behaviour and scheduling', () => {
  it('an absent or UNSPECIFIED behavior takes the family default: NON_BLOCKING on 3.8, BLOCKING on 2.5 and 3.1', () => {
    const tools = [{ functionDeclarations: [fn('a'), fn('b', 'UNSPECIFIED'), fn('c', 'BLOCKING'), fn('d', 'NON_BLOCKING')] }];
    const of = (family: keyof typeof FAMILIES) => {
      const b = new ToolBehaviors(FAMILIES[family], tools);
      return ['a', 'b', 'c', 'd', 'undeclared'].map((n) => b.of(n));
    };
    assert.deepEqual(of('3.8'), ['NON_BLOCKING', 'NON_BLOCKING', 'BLOCKING', 'NON_BLOCKING', 'NON_BLOCKING']);
    assert.deepEqual(of('2.5'), ['BLOCKING', 'BLOCKING', 'BLOCKING', 'NON_BLOCKING', 'BLOCKING']);
    assert.deepEqual(of('3.1').slice(0, 3), ['BLOCKING', 'BLOCKING', 'BLOCKING']);
  });

  it('a contextUpdate replaces the tools and so the behaviours; a mixed reply runs as blocking', () => {
    const b = new ToolBehaviors(FAMILIES['3.8'], [{ functionDeclarations: [fn('lookup', 'BLOCKING')] }]);
    assert.equal(b.of('lookup'), 'BLOCKING');
    b.update([{ functionDeclarations: [fn('lookup', 'NON_BLOCKING')] }]);
    assert.equal(b.of('lookup'), 'NON_BLOCKING');
    b.update([{ functionDeclarations: [fn('lookup', 'NON_BLOCKING'), fn('book', 'BLOCKING')] }]);
    assert.equal(b.allNonBlocking(['lookup']), true);
    assert.equal(b.allNonBlocking(['lookup', 'book']), false);
    assert.equal(b.allNonBlocking([]), false);
  });

  it('a group completes with its last final response; willContinue keeps a call open; scheduling defaults to WHEN_IDLE', () => {
    const calls = new BackgroundCalls(FAMILIES['3.8']);
    const reply = { say: 'Let me check.', toolCalls: [{ name: 'a', args: {} }, { name: 'b', args: {} }] };
    calls.register(['1', '2'], reply);
    assert.equal(calls.respond({ id: '1', name: 'a', response: { output: 1 }, scheduling: 'SILENT' }), undefined);
    assert.equal(calls.respond({ id: '2', name: 'b', response: { output: 'partial' }, willContinue: true }), undefined);
    assert.equal(calls.has('2'), true);
    const done = calls.respond({ id: '2', name: 'b', response: { output: 2 } });
    assert.deepEqual(done, {
      reply,
      scheduling: 'WHEN_IDLE',
      results: [
        { id: '1', name: 'a', response: { output: 1 } },
        { id: '2', name: 'b', response: { output: 'partial' } },
        { id: '2', name: 'b', response: { output: 2 } },
      ],
    });
    assert.equal(calls.size, 0);
    assert.equal(calls.has('2'), false);
    calls.register(['3', '4'], reply);
    assert.deepEqual(calls.cancelAll(), ['3', '4']);
    assert.equal(calls.respond({ id: '3', name: 'a', response: {} }), undefined);
  });

  it('new input cancels open NON_BLOCKING calls on 2.5 only', () => {
    assert.deepEqual(Object.values(FAMILIES).map((f) => [f.id, f.nonBlockingCancelledByInput]), [['2.5', true], ['3.1', false], ['3.8', false], ['3.8-thinking', false]]);
  });

  it('scheduling: SILENT and INTERRUPT are honoured on 3.8 and 2.5; anything else is WHEN_IDLE', () => {
    for (const family of ['3.8', '2.5'] as const) {
      const calls = new BackgroundCalls(FAMILIES[family]);
      assert.deepEqual(['SILENT', 'INTERRUPT', 'WHEN_IDLE', 'SCHEDULING_UNSPECIFIED', undefined].map((s) => calls.schedulingOf(s)), ['SILENT', 'INTERRUPT', 'WHEN_IDLE', 'WHEN_IDLE', 'WHEN_IDLE']);
    }
    assert.equal(new BackgroundCalls(FAMILIES['3.1']).schedulingOf('SILENT'), 'WHEN_IDLE');
  });
});

describe('emulator families: lifetimes', () => {
  const options = { goAwayTimeLeftMs: 5000, familyLimits: true, familyLimitScale: 1 };
  const setup = { model: `models/${M38}` } as Setup;

  it('goAway a minute before a 10-minute connection; a 15-minute session without compression, counted from its start', () => {
    assert.deepEqual(planLifetime(options, spec(M38), setup, 1000, 1000), { goAway: { afterMs: 540_000, timeLeftMs: 60_000 }, sessionEndsInMs: 900_000 });
    // Resumed 10 minutes into the session: 5 minutes left.
    assert.deepEqual(planLifetime(options, spec(M25), setup, 0, 600_000).sessionEndsInMs, 300_000);
    assert.deepEqual(planLifetime(options, spec(M38), { ...setup, contextWindowCompression: { slidingWindow: {} } }, 0, 0), { goAway: { afterMs: 540_000, timeLeftMs: 60_000 } });
  });

  it('explicit goAway options win, the scale shrinks the limits, and limits can be off (always for the echo model)', () => {
    assert.deepEqual(planLifetime({ ...options, goAwayAfterMs: 20 }, spec(M38), setup, 0, 0).goAway, { afterMs: 20, timeLeftMs: 5000 });
    assert.deepEqual(planLifetime({ ...options, familyLimitScale: 0.001 }, spec(M31), setup, 0, 0), { goAway: { afterMs: 540, timeLeftMs: 60 }, sessionEndsInMs: 900 });
    assert.deepEqual(planLifetime({ ...options, familyLimits: false }, spec(M38), setup, 0, 0), {});
    assert.deepEqual(planLifetime(options, spec('gemini-emulator-echo'), setup, 0, 0), {});
  });
});

describe('emulator options: fault profile and model families', () => {
  it('seed-002: 85 % of turns fail on 12-2025 and -latest; 09-2025 and 3.8 stay clean', () => {
    const resolved = resolveOptions({ faultProfile: 'seed-002' });
    assert.deepEqual(resolved.faults, FAULT_PROFILES['seed-002']);
    const failures = (model: string) => {
      let n = 0;
      for (let session = 1; session <= 100; session++) {
        const plan = new FaultPlan(resolved.faults, 1, session, model);
        for (let turn = 0; turn < 10; turn++) if (plan.internalBeforeContent()) n++;
      }
      return n / 1000;
    };
    for (const m of [M25, 'gemini-2.5-flash-native-audio-latest']) {
      const rate = failures(m);
      assert.ok(rate > 0.8 && rate < 0.9, `${m}: ${rate}`);
    }
    assert.equal(failures('gemini-2.5-flash-native-audio-preview-09-2025'), 0);
    assert.equal(failures(M38), 0);
  });

  it('explicit faults win over the profile; an unknown profile or family is a clear option error', () => {
    assert.deepEqual(resolveOptions({ faultProfile: 'seed-002', faults: { internalErrorBeforeContent: { rate: 0 } } }).faults, { internalErrorBeforeContent: { rate: 0 } });
    assert.throws(() => resolveOptions({ faultProfile: 'seed-999' }), (e: unknown) => e instanceof EmulatorOptionsError && /faultProfile: is not a fault profile \(known: seed-002\)/.test(e.message));
    assert.throws(
      () => resolveOptions({ models: { x: { nativeAudio: true, family: '3' as never } } }),
      (e: unknown) => e instanceof EmulatorOptionsError && /models\.x\.family: "3" is not one of 2\.5, 3\.1, 3\.8, 3\.8-thinking/.test(e.message),
    );
  });
});
