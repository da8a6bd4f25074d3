/**
 * The per-call dispatcher: runs the functions the model calls and answers every call exactly
 * once with its id. Checks, in order: a second answer for the same id (refused), an unknown
 * function, a function not allowed at the current stage, invalid arguments; then runs the handler
 * under a timeout and the call's AbortSignal. Failures reach the model as `{error}` in plain words,
 * never with internals; only ToolError messages are shown as written.
 */
import type { z } from 'zod';
import type { CallEventBody } from '../transcripts/types.js';
import type { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { isToolError } from './define.js';
import type { ToolRegistry } from './registry.js';
import type { CallControl, FlowFacts, ToolContext } from './types.js';

export type FunctionCallEvent = Extract<CallEventBody, { kind: 'function_call' }>;

export interface DispatchResult {
  id: string;
  name: string;
  response: { output: unknown } | { error: string };
  /** The stage the call was in when the model called the function: apply `onFunctionResult` only if it still is. */
  stage: string;
  /** The transcript event of this call. */
  event: FunctionCallEvent;
  /** Set when the id was already answered: do not send this response. */
  duplicate?: true;
}

/** What the dispatcher needs from the call's FlowSession (FlowSession implements it). */
export interface DispatchSession {
  readonly stage: string;
  readonly facts: FlowFacts;
  /** Whether the function is declared to the model in this flow (built-ins only when a stage lists them). */
  isDeclared(functionName: string): boolean;
  isAllowed(functionName: string): boolean;
  allowedFunctions(): string[];
  /** One line saying what the current stage is for. */
  stagePurpose(): string;
}

export interface DispatcherOptions {
  registry: ToolRegistry;
  session: DispatchSession;
  control: CallControl;
  callSid: string;
  /** The caller and called numbers (ToolContext.callerNumber / calledNumber); default "". */
  from?: string;
  to?: string;
  /** The business clock functions see (ToolContext.now); default the machine's. */
  businessNow?: () => Date;
  log: Logger;
  /** Default 8000 ms; a function's own timeoutMs wins. */
  defaultTimeoutMs?: number;
  /** Largest JSON output passed to the model; longer output is cut, with a note. Default 16384. */
  maxResponseBytes?: number;
  now?: () => number;
}

type Outcome = { kind: 'ok'; value: unknown } | { kind: 'error'; error: unknown } | { kind: 'timeout' } | { kind: 'cancelled' };

const MAX_ERROR_CHARS = 1000;

export class ToolDispatcher {
  readonly #o: Required<Omit<DispatcherOptions, 'now'>> & { now: () => number };
  /** Ids answered or being answered. */
  readonly #seen = new Set<string>();
  /** Ids whose cancellation arrived before the call was dispatched. */
  readonly #cancelledEarly = new Set<string>();
  readonly #inflight = new Map<string, AbortController>();

  constructor(options: DispatcherOptions) {
    this.#o = { defaultTimeoutMs: 8000, maxResponseBytes: 16384, now: Date.now, from: '', to: '', businessNow: () => new Date(), ...options };
  }

  /** Number of calls still running. */
  get pending(): number {
    return this.#inflight.size;
  }

  /** Answers the call; never rejects (even if the session or registry misbehave). */
  async dispatch(call: { id: string; name: string; args?: unknown }): Promise<DispatchResult> {
    const started = this.#o.now();
    try {
      return await this.#dispatch(call, started);
    } catch (err) {
      this.#inflight.delete(call.id);
      this.#o.log.error({ callSid: this.#o.callSid, function: call.name, err }, 'function dispatch failed');
      const error = `${call.name} failed because of a technical problem. Tell the caller it cannot be done right now.`;
      const latencyMs = Math.max(0, this.#o.now() - started);
      const event: FunctionCallEvent = { kind: 'function_call', id: call.id, name: call.name, args: call.args ?? {}, status: 'error', error, errorCode: 'CB_TOOL_FAILED', latencyMs };
      return { id: call.id, name: call.name, stage: '', response: { error }, event };
    }
  }

  async #dispatch(call: { id: string; name: string; args?: unknown }, started: number): Promise<DispatchResult> {
    const { id, name } = call;
    const args = call.args ?? {};
    const session = this.#o.session;
    const stage = session.stage;
    const done = (status: FunctionCallEvent['status'], response: DispatchResult['response'], errorCode?: ErrorCode): DispatchResult => {
      const event: FunctionCallEvent = { kind: 'function_call', id, name, args, status, latencyMs: Math.max(0, this.#o.now() - started) };
      if ('output' in response) event.result = response.output;
      else event.error = response.error;
      if (errorCode) event.errorCode = errorCode;
      const level = status === 'ok' || status === 'cancelled' ? 'info' : 'warn';
      this.#o.log[level]({ callSid: this.#o.callSid, function: name, stage, status, errorCode, latencyMs: event.latencyMs, pii: { args } }, 'function call');
      return { id, name, stage, response, event };
    };

    if (this.#seen.has(id)) {
      return { ...done('rejected', { error: `The call id ${id} was already answered.` }, 'CB_GEMINI_TOOL_RESPONSE_INVALID'), duplicate: true };
    }
    this.#seen.add(id);

    const tool = this.#o.registry.get(name, session.facts.name);
    const allowed = session.allowedFunctions();
    const youCan = allowed.length > 0 ? `Functions you can use now: ${allowed.join(', ')}.` : 'No functions can be used now; just talk with the caller.';
    if (!tool || !session.isDeclared(name)) {
      return done('rejected', { error: `There is no function named "${name}". ${youCan}` }, 'CB_TOOL_UNKNOWN');
    }
    if (!session.isAllowed(name)) {
      return done(
        'rejected',
        { error: `"${name}" cannot be used at this point of the call (stage "${stage}": ${session.stagePurpose()}). ${youCan}` },
        'CB_TOOL_NOT_ALLOWED',
      );
    }
    const parsed = (tool.args(session.facts) as z.ZodType).safeParse(args, { reportInput: true });
    if (!parsed.success) {
      return done('rejected', { error: `Invalid arguments for ${name}: ${describeIssues(parsed.error.issues)}. Correct them and call ${name} again.` }, 'CB_TOOL_INVALID_ARGS');
    }
    if (this.#cancelledEarly.delete(id)) return done('cancelled', { error: 'cancelled' }, 'CB_TOOL_CANCELLED');

    const controller = new AbortController();
    this.#inflight.set(id, controller);
    const o = this.#o;
    const ctx: ToolContext = {
      callSid: o.callSid, callId: o.callSid, callerNumber: o.from, calledNumber: o.to, flowName: session.facts.name, stage,
      now: o.businessNow, signal: controller.signal, control: o.control, log: o.log,
    };
    const outcome = await this.#run(() => tool.run(parsed.data, ctx), controller, tool.timeoutMs ?? this.#o.defaultTimeoutMs);
    this.#inflight.delete(id);

    switch (outcome.kind) {
      case 'ok':
        return this.#answer(outcome.value, name, done);
      case 'timeout':
        return done('timeout', { error: `${name} did not answer in time. Tell the caller it cannot be done right now.` }, 'CB_TOOL_TIMEOUT');
      case 'cancelled':
        return done('cancelled', { error: 'cancelled' }, 'CB_TOOL_CANCELLED');
      case 'error': {
        if (isToolError(outcome.error)) return done('error', { error: outcome.error.message.slice(0, MAX_ERROR_CHARS) }, 'CB_TOOL_FAILED');
        this.#o.log.warn({ callSid: this.#o.callSid, function: name, err: outcome.error }, 'function failed');
        return done('error', { error: `${name} failed because of a technical problem. Tell the caller it cannot be done right now.` }, 'CB_TOOL_FAILED');
      }
    }
  }

  /** Fires the AbortSignal of those calls (Gemini's toolCallCancellation); their dispatch resolves as cancelled. */
  cancel(ids: readonly string[]): void {
    for (const id of ids) {
      const controller = this.#inflight.get(id);
      if (controller) controller.abort('cancelled');
      else if (!this.#seen.has(id)) this.#cancelledEarly.add(id);
    }
  }

  /** Aborts every call still running (the call ended). */
  cancelAll(): void {
    for (const controller of this.#inflight.values()) controller.abort('cancelled');
  }

  #run(handler: () => Promise<unknown>, controller: AbortController, timeoutMs: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(o);
      };
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        controller.abort('timeout');
      }, timeoutMs);
      controller.signal.addEventListener('abort', () => finish({ kind: 'cancelled' }), { once: true });
      // Started at once (a cancellation right after dispatch reaches a running handler); a handler
      // may throw synchronously; a late result after timeout/cancel is dropped.
      let running: Promise<unknown>;
      try {
        running = Promise.resolve(handler());
      } catch (error) {
        running = Promise.reject(error);
      }
      running.then((value) => finish({ kind: 'ok', value }), (error: unknown) => finish({ kind: 'error', error }));
    });
  }

  #answer(value: unknown, name: string, done: (s: 'ok' | 'error', r: DispatchResult['response'], c?: ErrorCode) => DispatchResult): DispatchResult {
    let json: string | undefined;
    try {
      json = JSON.stringify(value ?? { ok: true });
    } catch (err) {
      this.#o.log.warn({ callSid: this.#o.callSid, function: name, err }, 'function result is not JSON');
      return done('error', { error: `${name} failed because of a technical problem. Tell the caller it cannot be done right now.` }, 'CB_TOOL_FAILED');
    }
    const output: unknown = JSON.parse(json!);
    return done('ok', { output: capOutput(output, json!, this.#o.maxResponseBytes) });
  }
}

/** The output, or a truncated stand-in that fits `maxBytes` of JSON. */
export function capOutput(output: unknown, json: string, maxBytes: number): unknown {
  const size = Buffer.byteLength(json);
  if (size <= maxBytes) return output;
  const note = `The result was too long (${size} bytes) and was cut; "partial" holds its beginning as JSON text. Use what is there, or ask a narrower question.`;
  const envelope = JSON.stringify({ truncated: true, note, partial: '' });
  let budget = Math.max(0, maxBytes - Buffer.byteLength(envelope));
  let partial = '';
  // JSON-escaping can grow the text: shrink until the whole envelope fits.
  while (budget > 0) {
    partial = Buffer.from(json).subarray(0, budget).toString('utf8').replace(/\uFFFD+$/, '');
    if (Buffer.byteLength(JSON.stringify({ truncated: true, note, partial })) <= maxBytes) break;
    budget -= Math.max(16, Math.ceil(budget / 10));
  }
  return { truncated: true, note, partial: budget > 0 ? partial : '' };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      const field = i.path.length > 0 ? `"${i.path.join('.')}"` : 'arguments';
      switch (i.code) {
        case 'invalid_type':
          return i.input === undefined ? `${field} is missing` : `${field} must be ${i.expected === 'int' ? 'a whole number' : `a ${i.expected}`}`;
        case 'too_small':
        case 'too_big': {
          const bound = i.code === 'too_small' ? `at least ${i.minimum as number}` : `at most ${i.maximum as number}`;
          const unit = i.origin === 'string' ? ' characters long' : i.origin === 'array' ? ' items' : '';
          return `${field} must be ${i.origin === 'string' || i.origin === 'array' ? `${bound}${unit}` : bound}`;
        }
        case 'invalid_value':
          return `${field} must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
        case 'unrecognized_keys':
          return `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
        default:
          return `${field}: ${i.message.replace(/^Invalid (input|string): /, '')}`;
      }
    })
    .join('; ');
}
