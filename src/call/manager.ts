/**
 * Every call in the process: implements the Twilio edge's CallHandler.
 *
 * On the voice webhook it picks the flow for the called number, answers closed-hours and
 * shutting-down calls with plain TwiML, and otherwise creates the Call and (by default) opens its
 * Gemini session at once, so that the agent is ready — and its greeting already generated — when
 * Twilio's media stream starts. A webhook that no stream follows is cleaned up after
 * `noStreamTimeoutMs`. All state is per call; this object only indexes calls by CallSid.
 */
import type { CallDecision, CallHandler, IncomingCall } from '../twilio/handler.js';
import type { TwilioMediaStream } from '../twilio/media-stream.js';
import { dialTwiml, sayHangupTwiml } from '../twilio/twiml.js';
import type { TwilioCallControl } from '../twilio/rest.js';
import { FlowSession, outsideHoursActions, type Flow, type FlowRouter, type FlowAction } from '../flows/index.js';
import type { ToolRegistry } from '../tools/index.js';
import type { TranscriptWriter } from '../transcripts/writer.js';
import type { CallRecord } from '../transcripts/types.js';
import { DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL } from '../gemini/index.js';
import type { Logger } from '../shared/log.js';
import { Call } from './call.js';
import { GeminiLink, type LinkOptions, type RetryPolicy } from './gemini-link.js';
import type { ModelBreakers } from './breakers.js';
import { ReplyTimes } from './stall-watch.js';
import type { Prompt } from './prompts.js';

export interface CallManagerOptions {
  log: Logger;
  router: FlowRouter;
  registry: ToolRegistry;
  writer: TranscriptWriter;
  dataDir: string;
  gemini: {
    apiKey: string;
    url?: string;
    /** GEMINI_MODEL: overrides the flows' primary model (fallbacks stay). */
    model?: string;
    setupTimeoutMs?: number;
    retry?: Partial<RetryPolicy>;
    /** Default stall limit before healthy reply times are learned (ms). */
    stallTimeoutMs?: number;
  };
  breakers: ModelBreakers;
  rest: TwilioCallControl | undefined;
  prompts: { apology: Prompt; apologyTransfer: Prompt };
  /** Open the Gemini session at the webhook (default) rather than when the stream starts. */
  preopen?: boolean;
  /** Close a pre-opened session when no stream follows the webhook within this time. */
  noStreamTimeoutMs?: number;
  /** TwiML for new calls while draining (shutdown); default: a short message and hang up. */
  drainingTwiml?: () => string;
  now?: () => Date;
}

export interface CallsStatus {
  active: number;
  awaitingStream: number;
  draining: boolean;
}

export class CallManager implements CallHandler {
  readonly #o: CallManagerOptions;
  readonly #calls = new Map<string, Call>();
  readonly #noStreamTimers = new Map<string, NodeJS.Timeout>();
  /** Healthy reply delays per model, learned from every call (the stall limit). */
  readonly replyTimes: ReplyTimes;
  #draining = false;
  #idleWaiters: Array<() => void> = [];

  constructor(options: CallManagerOptions) {
    this.#o = options;
    this.replyTimes = new ReplyTimes(options.gemini.stallTimeoutMs);
  }

  get draining(): boolean {
    return this.#draining;
  }

  status(): CallsStatus {
    return { active: this.#calls.size, awaitingStream: this.#noStreamTimers.size, draining: this.#draining };
  }

  /** The call with this CallSid, while it runs (tests and the status page). */
  call(callSid: string): Call | undefined {
    return this.#calls.get(callSid);
  }

  onIncomingCall(incoming: IncomingCall): CallDecision {
    const log = this.#o.log.child({ callSid: incoming.callSid });
    if (this.#draining) {
      log.info('new call while shutting down: answered with the draining TwiML');
      return { kind: 'twiml', twiml: this.#o.drainingTwiml?.() ?? sayHangupTwiml('Sorry, we cannot take your call right now. Please call back in a minute.') };
    }
    const flow = this.#o.router.route(incoming.to);
    if (!flow) {
      log.error({ pii: { to: incoming.to } }, 'no flow answers this number and there is no default flow');
      return { kind: 'twiml', twiml: sayHangupTwiml('Sorry, this number is not in service.') };
    }
    const existing = this.#calls.get(incoming.callSid);
    if (existing) return { kind: 'stream', parameters: { flow: flow.name } }; // Twilio retried the webhook
    const closed = outsideHoursActions(flow, this.#o.now?.() ?? new Date());
    if (closed) return this.#closedHours(incoming, flow, closed);

    const call = this.#createCall(incoming, flow);
    if (this.#o.preopen !== false) call.startAgent();
    const timer = setTimeout(() => {
      this.#noStreamTimers.delete(incoming.callSid);
      call.abort('CB_CALL_NO_STREAM', 'no media stream followed the webhook');
    }, this.#o.noStreamTimeoutMs ?? 10_000);
    timer.unref?.();
    this.#noStreamTimers.set(incoming.callSid, timer);
    log.info({ flow: flow.name, pii: { from: incoming.from, to: incoming.to } }, 'incoming call');
    return { kind: 'stream', parameters: { flow: flow.name } };
  }

  onStreamStart(stream: TwilioMediaStream): void {
    const callSid = stream.callSid;
    const timer = this.#noStreamTimers.get(callSid);
    if (timer) {
      clearTimeout(timer);
      this.#noStreamTimers.delete(callSid);
    }
    let call = this.#calls.get(callSid);
    if (!call) {
      // The webhook went elsewhere (another instance, a restart): rebuild the call from the stream.
      const flow = this.#o.router.byName(stream.customParameters['flow'] ?? '') ?? this.#o.router.route('');
      if (!flow || this.#draining) {
        this.#o.log.warn({ code: 'CB_TWILIO_STREAM_REFUSED', callSid, streamSid: stream.streamSid, reason: this.#draining ? 'draining' : 'no flow' }, 'media stream for an unknown call refused');
        stream.close(1001, 'not accepting calls');
        return;
      }
      call = this.#createCall({ callSid, accountSid: stream.accountSid, from: '', to: '', params: {} }, flow);
    }
    call.attachStream(stream);
  }

  onStreamStatus(status: { callSid: string; streamSid: string; event: string; error?: string }): void {
    if (status.event === 'stream-error') this.#calls.get(status.callSid)?.abort('CB_TWILIO_STREAM_ERROR', status.error ?? 'stream error');
  }

  /** Stop taking calls; resolves when every call has ended or `deadlineMs` passed (then aborts the rest). */
  async drain(deadlineMs: number): Promise<{ finished: number; aborted: number }> {
    this.#draining = true;
    const before = this.#calls.size;
    if (before > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        timer.unref?.();
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const left = [...this.#calls.values()];
    for (const call of left) call.abort('CB_CALL_SHUTDOWN', 'server shutting down');
    return { finished: before - left.length, aborted: left.length };
  }

  #createCall(incoming: IncomingCall, flow: Flow): Call {
    const models = this.#modelsFor(flow);
    const record: CallRecord = {
      callSid: incoming.callSid,
      accountSid: incoming.accountSid,
      from: incoming.from,
      to: incoming.to,
      flow: flow.name,
      models: [],
      startedAt: Date.now(),
      outcome: 'in_progress',
      geminiCloses: [],
      reconnects: 0,
      usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 },
      latency: { turns: [] },
    };
    const callLog = this.#o.writer.openCall(record, { redact: flow.redactDigits });
    const call = new Call(
      {
        callSid: incoming.callSid,
        accountSid: incoming.accountSid,
        from: incoming.from,
        to: incoming.to,
        flow,
        session: new FlowSession(flow, this.#o.registry),
        registry: this.#o.registry,
        models,
        record: callLog,
      },
      {
        log: this.#o.log,
        dataDir: this.#o.dataDir,
        link: (o) => this.#link(o),
        rest: this.#o.rest,
        prompts: this.#o.prompts,
        ended: (c) => this.#ended(c),
      },
    );
    this.#calls.set(incoming.callSid, call);
    return call;
  }

  #link(o: Pick<LinkOptions, 'models' | 'sessionConfig' | 'history' | 'log'>): GeminiLink {
    const g = this.#o.gemini;
    return new GeminiLink({
      ...o,
      apiKey: g.apiKey,
      ...(g.url ? { url: g.url } : {}),
      ...(g.setupTimeoutMs ? { setupTimeoutMs: g.setupTimeoutMs } : {}),
      ...(g.retry ? { retry: g.retry } : {}),
      breakers: this.#o.breakers,
      replyTimes: this.replyTimes,
    });
  }

  #modelsFor(flow: Flow): string[] {
    const primary = this.#o.gemini.model ?? flow.model ?? DEFAULT_MODEL;
    const fallbacks = flow.fallbackModels.length > 0 ? flow.fallbackModels : flow.model ? [] : DEFAULT_FALLBACK_MODELS;
    return [...new Set([primary, ...fallbacks])];
  }

  #closedHours(incoming: IncomingCall, flow: Flow, actions: FlowAction[]): CallDecision {
    const say = actions.filter((a): a is Extract<FlowAction, { type: 'say' }> => a.type === 'say').map((a) => a.text).join(' ');
    const transfer = actions.find((a): a is Extract<FlowAction, { type: 'transfer' }> => a.type === 'transfer');
    const sayOptions = flow.language ? { language: flow.language } : {};
    const twiml = transfer
      ? dialTwiml(transfer.number, { ...(say ? { say } : {}), sayOptions })
      : sayHangupTwiml(say || 'We are closed right now. Please call back during business hours.', sayOptions);
    const now = Date.now();
    const callLog = this.#o.writer.openCall(
      {
        callSid: incoming.callSid, accountSid: incoming.accountSid, from: incoming.from, to: incoming.to, flow: flow.name,
        models: [], startedAt: now, outcome: 'in_progress', geminiCloses: [], reconnects: 0,
        usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 }, latency: { turns: [] },
      },
      { redact: flow.redactDigits },
    );
    callLog.event({ kind: 'note', text: `Outside business hours: ${say || '(no message)'}` }, 0);
    if (transfer) callLog.event({ kind: 'transfer', target: `${transfer.target} (${transfer.number})` }, 0);
    callLog.close({
      outcome: transfer ? 'transferred' : 'completed',
      outcomeDetail: { reason: 'outside business hours', ...(transfer ? { transferTarget: `${transfer.target} (${transfer.number})` } : {}) },
      endedAt: now,
    });
    this.#o.log.info({ callSid: incoming.callSid, flow: flow.name, transfer: transfer?.target }, 'call outside business hours');
    return { kind: 'twiml', twiml };
  }

  #ended(call: Call): void {
    this.#calls.delete(call.callSid);
    const timer = this.#noStreamTimers.get(call.callSid);
    if (timer) {
      clearTimeout(timer);
      this.#noStreamTimers.delete(call.callSid);
    }
    if (this.#calls.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
