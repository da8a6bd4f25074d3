/**
 * Every call in the process, whatever its channel (the channel adapters in ./adapters/ turn
 * their wire into these calls).
 *
 * On admission it picks the flow for the called number, answers closed-hours and shutting-down
 * calls with a message (the adapter says it: TwiML for Twilio), and otherwise creates the Call
 * and (by default) starts its agent at once, so that the agent is ready — and its greeting
 * already generated — when the caller's media starts. An admitted call whose media never comes
 * is ended after `noStreamTimeoutMs`. All state is per call; this object only indexes calls.
 */
import { FlowSession, outsideHoursActions, clockStartingAt, type Flow, type FlowRouter, type FlowAction } from '../flows/index.js';
import type { ToolRegistry } from '../tools/index.js';
import type { TranscriptWriter } from '../transcripts/writer.js';
import type { CallRecord } from '../transcripts/types.js';
import type { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { ReplyTimes } from '../health/reply-times.js';
import { Call } from './call.js';
import { followUpPatch } from './follow-up.js';
import { GeminiLink, type LinkBreakers, type LinkOptions, type RetryPolicy } from './link/link.js';
import { realClock } from './clock.js';
import type { CallChannel, CallerTransport, Clock, LiveConnect, TimerHandle } from './ports.js';
import type { Prompt } from './prompts.js';
import type { FrameTimeSink } from './frame-timer.js';
import { takenBy, type CallOwnershipPort, type TakenOver } from './ownership.js';
import { CallMoves, type MigrationPort } from './migration.js';

export interface CallManagerOptions {
  log: Logger;
  /**
   * The flows and functions for the next call, read at each admission (hot reload swaps them);
   * a call keeps the Flow and registry it was created with until it ends.
   */
  flows: () => { router: FlowRouter; registry: ToolRegistry };
  writer: TranscriptWriter;
  dataDir: string;
  agent: {
    /** Opens an agent session (./adapters/gemini-session.ts). */
    connect: LiveConnect;
    /** A connect per flow, used instead of `connect` when it gives one (the built-in emulator learns the flow from its URL; a cascade flow's agent). */
    connectFor?: (flow: Flow) => LiveConnect | undefined;
    /** A flow without `model:` uses these. */
    defaultModel: string;
    /** A `pipeline: cascade` flow without `model:` uses this text model (default `defaultModel`). */
    defaultCascadeModel?: string;
    defaultFallbackModels: readonly string[];
    /** GEMINI_MODEL: overrides the flows' primary model (fallbacks stay). */
    model?: string;
    retry?: Partial<RetryPolicy>;
    /** Default stall limit before healthy reply times are learned (ms). */
    stallTimeoutMs?: number;
  };
  breakers: LinkBreakers;
  prompts: { apology: Prompt; apologyTransfer: Prompt };
  /** Start the agent when the call is admitted (default) rather than when its media starts. */
  preopen?: boolean;
  /** End an admitted call when no media follows within this time. */
  noStreamTimeoutMs?: number;
  /** MAX_CALLS: calls running at once; more are answered busy (no agent session). Default unlimited. */
  maxCalls?: number;
  /** MAX_PENDING_CALLS: admitted calls whose media has not started yet; more are answered busy. Default unlimited. */
  maxPendingCalls?: number;
  /** The business clock for hours, closed dates and functions (CALLBRIDGE_NOW's test clock); default the machine's. */
  now?: () => Date;
  clock?: Clock;
  /** Several instances on one database (docs/scale-out.md): which instance runs which call. */
  scale?: CallOwnershipPort;
  /** MIGRATE_ON_DRAIN: live calls move to another instance on drain, and arrive from one (./migration.ts). */
  migration?: MigrationPort;
}

/** A call as it arrives, whatever the channel. */
export interface IncomingCall {
  callSid: string;
  accountSid: string;
  from: string;
  to: string;
  channel: CallChannel;
  /** Run on this flow (by name) instead of the one routed to `to` (the browser phone picks one). */
  flowName?: string;
  /** Business hours, closed dates and functions see this time instead of now (the browser phone's "Pretend it is…"). */
  pretendNow?: Date;
}

/** What to do with an incoming call: connect it to an agent, or answer it with a message. */
export type Admission =
  | { kind: 'accepted'; flow: string }
  | { kind: 'draining' }
  /** Over MAX_CALLS or MAX_PENDING_CALLS: answered with the busy message (or FALLBACK_NUMBER); no agent session. */
  | { kind: 'busy' }
  | { kind: 'no-flow' }
  | { kind: 'closed'; say: string; transfer?: { target: string; number: string }; language?: string };

export interface CallsStatus {
  active: number;
  awaitingStream: number;
  draining: boolean;
  /** A new call would be answered busy: MAX_CALLS calls run, or MAX_PENDING_CALLS wait for their media. */
  atCapacity: boolean;
  maxCalls: number | null;
  maxPendingCalls: number | null;
}

export class CallManager {
  readonly #o: CallManagerOptions;
  readonly #calls = new Map<string, Call>();
  readonly #noStreamTimers = new Map<string, TimerHandle>();
  /** Claims of admitted calls not yet awaited by `admitted` (several instances only). */
  readonly #claims = new Map<string, Promise<void>>();
  readonly #clock: Clock;
  readonly #connect: LiveConnect;
  /** Healthy reply delays per model, learned from every call (the stall limit). */
  readonly replyTimes: ReplyTimes;
  readonly #moves: CallMoves;
  /** Sampled per-frame handling times of the calls admitted from now on (/metrics sets it; ./frame-timer.ts). */
  frameTime: FrameTimeSink | undefined;
  #draining = false;
  #idleWaiters: Array<() => void> = [];

  constructor(options: CallManagerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#connect = options.agent.connect;
    this.replyTimes = new ReplyTimes(options.agent.stallTimeoutMs);
    this.#moves = new CallMoves(options.migration, options.log);
  }

  get draining(): boolean {
    return this.#draining;
  }

  status(): CallsStatus {
    return {
      active: this.#calls.size,
      awaitingStream: this.#noStreamTimers.size,
      draining: this.#draining,
      atCapacity: this.#full() !== undefined,
      maxCalls: this.#o.maxCalls ?? null,
      maxPendingCalls: this.#o.maxPendingCalls ?? null,
    };
  }

  /** Which limit a new call would exceed, if any. */
  #full(): 'MAX_CALLS' | 'MAX_PENDING_CALLS' | undefined {
    if (this.#o.maxCalls !== undefined && this.#calls.size >= this.#o.maxCalls) return 'MAX_CALLS';
    if (this.#o.maxPendingCalls !== undefined && this.#noStreamTimers.size >= this.#o.maxPendingCalls) return 'MAX_PENDING_CALLS';
    return undefined;
  }

  /** The call with this CallSid, while it runs (tests and the status page). */
  call(callSid: string): Call | undefined {
    return this.#calls.get(callSid);
  }

  /**
   * Decides what happens to an incoming call. Accepted: the call is created with the transport
   * `makeTransport` builds (not called for a retried admission of a call that exists) and, by
   * default, its agent starts at once.
   */
  admit(incoming: IncomingCall, makeTransport: () => CallerTransport): Admission {
    const log = this.#o.log.child({ callSid: incoming.callSid });
    if (this.#draining) {
      log.info('new call while shutting down: answered with the draining message');
      return { kind: 'draining' };
    }
    const { router } = this.#o.flows();
    const flow = incoming.flowName !== undefined ? router.byName(incoming.flowName) : router.route(incoming.to);
    if (!flow) {
      log.error({ pii: { to: incoming.to } }, 'no flow answers this number and there is no default flow');
      return { kind: 'no-flow' };
    }
    if (this.#calls.has(incoming.callSid)) return { kind: 'accepted', flow: flow.name }; // a retried webhook
    const closed = outsideHoursActions(flow, this.#businessClock(incoming)?.() ?? new Date());
    if (closed) return this.#closedHours(incoming, flow, closed);
    const limit = this.#full();
    if (limit) {
      log.warn({ code: 'CB_CALL_AT_CAPACITY', limit, active: this.#calls.size, awaitingStream: this.#noStreamTimers.size }, 'new call answered busy: at capacity');
      return { kind: 'busy' };
    }

    const call = this.#createCall(incoming, flow, makeTransport());
    if (this.#o.preopen !== false) call.startAgent();
    if (this.#o.scale) this.#claims.set(incoming.callSid, this.#o.scale.claim(incoming.callSid).catch((err: unknown) => log.error({ err, code: 'CB_SCALE_DB_FAILED' }, 'could not claim the call')));
    const timer = this.#clock.setTimeout(() => {
      this.#noStreamTimers.delete(incoming.callSid);
      void this.#noStream(call);
    }, this.#o.noStreamTimeoutMs ?? 10_000);
    this.#noStreamTimers.set(incoming.callSid, timer);
    log.info({ flow: flow.name, channel: incoming.channel, pii: { from: incoming.from, to: incoming.to } }, 'incoming call');
    return { kind: 'accepted', flow: flow.name };
  }

  /** Several instances: resolves once the admitted call is claimed and its record written, so the instance its stream lands on finds both. Never rejects. */
  async admitted(callSid: string): Promise<void> {
    const claim = this.#claims.get(callSid);
    this.#claims.delete(callSid);
    if (claim) await Promise.all([claim, this.#o.writer.flush().catch(() => undefined)]); // a failed write is logged and retried by the writer
  }

  /** Media for a call admitted elsewhere: with several instances it becomes this instance's (undefined: refused, its record is final). */
  async takeOver(callSid: string): Promise<TakenOver | undefined> {
    const taken = this.#o.scale ? await this.#o.scale.takeOver(callSid) : { ok: true as const, lastSeq: 0 };
    if (taken.ok) await this.#moves.arrive(callSid); // moved here from a draining instance?
    return taken.ok ? taken : undefined;
  }

  /** No media in time: end the call; when another instance took its media, this only closes the unused pre-opened session (src/call/ownership.ts). */
  async #noStream(call: Call): Promise<void> {
    const owner = await takenBy(this.#o.scale, call.callSid, this.#o.log);
    if (owner !== undefined) call.takenBy(owner);
    call.abort('CB_CALL_NO_STREAM', owner === undefined ? 'no media stream followed the webhook' : `media went to instance ${owner}`);
  }

  /** True when `callSid` is not running and its record is final: a replayed webhook gets a hang-up, nothing is reopened. */
  async ended(callSid: string): Promise<boolean> {
    return !this.#calls.has(callSid) && (await this.#o.writer.isFinal(callSid));
  }

  /** The media of an admitted call started: it no longer waits for it. */
  mediaStarted(callSid: string): void {
    const timer = this.#noStreamTimers.get(callSid);
    if (timer === undefined) return;
    this.#clock.clearTimeout(timer);
    this.#noStreamTimers.delete(callSid);
  }

  /**
   * Media for a call this process never admitted (its admission went elsewhere, or before a
   * restart): the call is rebuilt on `flowName` (or the default flow). False when refused.
   */
  adopt(incoming: Omit<IncomingCall, 'from' | 'to'>, flowName: string, transport: CallerTransport, taken?: TakenOver): boolean {
    const { router } = this.#o.flows();
    const flow = router.byName(flowName) ?? router.route('');
    if (!flow || this.#draining) return false;
    if (this.#o.maxCalls !== undefined && this.#calls.size >= this.#o.maxCalls) {
      this.#o.log.warn({ code: 'CB_CALL_AT_CAPACITY', callSid: incoming.callSid, limit: 'MAX_CALLS' }, 'media for an unknown call refused: at capacity');
      return false;
    }
    const prior = taken?.record;
    this.#createCall({ ...incoming, from: prior?.from ?? '', to: prior?.to ?? '' }, flow, transport, taken);
    return true;
  }

  /** Ends a call from outside (e.g. the transport reported a fatal error). */
  abort(callSid: string, code: ErrorCode, reason: string): void {
    this.#calls.get(callSid)?.abort(code, reason);
  }

  /** Stop taking calls; resolves when every call has ended or `deadlineMs` passed (then aborts the rest). */
  async drain(deadlineMs: number): Promise<{ finished: number; aborted: number }> {
    this.#draining = true;
    if (this.#o.migration?.onDrain) await this.#moves.moveAll([...this.#calls.keys()].filter((sid) => !this.#noStreamTimers.has(sid)), (sid) => this.#calls.get(sid)?.flow.name);
    const before = this.#calls.size;
    if (before > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, deadlineMs);
        this.#idleWaiters.push(() => {
          this.#clock.clearTimeout(timer);
          resolve();
        });
      });
    }
    const left = [...this.#calls.values()];
    for (const call of left) call.abort('CB_CALL_SHUTDOWN', 'server shutting down');
    return { finished: before - left.length, aborted: left.length };
  }

  #createCall(incoming: IncomingCall, flow: Flow, transport: CallerTransport, taken?: TakenOver): Call {
    const models = this.#modelsFor(flow);
    // Synchronous with the routing that chose `flow`, so it is the registry of the same reload.
    const { registry } = this.#o.flows();
    const record: CallRecord = {
      callSid: incoming.callSid,
      accountSid: incoming.accountSid,
      from: incoming.from,
      to: incoming.to,
      flow: flow.name,
      flowVersion: flow.version,
      channel: incoming.channel,
      models: [],
      startedAt: taken?.record?.startedAt ?? this.#clock.wallNow(),
      outcome: 'in_progress',
      geminiCloses: [],
      reconnects: 0,
      usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 },
      latency: { turns: [] },
      ...(this.#o.scale ? { instance: this.#o.scale.instance } : {}),
    };
    const callLog = this.#o.writer.openCall(record, { redact: flow.redactDigits, ...(taken ? { lastSeq: taken.lastSeq } : {}) });
    this.#moves.opened(incoming.callSid, callLog, this.#clock.wallNow());
    const call = new Call(
      {
        callSid: incoming.callSid,
        accountSid: incoming.accountSid,
        from: incoming.from,
        to: incoming.to,
        flow,
        session: this.#moves.session(incoming.callSid, new FlowSession(flow, registry)),
        registry,
        models,
        record: callLog,
        transport,
        ...this.#businessClockInit(incoming),
      },
      {
        log: this.#o.log,
        dataDir: this.#o.dataDir,
        clock: this.#clock,
        link: (o) => this.#link(o, flow, incoming.callSid),
        prompts: this.#o.prompts,
        ended: (c) => this.#ended(c),
        frameTime: this.frameTime,
      },
    );
    this.#calls.set(incoming.callSid, call);
    return call;
  }

  /** The call's test clock: its own pretend time (advancing from admission), else the process's. */
  #businessClock(incoming: IncomingCall): (() => Date) | undefined {
    if (incoming.pretendNow) return clockStartingAt(incoming.pretendNow, () => this.#clock.wallNow());
    return this.#o.now;
  }

  #businessClockInit(incoming: IncomingCall): { businessNow?: () => Date } {
    const businessNow = this.#businessClock(incoming);
    return businessNow ? { businessNow } : {};
  }

  #link(o: Pick<LinkOptions, 'models' | 'sessionConfig' | 'history' | 'log'>, flow: Flow, callSid: string): GeminiLink {
    const a = this.#o.agent;
    return this.#moves.track(callSid, new GeminiLink({
      ...o,
      ...this.#moves.history(callSid, o.history),
      connect: this.#moves.connect(callSid, a.connectFor?.(flow) ?? this.#connect),
      ...(a.retry ? { retry: a.retry } : {}),
      breakers: this.#o.breakers,
      replyTimes: this.replyTimes,
      clock: this.#clock,
    }));
  }

  #modelsFor(flow: Flow): string[] {
    const a = this.#o.agent;
    // A cascade flow's models are text models: GEMINI_MODEL and the Live fallbacks do not apply.
    if (flow.pipeline === 'cascade') return [...new Set([flow.model ?? a.defaultCascadeModel ?? a.defaultModel, ...flow.fallbackModels])];
    const primary = a.model ?? flow.model ?? a.defaultModel;
    const fallbacks = flow.fallbackModels.length > 0 ? flow.fallbackModels : flow.model ? [] : a.defaultFallbackModels;
    return [...new Set([primary, ...fallbacks])];
  }

  /** Outside business hours: the flow's message (and transfer), recorded as a call of its own. */
  #closedHours(incoming: IncomingCall, flow: Flow, actions: FlowAction[]): Admission {
    const say = actions.filter((a): a is Extract<FlowAction, { type: 'say' }> => a.type === 'say').map((a) => a.text).join(' ');
    const transfer = actions.find((a): a is Extract<FlowAction, { type: 'transfer' }> => a.type === 'transfer');
    const now = this.#clock.wallNow();
    const callLog = this.#o.writer.openCall(
      {
        callSid: incoming.callSid, accountSid: incoming.accountSid, from: incoming.from, to: incoming.to, flow: flow.name,
        flowVersion: flow.version, channel: incoming.channel, models: [], startedAt: now, outcome: 'in_progress', geminiCloses: [], reconnects: 0,
        usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 }, latency: { turns: [] },
      },
      { redact: flow.redactDigits },
    );
    callLog.event({ kind: 'note', text: `Outside business hours: ${say || '(no message)'}` }, 0);
    if (transfer) callLog.event({ kind: 'transfer', target: `${transfer.target} (${transfer.number})` }, 0);
    const outcome = transfer ? 'transferred' : 'completed';
    const outcomeDetail = { reason: 'outside business hours', ...(transfer ? { transferTarget: `${transfer.target} (${transfer.number})` } : {}) };
    callLog.close({ outcome, outcomeDetail, ...followUpPatch({ outcome, outcomeDetail, events: [] }), endedAt: now });
    this.#o.log.info({ callSid: incoming.callSid, flow: flow.name, transfer: transfer?.target }, 'call outside business hours');
    return {
      kind: 'closed',
      say,
      ...(transfer ? { transfer: { target: transfer.target, number: transfer.number } } : {}),
      ...(flow.language ? { language: flow.language } : {}),
    };
  }

  #ended(call: Call): void {
    this.#calls.delete(call.callSid);
    this.#moves.forget(call.callSid);
    this.#claims.delete(call.callSid);
    const timer = this.#noStreamTimers.get(call.callSid);
    if (timer !== undefined) {
      this.#clock.clearTimeout(timer);
      this.#noStreamTimers.delete(call.callSid);
    }
    if (this.#calls.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
