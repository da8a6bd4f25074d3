/**
 * Where a session stands in its scenario: which turns were used, whether the greeting was given,
 * and what was said (history). Picks the reply for each client input and snapshots/restores for
 * session resumption.
 */
import type { Reply, Say, Scenario, Turn } from './scenario.js';
import { isTemplated } from './scenario.js';

export interface HistoryEntry {
  role: 'user' | 'model';
  text: string;
}

export interface CursorSnapshot {
  scenario: Scenario;
  used: number[];
  next: number;
  greetingDone: boolean;
  lastSay: Say | undefined;
  history: HistoryEntry[];
  tools: Record<string, unknown>;
}

export interface Pick {
  reply: Reply;
  /** What the caller said, for inputTranscription (audio input only). */
  heard?: string | undefined;
  /** Index in scenario.turns, -1 for the greeting, undefined at the end of the scenario. */
  turnIndex?: number | undefined;
  /** Template values for the reply's lines and arguments: `match` (the regex groups of a match turn). */
  vars?: Record<string, unknown> | undefined;
}

/** `say exactly: "…"`, `saying exactly: "…"`, `Say exactly this to the caller now: "…"`. */
const VERBATIM = /\bsay(?:ing)? exactly(?: this[^:"]*)?:\s*"([^"]+)"/i;

export class ScenarioCursor {
  readonly scenario: Scenario;
  readonly #used = new Set<number>();
  readonly #patterns: (RegExp | undefined)[];
  #next = 0;
  #greetingDone = false;
  #lastSay: Say | undefined;
  history: HistoryEntry[] = [];
  /** The latest response per function name, for `{{tools.<name>.output…}}` templates. */
  tools: Record<string, unknown> = {};

  constructor(scenario: Scenario, snapshot?: CursorSnapshot) {
    this.scenario = snapshot?.scenario ?? scenario;
    this.#patterns = this.scenario.turns.map((t) => (t.match ? new RegExp(t.match, 'i') : undefined));
    if (snapshot) {
      for (const i of snapshot.used) this.#used.add(i);
      this.#next = snapshot.next;
      this.#greetingDone = snapshot.greetingDone;
      this.#lastSay = snapshot.lastSay;
      this.history = snapshot.history.map((h) => ({ ...h }));
      this.tools = { ...snapshot.tools };
    }
  }

  snapshot(): CursorSnapshot {
    return {
      scenario: this.scenario,
      used: [...this.#used],
      next: this.#next,
      greetingDone: this.#greetingDone,
      lastSay: this.#lastSay,
      history: this.history.map((h) => ({ ...h })),
      tools: { ...this.tools },
    };
  }

  /**
   * Client TEXT: a line the client asks to be said word for word (an obedient model: "…say exactly
   * this…: "X"", as callbridge sends for greetings and flow `say` actions), else a turn whose
   * `match` fits, else the greeting (once, first), else the next turn.
   */
  forText(text: string): Pick {
    const verbatim = VERBATIM.exec(text);
    if (verbatim) {
      const first = !this.#greetingDone;
      this.#greetingDone = true;
      const after = first ? this.scenario.afterGreeting : undefined;
      return { reply: { say: after ? `${verbatim[1]!} ${after}` : verbatim[1]! } };
    }
    const turns = this.scenario.turns;
    for (let i = 0; i < turns.length; i++) {
      const pattern = this.#patterns[i];
      const match = pattern && (!this.#used.has(i) || turns[i]!.repeatable) ? pattern.exec(text) : null;
      if (match) {
        this.#used.add(i);
        this.#greetingDone = true;
        return { reply: turns[i]!, turnIndex: i, vars: { match: [...match] } };
      }
    }
    if (!this.#greetingDone && this.scenario.greeting) {
      this.#greetingDone = true;
      return { reply: withAfterGreeting(this.scenario.greeting, this.scenario.afterGreeting), turnIndex: -1 };
    }
    return this.forUtterance();
  }

  /** A caller utterance (audio): the next unused turn without `match`, else the end-of-scenario reply. */
  forUtterance(): Pick {
    this.#greetingDone = true;
    const turns = this.scenario.turns;
    for (let i = this.#next; i < turns.length; i++) {
      const turn: Turn = turns[i]!;
      if (this.#used.has(i) || turn.match) continue;
      this.#used.add(i);
      this.#next = i + 1;
      return { reply: turn, heard: turn.heard, turnIndex: i };
    }
    const end = this.scenario.endOfScenario;
    const say = end.mode === 'repeat' ? (end.say ?? this.#lastSay) : undefined;
    return { reply: say ? { say } : {} };
  }

  /**
   * A fresh session seeded with the conversation so far (clientContent history with model turns,
   * as a client sends after losing a session): like a real model it continues from there, so the
   * first `callerTurns` audio turns of the scenario count as done.
   */
  continueAfter(callerTurns: number): void {
    this.#greetingDone = true;
    let skipped = 0;
    const turns = this.scenario.turns;
    for (let i = 0; i < turns.length && skipped < callerTurns; i++) {
      if (turns[i]!.match) continue;
      this.#used.add(i);
      this.#next = i + 1;
      skipped++;
    }
  }

  /** Remembers the last line actually spoken (repeated at the end of the scenario). */
  spoke(say: Say): void {
    this.#lastSay = say;
  }

  /** Every fixed (untemplated) line, in the order it is likely needed: for pre-rendering. */
  lines(): { text: string; voice?: string | undefined }[] {
    const out: { text: string; voice?: string | undefined }[] = [];
    const add = (say: Say | undefined) => {
      if (say === undefined) return;
      const line = typeof say === 'string' ? { text: say } : 'text' in say ? say : undefined;
      if (line && !isTemplated(line.text)) out.push(line);
    };
    const walk = (r: Reply | undefined) => {
      if (!r) return;
      add(r.say);
      walk(r.afterTool);
      walk(r.afterToolError);
    };
    if (!this.#greetingDone) walk(this.scenario.greeting);
    this.scenario.turns.forEach((t, i) => {
      if (!this.#used.has(i) || t.repeatable) walk(t);
    });
    add(this.scenario.endOfScenario.say);
    return out;
  }
}

/** The greeting with `afterGreeting` appended to its line (a tone or tool-only greeting is left as it is). */
function withAfterGreeting(greeting: Reply, after: string | undefined): Reply {
  if (after === undefined || greeting.say === undefined) return greeting;
  const say = greeting.say;
  if (typeof say === 'string') return { ...greeting, say: `${say} ${after}` };
  return 'text' in say ? { ...greeting, say: { ...say, text: `${say.text} ${after}` } } : greeting;
}
