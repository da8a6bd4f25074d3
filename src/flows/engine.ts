/**
 * The per-call flow engine. PURE: no sockets, no timers, no clock. The bridge feeds it what
 * happens (keys, silence, function results, stage requests) and carries out the actions it
 * returns, in order.
 *
 * Gemini Live fixes tools at setup, so the session declares the union of every function of the
 * flow once, the dispatcher enforces the current stage (isAllowed), and a stage change injects
 * the new stage's instructions (`instruct`), written to stand alone.
 */
import type { FunctionDeclaration } from '../gemini/protocol.js';
import type { CallEventBody } from '../transcripts/types.js';
import { declarationFor } from '../tools/define.js';
import type { DispatchSession } from '../tools/dispatch.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { FlowFacts } from '../tools/types.js';
import { basicActions, isTerminal, type FlowAction } from './actions.js';
import type { ConfigAction, Flow, Stage, WhenConfig } from './schema.js';

export type StageChange = Extract<CallEventBody, { kind: 'stage_change' }>;

export interface FlowStep {
  actions: FlowAction[];
  events: StageChange[];
}

function empty(): FlowStep {
  return { actions: [], events: [] };
}

/** Drops what follows a transfer or hang-up. */
function upToTerminal(actions: FlowAction[]): FlowAction[] {
  const i = actions.findIndex(isTerminal);
  return i === -1 ? actions : actions.slice(0, i + 1);
}

function valueAt(result: unknown, field: string): unknown {
  let v: unknown = result;
  for (const key of field.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const scalar = (x: unknown): boolean => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
  return scalar(a) && scalar(b) && String(a).toLowerCase() === String(b).toLowerCase();
}

/** Whether a function result satisfies a transition's `when` (no `when`: always). Strings compare case-insensitively. */
export function matchesWhen(when: WhenConfig | undefined, result: unknown): boolean {
  if (!when) return true;
  const v = valueAt(result, when.field);
  if (when.exists !== undefined) return (v !== undefined && v !== null) === when.exists;
  if (when.in !== undefined) return when.in.some((x) => same(v, x));
  return same(v, when.equals);
}

export class FlowSession implements DispatchSession {
  readonly flow: Flow;
  readonly facts: FlowFacts;
  readonly #registry: ToolRegistry;
  readonly #declared: readonly string[];
  #declarations: FunctionDeclaration[] | undefined;
  #stage: Stage;
  #started = false;
  /** Silence bookkeeping: last reported value, the value when the stage was entered, rules already fired. */
  #silence = { lastMs: 0, baseMs: 0, fired: new Set<number>() };

  constructor(flow: Flow, registry: ToolRegistry) {
    this.flow = flow;
    this.#registry = registry;
    this.#stage = flow.stages[0]!;
    this.facts = Object.freeze({ name: flow.name, stages: flow.stages.map((s) => s.name), transfers: Object.keys(flow.transfers) });
    const names = [...flow.functions, ...flow.stages.flatMap((s) => s.functions)];
    this.#declared = Object.freeze([...new Set(names)]);
  }

  get stage(): string {
    return this.#stage.name;
  }

  /** The union of all functions of the flow, declared once at setup. */
  declarations(): FunctionDeclaration[] {
    this.#declarations ??= this.#declared.map((name) => {
      const tool = this.#registry.get(name, this.flow.name);
      if (!tool) throw new Error(`flow ${this.flow.name}: function ${name} is not in the registry (load flows with the registry they were checked against)`);
      return declarationFor(tool, this.facts);
    });
    return this.#declarations.map((d) => structuredClone(d));
  }

  isDeclared(functionName: string): boolean {
    return this.#declared.includes(functionName);
  }

  isAllowed(functionName: string): boolean {
    return this.#stage.functions.includes(functionName);
  }

  allowedFunctions(): string[] {
    return [...this.#stage.functions];
  }

  stagePurpose(): string {
    return this.#stage.purpose;
  }

  greeting(): string {
    return this.flow.greeting;
  }

  /**
   * Persona + how stages work + the CURRENT stage's instructions (the initial stage at setup; on a
   * reconnect with a fresh setup, the stage the call is in). `now` adds the local date and time.
   */
  systemInstruction(now?: Date): string {
    const how = [
      '## How this call works',
      'You are talking with a caller on the phone: keep answers short and easy to follow by ear.',
      'The call moves through stages. Follow the instructions of the current stage. When the stage changes you receive a message starting with "[stage: <name>]"; its instructions replace those of the previous stage.',
      'Each stage allows only some functions. When a function answers with an error, do what the error says.',
      'The caller can press phone keys; you are then told, for example, "The caller pressed 5."',
    ];
    if (this.#declared.includes('go_to_stage')) {
      how.push('When the caller wants something another stage handles, call go_to_stage. The stages:', ...this.flow.stages.map((s) => `- ${s.name}: ${s.purpose}`));
    }
    if (now) {
      const timeZone = this.flow.hours?.timeZone ?? 'UTC';
      const local = new Intl.DateTimeFormat('en-US', { timeZone, dateStyle: 'full', timeStyle: 'short' }).format(now);
      how.push(`It is now ${local} (${timeZone}).`);
    }
    return [this.flow.persona.trim(), how.join('\n'), `## Current stage: ${this.#stage.name}\n${this.#stageBody(this.#stage)}`].join('\n\n');
  }

  /** The self-contained text injected when the call enters `stage` (default: the current one). */
  stageInstructions(stage: string = this.#stage.name): string {
    const s = this.#find(stage);
    return `[stage: ${s.name}] The call is now in the stage "${s.name}". These instructions replace those of the previous stage:\n${this.#stageBody(s)}`;
  }

  /** Once, when the call is answered: the initial stage's onEnter (after the greeting). */
  start(): FlowStep {
    if (this.#started) return empty();
    this.#started = true;
    const actions = upToTerminal(this.#stage.onEnter.flatMap((a) => basicActions(a, this.flow)));
    return { actions, events: [{ kind: 'stage_change', to: this.#stage.name, reason: 'call started' }] };
  }

  /** A key press: the stage's mapping, else the flow-wide one, else the model is told. */
  onDtmf(digit: string): FlowStep {
    this.#resetSilence(0);
    const told = `The caller pressed ${digit}.`;
    const mapped = this.#stage.dtmf[digit] ?? this.flow.dtmf[digit];
    if (!mapped) return { actions: [{ type: 'tell_model', text: told }], events: [] };
    return this.#perform(mapped, `key ${digit}`, told);
  }

  /**
   * `silentMs`: how long the caller has been silent, counting only time while the bot is not
   * speaking; it goes back towards 0 when the caller speaks or presses a key (bot prompts do not
   * reset it). Call it periodically (e.g. every second). Each onSilence rule of the stage fires
   * once per silence; when several are due, the longest one wins.
   */
  onSilence(silentMs: number): FlowStep {
    if (silentMs < this.#silence.lastMs) this.#resetSilence(0);
    const s = this.#silence;
    s.lastMs = silentMs;
    const elapsed = silentMs - s.baseMs;
    let due: { i: number; afterMs: number } | undefined;
    this.#stage.transitions.forEach((t, i) => {
      if (!t.onSilence || t.onSilence.afterMs > elapsed || s.fired.has(i)) return;
      s.fired.add(i);
      if (!due || t.onSilence.afterMs > due.afterMs) due = { i, afterMs: t.onSilence.afterMs };
    });
    if (!due) return empty();
    const seconds = Math.round(silentMs / 1000);
    return this.#perform(this.#stage.transitions[due.i]!, `caller silent ${seconds} s`, `The caller has said nothing for ${seconds} seconds.`);
  }

  /** After a function answered successfully: the first matching onFunction transition of the stage. */
  onFunctionResult(name: string, result: unknown): FlowStep {
    const t = this.#stage.transitions.find((x) => x.onFunction === name && matchesWhen(x.when, result));
    // No prompt for the model: the function's response itself makes it reply.
    return t ? this.#perform(t, `${name} result`) : empty();
  }

  /**
   * A call moved here from another instance (src/call/migration.ts): it is already in `stage` and
   * started, so `start()` runs no onEnter again. False (and no change) when the flow has no such stage.
   */
  resumeAt(stage: string): boolean {
    const target = this.flow.stages.find((s) => s.name === stage);
    if (!target) return false;
    this.#stage = target;
    this.#started = true;
    return true;
  }

  /**
   * Moves to `stage`: the current stage's onExit, the stage change, the new stage's instructions,
   * its onEnter. Going to the current stage does nothing; an unknown stage throws (the loader and
   * go_to_stage's argument check make that a programming error).
   */
  goTo(stage: string, reason: string): FlowStep {
    const target = this.#find(stage);
    if (target === this.#stage) return empty();
    const actions = this.#stage.onExit.flatMap((a) => basicActions(a, this.flow));
    if (actions.some(isTerminal)) return { actions: upToTerminal(actions), events: [] };
    const events: StageChange[] = [{ kind: 'stage_change', from: this.#stage.name, to: target.name, reason }];
    this.#stage = target;
    this.#resetSilence(this.#silence.lastMs);
    actions.push({ type: 'instruct', text: this.stageInstructions() });
    actions.push(...target.onEnter.flatMap((a) => basicActions(a, this.flow)));
    return { actions: upToTerminal(actions), events };
  }

  /** say, then goTo (with a prompt for the model when nothing was said) or transfer / endCall. */
  #perform(a: ConfigAction, reason: string, prompt?: string): FlowStep {
    if (a.goTo === undefined) return { actions: upToTerminal(basicActions(a, this.flow)), events: [] };
    const step = this.goTo(a.goTo, reason);
    const actions: FlowAction[] = a.say === undefined ? [] : [{ type: 'say', text: a.say }];
    actions.push(...step.actions);
    if (prompt && !actions.some((x) => x.type === 'say' || isTerminal(x))) actions.push({ type: 'tell_model', text: prompt });
    return { actions: upToTerminal(actions), events: step.events };
  }

  #resetSilence(baseMs: number): void {
    this.#silence = { lastMs: baseMs, baseMs, fired: new Set() };
  }

  #find(name: string): Stage {
    const s = this.flow.stages.find((x) => x.name === name);
    if (!s) throw new Error(`flow ${this.flow.name} has no stage "${name}"`);
    return s;
  }

  #stageBody(s: Stage): string {
    const fns = s.functions.length > 0 ? `Functions you can use in this stage: ${s.functions.join(', ')}.` : 'No functions can be used in this stage.';
    return `${s.instructions.trim()}\n${fns}`;
  }
}
