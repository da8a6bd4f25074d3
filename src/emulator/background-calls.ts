/**
 * Asynchronous (NON_BLOCKING) function calls, run the way docs/gemini-live.md §2.4 describes them
 * for 3.8 (and 2.5 when declared): the model sends the call and goes on speaking; the call stays
 * open after the turn ends; its response is handled per `scheduling`:
 *
 *   WHEN_IDLE (default)  the result is spoken once the current output is over (at once when idle);
 *   INTERRUPT            the current output is cut (interrupted → turnComplete) and the result is
 *                        spoken; on 3.8 not while the caller is talking (it waits for them);
 *   SILENT               the result joins the context and nothing is said.
 *
 * A BLOCKING call holds the turn until its response (model-turn.ts). A declaration's `behavior`
 * (or the family default when absent or UNSPECIFIED) decides which kind a call is, from the tools
 * of the setup or the latest contextUpdate. `willContinue: true` keeps a call open for further
 * responses (each absorbed like SILENT); the last one ends it. The calls of one scenario reply form
 * a group: its `afterTool` line is spoken once every call of the group has its final response. On
 * 2.5 new caller input cancels the open calls (toolCallCancellation); on 3.8 they run on.
 */
import type { ToolResult, Reply } from './scenario.js';
import { declarationsOf } from './validate-family.js';
import type { FamilyRules, FunctionBehavior } from './models.js';

export type Scheduling = 'WHEN_IDLE' | 'INTERRUPT' | 'SILENT';

interface Group {
  reply: Reply;
  open: Set<string>;
  results: ToolResult[];
}

export interface FunctionResponseIn {
  id: string;
  name: string;
  response?: unknown;
  scheduling?: string;
  willContinue?: boolean;
}

/** What to do once a group is complete. */
export interface GroupDone {
  reply: Reply;
  results: ToolResult[];
  scheduling: Scheduling;
}

/** Function behaviours from the current tool declarations (setup, then contextUpdate replaces them). */
export class ToolBehaviors {
  readonly #rules: FamilyRules;
  #byName = new Map<string, FunctionBehavior>();

  constructor(rules: FamilyRules, tools: readonly unknown[] | undefined) {
    this.#rules = rules;
    this.update(tools);
  }

  update(tools: readonly unknown[] | undefined): void {
    const byName = new Map<string, FunctionBehavior>();
    for (const d of declarationsOf(tools)) {
      if (typeof d.name !== 'string') continue;
      byName.set(d.name, d.behavior === 'BLOCKING' || d.behavior === 'NON_BLOCKING' ? d.behavior : this.#rules.defaultBehavior);
    }
    this.#byName = byName;
  }

  /** A function not declared (a scenario may call anything) takes the family default. */
  of(name: string): FunctionBehavior {
    return this.#byName.get(name) ?? this.#rules.defaultBehavior;
  }

  /** Whether every call of a reply is asynchronous (a mixed reply is run as blocking: APPROXIMATE). */
  allNonBlocking(names: readonly string[]): boolean {
    return names.length > 0 && names.every((n) => this.of(n) === 'NON_BLOCKING');
  }
}

/** The asynchronous calls still open in a session. */
export class BackgroundCalls {
  readonly #rules: FamilyRules;
  readonly #groups = new Map<string, Group>();

  constructor(rules: FamilyRules) {
    this.#rules = rules;
  }

  /** Registers the calls of one reply, just sent as a toolCall. */
  register(ids: readonly string[], reply: Reply): void {
    const group: Group = { reply, open: new Set(ids), results: [] };
    for (const id of ids) this.#groups.set(id, group);
  }

  has(id: string): boolean {
    return this.#groups.has(id);
  }

  get size(): number {
    return this.#groups.size;
  }

  /**
   * One function response to an open call. Returns the group's follow-up when this was the last
   * open call of its group, else undefined (the result is kept for the group's templates).
   */
  respond(fr: FunctionResponseIn): GroupDone | undefined {
    const group = this.#groups.get(fr.id);
    if (!group) return undefined;
    const response = typeof fr.response === 'object' && fr.response !== null ? (fr.response as Record<string, unknown>) : {};
    group.results.push({ id: fr.id, name: fr.name, response });
    if (fr.willContinue === true) return undefined;
    group.open.delete(fr.id);
    this.#groups.delete(fr.id);
    if (group.open.size > 0) return undefined;
    return { reply: group.reply, results: group.results, scheduling: this.schedulingOf(fr.scheduling) };
  }

  /** Cancels every open call (2.5: new caller input, models.ts nonBlockingCancelledByInput); returns their ids. */
  cancelAll(): string[] {
    const ids = [...this.#groups.keys()];
    this.#groups.clear();
    return ids;
  }

  /** docs/gemini-live.md §2.4: default WHEN_IDLE; a family without scheduling speaks when idle. */
  schedulingOf(value: string | undefined): Scheduling {
    if (!this.#rules.scheduling) return 'WHEN_IDLE';
    return value === 'INTERRUPT' || value === 'SILENT' ? value : 'WHEN_IDLE';
  }
}
