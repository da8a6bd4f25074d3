/**
 * The owner's dashboard as backend-neutral store interfaces (re-exported by after-call-store.ts):
 * figures per local day of a flow, the calls needing a person, and the "done" marks on them.
 * SQLite implements them in `sqlite-dashboard.ts`; a PostgreSQL backend implements the same.
 *
 * Days are passed in as instant windows (src/dashboard/days.ts computes them in the flow's time
 * zone), so a backend needs no time-zone support: it counts calls whose start falls in each window.
 *
 * A call needs follow-up when its record says so (`followUp`, amber or red: how the call went) or
 * its post-call analysis does (`analysis.followUp`: what the caller needs). It stays open until
 * someone marks it done.
 */
import type { CallOutcome, FollowUp } from './types.js';

/** One window to count in: a local day, or a whole range. */
export interface FigureWindow {
  /** The window's name in the answer (a date, or "total"). */
  key: string;
  startMs: number;
  endMs: number;
}

export interface CountedName {
  name: string;
  calls: number;
}

export interface WindowFigures {
  key: string;
  calls: number;
  /** Calls by outcome (outcomes with no calls are absent). */
  outcomes: Partial<Record<CallOutcome, number>>;
  /** Calls needing follow-up and not marked done. */
  followUpsOpen: number;
  /** Calls needing follow-up, done or not. */
  followUps: number;
  /** Median call length of calls with a duration, or null when none. */
  medianDurationMs: number | null;
  /** Analysis intents (lower-cased), most calls first; at most `topIntents`. */
  topIntents: CountedName[];
  /** Calls with an analysis that settled ok (intents come only from those). */
  analysed: number;
  /** Function calls that failed (error, timeout, rejected), by function name, most first. */
  failedFunctions: CountedName[];
  /** Calls handed over to a person or number (outcome `transferred`). */
  transfers: number;
}

export interface FigureQuery {
  /** The flow, or null for calls recorded without one. */
  flow: string | null;
  windows: readonly FigureWindow[];
  /** How many intents to keep per window (default 5; Infinity: all, to add windows up). */
  topIntents?: number;
}

/** Who marked a follow-up done, and when. */
export interface FollowUpMark {
  /** The name the person gave, else who was signed in (admin, api, local). */
  by: string;
  /** How they were signed in: admin (cookie), api (bearer token), local (no ADMIN_TOKEN). */
  via: string;
  /** The client address of the request. */
  client: string;
  atMs: number;
}

export interface FollowUpItem {
  callSid: string;
  flow: string | null;
  startedAt: number;
  durationMs: number | null;
  from: string;
  outcome: CallOutcome;
  /** The record's flag (how the call went), when set. */
  followUp: FollowUp | null;
  /** From the post-call analysis, when it settled ok. */
  analysis: { followUp: boolean; followUpReason: string | null; summary: string; intent: string } | null;
  done: FollowUpMark | null;
}

export interface FollowUpQuery {
  /** open: not marked done (default); done: marked done; all. */
  state: 'open' | 'done' | 'all';
  flow?: string;
  /** Calls started in [fromMs, toMs). */
  fromMs?: number;
  toMs?: number;
  limit: number;
}

export interface FollowUpMarks {
  /** Marks the call's follow-up done; false when there is no such call. Marking again replaces the mark. */
  markDone(callSid: string, mark: FollowUpMark): Promise<boolean>;
  /** Removes the mark; false when there was none. */
  undoDone(callSid: string): Promise<boolean>;
  doneMarkOf(callSid: string): Promise<FollowUpMark | undefined>;
}

export interface DashboardStore extends FollowUpMarks {
  figures(query: FigureQuery): Promise<WindowFigures[]>;
  /** Calls needing follow-up, newest first, with the total matching. */
  followUps(query: FollowUpQuery): Promise<{ items: FollowUpItem[]; total: number }>;
  /** The median length of the flow's calls started in [startMs, endMs) that have one, or null. */
  medianDurationMs(flow: string | null, startMs: number, endMs: number): Promise<number | null>;
  /** Flows with calls (null: calls recorded without a flow exist). */
  flowsWithCalls(): Promise<(string | null)[]>;
}
