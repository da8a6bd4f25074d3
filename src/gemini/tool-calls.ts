/**
 * Pending tool calls of one session and the checks on tool responses before they are sent
 * (docs/gemini-live.md §2.4; docs/gemini-failure-modes.md, seed 003): every call answered exactly
 * once by its id, with a plain JSON object holding `output` or `error`, size-capped.
 */
import type { FunctionResponse, FunctionResponseScheduling } from './protocol.js';
import type { ToolCallRequest } from './parse.js';
import { CallbridgeError } from '../shared/errors.js';

export interface ToolResponseInput {
  /** The functionCalls[].id being answered. */
  id: string;
  /** Optional; filled from the pending call (must match it when given). */
  name?: string;
  /** `{ output: … }` for a result, `{ error: … }` for a failure. */
  response: Record<string, unknown>;
  /**
   * How a NON_BLOCKING call's result is voiced (docs/gemini-live.md §2.4); WHEN_IDLE when not
   * given. Dropped for a BLOCKING call and on a family without response scheduling.
   */
  scheduling?: FunctionResponseScheduling;
  /** NON_BLOCKING generator calls: true keeps the call pending for further responses. */
  willContinue?: boolean;
}

export interface TruncatedResponse {
  id: string;
  name: string;
  originalBytes: number;
  sentBytes: number;
}

export interface PendingCall {
  id: string;
  name: string;
  blocking: boolean;
}

export interface PreparedToolResponse {
  json: string;
  /** Ids that stop being pending once sent (all but willContinue ones). */
  finishedIds: string[];
  truncated: TruncatedResponse[];
}

const SCHEDULING = ['SCHEDULING_UNSPECIFIED', 'SILENT', 'WHEN_IDLE', 'INTERRUPT'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export class PendingToolCalls {
  readonly #pending = new Map<string, PendingCall>();
  /** Ids no longer pending, and why (for a precise refusal). */
  readonly #done = new Map<string, 'answered' | 'cancelled'>();
  readonly #isBlocking: (name: string) => boolean;
  /** Scheduling values the family accepts on NON_BLOCKING responses (none: never sent). */
  readonly #scheduling: readonly FunctionResponseScheduling[];

  constructor(isBlocking: (name: string) => boolean, scheduling: readonly FunctionResponseScheduling[] = ['WHEN_IDLE', 'INTERRUPT', 'SILENT']) {
    this.#isBlocking = isBlocking;
    this.#scheduling = scheduling;
  }

  add(calls: readonly ToolCallRequest[]): void {
    for (const c of calls) this.#pending.set(c.id, { id: c.id, name: c.name, blocking: this.#isBlocking(c.name) });
  }

  /** Removes cancelled ids; returns those that were pending. */
  cancel(ids: readonly string[]): string[] {
    const removed = ids.filter((id) => this.#pending.delete(id));
    for (const id of removed) this.#done.set(id, 'cancelled');
    return removed;
  }

  get blockingPending(): boolean {
    for (const c of this.#pending.values()) if (c.blocking) return true;
    return false;
  }

  list(): PendingCall[] {
    return [...this.#pending.values()];
  }

  clear(): void {
    this.#pending.clear();
  }

  /** Validates and serialises a toolResponse; throws CB_GEMINI_TOOL_RESPONSE_INVALID (nothing is changed). */
  prepare(responses: readonly ToolResponseInput[], maxBytes: number): PreparedToolResponse {
    const problems: string[] = [];
    const seen = new Set<string>();
    const out: FunctionResponse[] = [];
    const truncated: TruncatedResponse[] = [];
    const finishedIds: string[] = [];
    if (!Array.isArray(responses) || responses.length === 0) problems.push('responses: give at least one response.');
    for (const [i, r] of (Array.isArray(responses) ? responses : []).entries()) {
      const where = `responses[${i}]`;
      const id: unknown = r?.id;
      const call = typeof id === 'string' ? this.#pending.get(id) : undefined;
      if (typeof id !== 'string' || !call) {
        const done = typeof id === 'string' ? this.#done.get(id) : undefined;
        problems.push(`${where}.id: ${JSON.stringify(id)} ${done ? `was already ${done}` : 'is not a pending tool call'}.`);
        continue;
      }
      if (seen.has(id)) {
        problems.push(`${where}.id: "${id}" is answered twice in this message.`);
        continue;
      }
      seen.add(id);
      if (r.name !== undefined && r.name !== call.name) problems.push(`${where}.name: "${r.name}" does not match the call's function "${call.name}".`);
      if (r.scheduling !== undefined && !SCHEDULING.includes(r.scheduling)) problems.push(`${where}.scheduling: must be one of ${SCHEDULING.join(', ')}.`);
      if (r.willContinue !== undefined && typeof r.willContinue !== 'boolean') problems.push(`${where}.willContinue: must be true or false.`);
      const response: unknown = r.response;
      if (!isPlainObject(response)) {
        problems.push(`${where}.response: must be a plain JSON object such as { output: … } or { error: … }.`);
        continue;
      }
      if (!Object.hasOwn(response, 'output') && !Object.hasOwn(response, 'error')) problems.push(`${where}.response: must have an "output" or an "error" key.`);
      let json: string;
      try {
        json = JSON.stringify(response);
      } catch (err) {
        problems.push(`${where}.response: cannot be serialised to JSON (${(err as Error).message}).`);
        continue;
      }
      const capped = capResponse(response, json, maxBytes);
      if (capped) truncated.push({ id, name: call.name, originalBytes: capped.originalBytes, sentBytes: capped.sentBytes });
      const scheduling = this.#schedulingFor(call, r.scheduling);
      out.push({
        id,
        name: call.name,
        response: capped ? capped.response : response,
        ...(scheduling !== undefined ? { scheduling } : {}),
        ...(r.willContinue !== undefined ? { willContinue: r.willContinue } : {}),
      });
      if (r.willContinue !== true) finishedIds.push(id);
    }
    if (problems.length > 0) {
      throw new CallbridgeError('CB_GEMINI_TOOL_RESPONSE_INVALID', `tool response refused, nothing sent:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { detail: { problems } });
    }
    return { json: JSON.stringify({ toolResponse: { functionResponses: out } }), finishedIds, truncated };
  }

  /** A NON_BLOCKING call's scheduling (WHEN_IDLE by default); none for a BLOCKING call or a family without it. */
  #schedulingFor(call: PendingCall, wanted: FunctionResponseScheduling | undefined): FunctionResponseScheduling | undefined {
    if (call.blocking || this.#scheduling.length === 0) return undefined;
    const value = wanted === undefined || wanted === 'SCHEDULING_UNSPECIFIED' ? 'WHEN_IDLE' : wanted;
    return this.#scheduling.includes(value) ? value : 'WHEN_IDLE';
  }

  /** Marks prepared responses as sent. */
  commit(prepared: PreparedToolResponse): void {
    for (const id of prepared.finishedIds) {
      this.#pending.delete(id);
      this.#done.set(id, 'answered');
    }
  }
}

/**
 * When `json` (the serialised response) is over `maxBytes`, returns a replacement whose `output`
 * (or `error`) holds the beginning of the JSON as a string, with a note telling the model the rest
 * is missing; the whole replacement fits in `maxBytes` (when maxBytes leaves room for the note).
 */
export function capResponse(
  response: Record<string, unknown>,
  json: string,
  maxBytes: number,
): { response: Record<string, unknown>; originalBytes: number; sentBytes: number } | undefined {
  const originalBytes = Buffer.byteLength(json);
  if (originalBytes <= maxBytes) return undefined;
  const key = Object.hasOwn(response, 'output') || !Object.hasOwn(response, 'error') ? 'output' : 'error';
  const make = (len: number): Record<string, unknown> => {
    const kept = json.slice(0, len);
    return {
      [key]: kept,
      note: `Result truncated from ${originalBytes} to ${Buffer.byteLength(kept)} bytes: "${key}" holds only the beginning of the JSON result; the rest is missing, do not guess it.`,
    };
  };
  const size = (len: number): number => Buffer.byteLength(JSON.stringify(make(len)));
  // Largest prefix that fits (size grows with the prefix length).
  let lo = 0;
  let hi = json.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(mid) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  // Do not split a surrogate pair.
  if (lo > 0 && /[\uD800-\uDBFF]/.test(json.charAt(lo - 1))) lo--;
  const capped = make(lo);
  return { response: capped, originalBytes, sentBytes: Buffer.byteLength(JSON.stringify(capped)) };
}
