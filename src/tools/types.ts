/**
 * The shapes shared by every business function (built-in, code, HTTP) and the dispatcher that
 * runs them. The bridge (src/call) implements CallControl; everything else here is ours.
 */
import type { z } from 'zod';
import type { Logger } from '../shared/log.js';

/** What functions may do to the live call. The bridge implements it, once per call. */
export interface CallControl {
  /** Transfers to a named target of the flow's `transfers`; resolves with the dialled number. */
  transfer(targetName: string): Promise<{ number: string }>;
  /** Ends the call once the bot's last words have played. */
  endCall(reason: string): Promise<void>;
  /** Moves the flow to another stage (the bridge calls FlowSession.goTo and applies its actions). */
  goToStage(name: string): Promise<void>;
}

/** Handed to every handler (documented for businesses in docs/scenarios.md § Functions). */
export interface ToolContext {
  /** The call's id: Twilio's CallSid for a phone call, the test call's id for a browser call. */
  callSid: string;
  /** The same id under a channel-neutral name. */
  callId: string;
  /** Who called: E.164 for a phone call ("" when Twilio withheld it); the signed-in user for a browser call. */
  callerNumber: string;
  /** The number that was called (Twilio's `To`); "" for a browser call. */
  calledNumber: string;
  flowName: string;
  /** The stage the call was in when the model called the function. */
  stage: string;
  /**
   * The business clock: now, or the test clock (CALLBRIDGE_NOW, or the browser phone's "Pretend
   * it is…") when one is set. Use it instead of `new Date()` so a test call sees the pretend time.
   */
  now(): Date;
  /** Aborted when the call times out or Gemini cancels it; pass it on to fetch and the like. */
  signal: AbortSignal;
  control: CallControl;
  log: Logger;
}

/** The facts about a flow that shape a function's arguments (built-ins list the flow's stages and transfer names). */
export interface FlowFacts {
  name: string;
  stages: readonly string[];
  transfers: readonly string[];
}

export type ToolKind = 'builtin' | 'code' | 'http';

export const TOOL_BEHAVIORS = ['blocking', 'non_blocking'] as const;
export type ToolBehavior = (typeof TOOL_BEHAVIORS)[number];
export const TOOL_SCHEDULINGS = ['when_idle', 'interrupt', 'silent'] as const;
export type ToolScheduling = (typeof TOOL_SCHEDULINGS)[number];

/** A function's behaviour and scheduling, as set in code or per function in a flow. */
export interface ToolMode {
  behavior: ToolBehavior;
  scheduling: ToolScheduling;
}

/** Defaults a business expects: the model waits for the answer; a background answer comes when the bot is idle. */
export const DEFAULT_TOOL_MODE: Readonly<ToolMode> = Object.freeze({ behavior: 'blocking', scheduling: 'when_idle' });

/** A function the model can call, whatever its kind. */
export interface Tool {
  readonly name: string;
  readonly kind: ToolKind;
  /** Told to the model: what the function does and when to call it. */
  readonly description: string;
  /** Where it comes from, for messages: a file path, a flow file, or "built-in". */
  readonly source: string;
  /** Overrides the dispatcher's default timeout. */
  readonly timeoutMs: number | undefined;
  /**
   * 'blocking': the model waits for the answer (a lookup whose answer the bot needs); caller
   * audio is held meanwhile. 'non_blocking': the model may go on talking while it runs (a
   * background action). docs/gemini-live.md §2.4.
   */
  readonly behavior: ToolBehavior;
  /** How a non-blocking function's answer is voiced: when the bot is idle, cutting in, or silently. */
  readonly scheduling: ToolScheduling;
  /** The argument schema in a given flow (a zod object; built-ins narrow to the flow's names). */
  args(flow: FlowFacts): z.ZodType;
  /** Runs with arguments already validated against `args(flow)`. Throw ToolError for business errors. */
  run(args: unknown, ctx: ToolContext): Promise<unknown>;
}
