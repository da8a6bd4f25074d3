/**
 * Drives the call's flow (src/flows): flow steps from the greeting, DTMF, silence, function
 * results and stage changes are recorded and their actions run — or held back while a BLOCKING
 * tool call is unanswered (nothing may go before its toolResponse; a NON_BLOCKING call holds
 * nothing back: docs/gemini-live.md §2.3, §2.4). Runs the model's function calls through the
 * dispatcher and answers them on the link, a NON_BLOCKING answer with the function's scheduling;
 * a stage's instructions go by the mechanism the agent's model family accepts mid-session
 * (LiveSession.instruct). Gives functions the call control they use (transfer, end_call, go_to_stage).
 */
import type { FlowSession, FlowAction, StageChange, Flow } from '../flows/index.js';
import { ToolDispatcher, ToolError, wireScheduling, type CallControl, type ToolRegistry } from '../tools/index.js';
import type { CallEventBody } from '../transcripts/types.js';
import type { Logger } from '../shared/log.js';
import type { Instructions, ToolCallRequest, ToolResult, Turn } from './ports.js';
import type { PendingExit } from './exit.js';

/** What the driver needs of the agent link. */
export interface FlowAgent {
  readonly pendingToolCalls: number;
  /** The agent session in use (undefined while none is up). */
  readonly session: { readonly pendingToolCalls: ReadonlyArray<{ blocking: boolean }>; instruct(update: Instructions): void } | undefined;
  sendClientContent(turns: Turn[], turnComplete: boolean): boolean;
  sendToolResponse(responses: ToolResult[]): void;
}

export interface FlowDriverDeps {
  callSid: string;
  /** What functions see as the caller and called numbers, and as the time (ToolContext). */
  from: string;
  to: string;
  businessNow(): Date;
  flow: Flow;
  session: FlowSession;
  registry: ToolRegistry;
  agent: FlowAgent;
  log: Logger;
  /** The caller's transport can transfer. */
  canTransfer(): boolean;
  now(): number;
  event(body: CallEventBody, atMs: number): void;
  exit(exit: PendingExit): void;
}

const text = (t: string): Turn[] => [{ role: 'user', parts: [{ text: t }] }];

export class FlowDriver {
  readonly #d: FlowDriverDeps;
  readonly dispatcher: ToolDispatcher;
  /** Flow actions held back while a tool call is unanswered. */
  #deferred: FlowAction[] = [];
  /** Call time of the caller's last sign of life (speech ended, a key): silence counts from here. */
  #lastActivityMs = 0;

  constructor(deps: FlowDriverDeps) {
    this.#d = deps;
    this.dispatcher = new ToolDispatcher({
      registry: deps.registry, session: deps.session, control: this.#control(), callSid: deps.callSid,
      from: deps.from, to: deps.to, businessNow: () => deps.businessNow(), log: deps.log,
    });
  }

  /** Function calls running, or unanswered at the agent. */
  get toolsPending(): boolean {
    return this.dispatcher.pending > 0 || this.#d.agent.pendingToolCalls > 0;
  }

  /** The greeting, word for word, then the first stage's actions (its instructions are in the setup). */
  greet(): void {
    const greeting = this.#d.session.greeting();
    this.#d.agent.sendClientContent(text(`(The caller has just been connected.) Greet them now by saying exactly: "${greeting}"`), true);
    this.step(this.#d.session.start(), ['instruct']);
  }

  dtmf(digit: string): void {
    this.#d.event({ kind: 'dtmf', digit }, this.#d.now());
    this.#lastActivityMs = this.#d.now();
    this.step(this.#d.session.onDtmf(digit));
  }

  /** The caller stopped talking at `atMs`. */
  callerActive(atMs: number): void {
    this.#lastActivityMs = atMs;
  }

  /** Flow silence rules: `busy` (someone talking, or an exit under way) restarts the count. */
  checkSilence(busy: boolean): void {
    const now = this.#d.now();
    if (busy) {
      this.#lastActivityMs = now;
      return;
    }
    this.step(this.#d.session.onSilence(now - this.#lastActivityMs));
  }

  /** Runs one function call of the agent and answers it. */
  async runTool(call: ToolCallRequest): Promise<void> {
    const result = await this.dispatcher.dispatch(call);
    if (result.duplicate) return;
    this.#d.event(result.event, this.#d.now());
    if (result.event.status === 'cancelled') return; // the agent withdrew it; no answer expected
    const scheduling = wireScheduling(this.#d.flow.functionModes?.[result.name]?.scheduling ?? this.#d.registry.get(result.name, this.#d.flow.name)?.scheduling ?? 'when_idle');
    this.#d.agent.sendToolResponse([{ id: result.id, name: result.name, response: result.response as Record<string, unknown>, scheduling }]);
    if ('output' in result.response && result.stage === this.#d.session.stage) {
      this.step(this.#d.session.onFunctionResult(result.name, result.response.output));
    }
    this.#flushDeferred();
  }

  /** Applies a flow step: records stage changes, runs or defers its actions. */
  step(step: { actions: FlowAction[]; events: StageChange[] }, skip: FlowAction['type'][] = []): void {
    for (const e of step.events) this.#d.event(e, this.#d.now());
    for (const action of step.actions) if (!skip.includes(action.type)) this.#deferred.push(action);
    this.#flushDeferred();
  }

  /** Runs one action now. */
  apply(action: FlowAction): void {
    const agent = this.#d.agent;
    switch (action.type) {
      case 'say':
        agent.sendClientContent(text(`(System instruction, not the caller.) Say exactly this to the caller now: "${action.text}"`), true);
        return;
      case 'instruct':
        return this.#instruct(action.text);
      case 'tell_model':
        agent.sendClientContent(text(action.text), true);
        return;
      case 'transfer':
        if (!this.#d.canTransfer()) {
          this.#d.event({ kind: 'error', code: 'CB_TWILIO_REST_FAILED', message: `cannot transfer to ${action.target}: this line cannot transfer calls (Twilio credentials are not configured)` }, this.#d.now());
          return;
        }
        this.#d.exit({ kind: 'transfer', reason: `transfer to ${action.target}`, target: action.target, number: action.number });
        return;
      case 'end_call':
        this.#d.exit({ kind: 'end', reason: action.reason });
        return;
    }
  }

  /** The new stage's instructions; with no session up, the next session's setup carries them. */
  #instruct(stageText: string): void {
    const session = this.#d.agent.session;
    if (!session) return;
    try {
      session.instruct({ systemInstruction: this.#d.session.systemInstruction(this.#d.businessNow()), text: `(System instruction, not the caller.) ${stageText}` });
    } catch (err) {
      this.#d.log.warn({ err }, 'stage instructions not sent');
    }
  }

  /** A BLOCKING call is unanswered at the agent: flow actions wait for its answer. */
  get #blockingPending(): boolean {
    return this.#d.agent.session?.pendingToolCalls.some((c) => c.blocking) ?? false;
  }

  #flushDeferred(): void {
    if (this.#blockingPending) return;
    const actions = this.#deferred;
    this.#deferred = [];
    for (const action of actions) this.apply(action);
  }

  #control(): CallControl {
    return {
      transfer: async (targetName) => {
        const number = this.#d.flow.transfers[targetName];
        if (!number) throw new ToolError(`There is no transfer target called "${targetName}".`);
        if (!this.#d.canTransfer()) throw new ToolError('Transfers are not available on this line right now; offer to take a message instead.');
        this.#d.exit({ kind: 'transfer', reason: `transfer to ${targetName}`, target: targetName, number });
        return { number };
      },
      endCall: async (reason) => {
        this.#d.exit({ kind: 'end', reason });
      },
      goToStage: async (name) => {
        this.step(this.#d.session.goTo(name, 'the assistant moved on'));
      },
    };
  }
}
