/**
 * The emulated model's turns: a reply from the scenario is spoken (speaker.ts), may make tool
 * calls and wait for every response by id, then finishes with generationComplete → turnComplete
 * and a fresh resumption handle. Asynchronous (NON_BLOCKING) calls do not hold the turn: they are
 * sent before the reply's words, the model goes on speaking, and their result is spoken later in
 * a turn of its own (background-calls.ts; docs/gemini-live.md §2.4). Barge-in ends it with interrupted → turnComplete (no
 * generationComplete) and cancels pending tool calls. Fault decisions that hit a turn (seed 002,
 * seed 003 in docs/gemini-failure-modes.md; socket cuts) are taken here.
 *
 * Stages: preparing (first-audio delay, speech rendering) → speaking → [awaiting-tool → preparing
 * → speaking] → finishing (generationComplete sent, turnComplete pending) → done; or doomed (a
 * fault close is scheduled; input is ignored).
 */
import type { ServerMessage, ToolResponse } from '../gemini/protocol.js';
import { CLOSE_INTERNAL, CLOSE_POLICY, REASONS, close } from './close-reasons.js';
import type { BackgroundCalls, GroupDone, ToolBehaviors } from './background-calls.js';
import type { ConversationHost, TurnConfig } from './conversation.js';
import type { Pick, ScenarioCursor } from './cursor.js';
import { usageMetadata } from './recorder.js';
import { renderArgs, renderTemplate, templateContext, type Reply, type Say, type ToolResult } from './scenario.js';
import { Speech, type SpeechOutcome } from './speaker.js';
import { OUTPUT_RATE_HZ, renderTone } from './tts.js';

type Stage = 'preparing' | 'speaking' | 'awaiting-tool' | 'finishing' | 'done' | 'doomed';

interface ModelTurn {
  n: number;
  stage: Stage;
  reply: Reply;
  speech: Speech | undefined;
  cancelTimer: (() => void) | undefined;
  pending: Map<string, string>;
  results: ToolResult[];
  audioMs: number;
  text: string;
  cutAt: number | undefined;
}

export class TurnRunner {
  readonly #host: ConversationHost;
  readonly #config: TurnConfig;
  readonly #cursor: ScenarioCursor;
  readonly #inputAudioMs: () => number;
  readonly #onIdle: () => void;
  readonly #behaviors: ToolBehaviors;
  readonly #background: BackgroundCalls;
  readonly #cancelledIds = new Set<string>();
  #turn: ModelTurn | undefined;
  #turns = 0;
  /** A fault close is scheduled (or the session is ending): no more turns. */
  doomed = false;

  constructor(
    host: ConversationHost,
    config: TurnConfig,
    cursor: ScenarioCursor,
    hooks: { inputAudioMs: () => number; onIdle: () => void; behaviors: ToolBehaviors; background: BackgroundCalls },
  ) {
    this.#host = host;
    this.#config = config;
    this.#cursor = cursor;
    this.#inputAudioMs = hooks.inputAudioMs;
    this.#onIdle = hooks.onIdle;
    this.#behaviors = hooks.behaviors;
    this.#background = hooks.background;
  }

  /** Whether a model turn is under way (including a pending tool call or turnComplete). */
  get active(): boolean {
    return this.#turn !== undefined;
  }

  /** Turns started so far. */
  get started(): number {
    return this.#turns;
  }

  /** Whether the current turn waits for tool responses. */
  get awaitingTool(): boolean {
    return this.#turn?.stage === 'awaiting-tool';
  }

  /** Stops everything; the session is ending. */
  dispose(): void {
    this.doomed = true;
    const turn = this.#turn;
    if (turn) {
      turn.stage = 'done';
      turn.speech?.cancel();
      turn.cancelTimer?.();
    }
  }

  /** Ids cancelled elsewhere (open NON_BLOCKING calls): a late response to them is ignored, not an error. */
  noteCancelled(ids: readonly string[]): void {
    for (const id of ids) this.#cancelledIds.add(id);
  }

  /** Tool responses: all ids must be pending (or already cancelled), else 1008 entity not found. */
  toolResponse(tr: ToolResponse): void {
    const turn = this.#turn;
    const responses = tr.functionResponses ?? [];
    for (const fr of responses) {
      if (this.#cancelledIds.has(fr.id)) continue;
      if (!turn || turn.stage !== 'awaiting-tool' || !turn.pending.has(fr.id)) {
        this.#host.closeWith(close(CLOSE_POLICY, REASONS.entityNotFound));
        return;
      }
    }
    if (!turn || turn.stage !== 'awaiting-tool') return;
    for (const fr of responses) {
      if (!turn.pending.delete(fr.id)) continue;
      const response = typeof fr.response === 'object' && fr.response !== null ? fr.response : {};
      turn.results.push({ id: fr.id, name: fr.name, response });
    }
    this.#host.record.event('toolResponse', { turn: turn.n, ids: responses.map((r) => r.id), pending: turn.pending.size });
    if (turn.pending.size === 0) this.#afterTools(turn);
  }

  #newTurn(reply: Reply, source: string, detail: Record<string, unknown>): ModelTurn {
    const host = this.#host;
    const turn: ModelTurn = {
      n: ++this.#turns,
      stage: 'preparing',
      reply,
      speech: undefined,
      cancelTimer: undefined,
      pending: new Map(),
      results: [],
      audioMs: 0,
      text: '',
      cutAt: undefined,
    };
    this.#turn = turn;
    host.record.event('turnStart', { turn: turn.n, source, ...detail });
    if (this.#config.setup.sessionResumption !== undefined) {
      host.send({ sessionResumptionUpdate: {} });
      host.record.event('resumptionUpdate', { resumable: false });
    }
    return turn;
  }

  /** Starts the reply to a client input. */
  start(pick: Pick, source: string): void {
    const host = this.#host;
    if (pick.heard && source === 'audio') this.#cursor.history.push({ role: 'user', text: pick.heard });
    const turn = this.#newTurn(pick.reply, source, { scenarioTurn: pick.turnIndex, heard: pick.heard });
    const fail = host.faults.internalBeforeContent();
    if (fail) {
      this.doomed = true;
      turn.stage = 'doomed';
      host.record.fault('internalBeforeContent', { turn: turn.n, delayMs: fail.delayMs });
      host.after(fail.delayMs, () => host.closeWith(fail.close));
      return;
    }
    if (pick.heard && source === 'audio' && this.#config.setup.inputAudioTranscription !== undefined) {
      host.send({ serverContent: { inputTranscription: { text: pick.heard } } });
      host.record.event('inputTranscription', { turn: turn.n, text: pick.heard });
    }
    turn.cutAt = host.faults.cutDuringTurn();
    this.#wait(turn, this.#firstAudioDelay(), () => this.#playSafely(turn, pick.reply, pick.vars));
  }

  /**
   * The result of an asynchronous call group, spoken in a turn of its own (the caller of this
   * decides when, per `scheduling`). Returns false when the reply has nothing to say after it.
   */
  followUp(done: GroupDone): boolean {
    const ctx = this.#absorb(done.results);
    const failed = done.results.some((r) => 'error' in r.response);
    const next = failed ? (done.reply.afterToolError ?? done.reply.afterTool) : done.reply.afterTool;
    if (!next) return false;
    const turn = this.#newTurn(next, 'toolResponse', { scheduling: done.scheduling, ids: done.results.map((r) => r.id) });
    this.#wait(turn, this.#firstAudioDelay(), () => this.#playSafely(turn, next, ctx));
    return true;
  }

  /** Adds tool results to the context (`{{tools.name…}}` in later lines); returns the template context. */
  #absorb(results: readonly ToolResult[]): Record<string, unknown> {
    for (const r of results) {
      this.#cursor.tools[r.name] = 'output' in r.response || 'error' in r.response ? r.response : { output: r.response };
    }
    return { ...templateContext(results), tools: this.#cursor.tools };
  }

  /** SILENT scheduling: the results join the context; nothing is said. */
  absorbSilently(done: GroupDone): void {
    this.#absorb(done.results);
  }

  async #play(turn: ModelTurn, reply: Reply, ctx: Record<string, unknown> | undefined): Promise<void> {
    const host = this.#host;
    const asynchronous = reply.toolCalls !== undefined && this.#behaviors.allNonBlocking(reply.toolCalls.map((c) => c.name));
    // NON_BLOCKING: the call goes out first and the model keeps talking while it runs.
    if (asynchronous) this.#sendCalls(turn, reply, ctx, true);
    if (reply.say !== undefined) {
      let media: { samples?: Int16Array; text?: string };
      try {
        media = await this.#media(reply.say, ctx);
      } catch (err) {
        if (turn.stage === 'done') return;
        host.logError(err, 'emulator could not render speech');
        host.record.event('error', { turn: turn.n, message: (err as Error).message });
        host.closeWith(close(CLOSE_INTERNAL, REASONS.internal));
        return;
      }
      if (turn.stage !== 'preparing') return;
      turn.stage = 'speaking';
      const { timing } = this.#config;
      const speech = new Speech(host, {
        samples: media.samples,
        text: media.text,
        transcribe: this.#config.modality === 'AUDIO' && this.#config.setup.outputAudioTranscription !== undefined,
        chunkMs: timing.chunkMs,
        pace: timing.speechPace,
        cutAtFraction: turn.cutAt,
        combineTranscription: this.#config.rules.combinedServerContent,
      });
      turn.speech = speech;
      const durationMs = media.samples ? Math.round((media.samples.length / OUTPUT_RATE_HZ) * 1000) : undefined;
      host.record.event('speechStart', { turn: turn.n, text: media.text, durationMs });
      let outcome: SpeechOutcome = await speech.run();
      if (turn.speech === speech) {
        turn.speech = undefined;
        turn.audioMs += speech.sentMs;
        turn.text += speech.sentText;
      }
      if (outcome === 'done' && turn.stage !== 'speaking') outcome = 'cancelled';
      host.record.event('speechEnd', { turn: turn.n, outcome, sentMs: speech.sentMs, chunks: speech.sentChunks });
      if (outcome === 'cut') host.cut('cutSocket');
      if (outcome !== 'done') return;
      this.#cursor.spoke(spokenLine(reply.say, media.text));
      turn.stage = 'preparing';
    }
    if (reply.toolCalls && !asynchronous) {
      this.#sendCalls(turn, reply, ctx, false);
      return;
    }
    this.#finish(turn);
  }

  /** Sends a reply's calls: BLOCKING ones hold the turn, NON_BLOCKING ones run in the background. */
  #sendCalls(turn: ModelTurn, reply: Reply, ctx: Record<string, unknown> | undefined, background: boolean): void {
    const host = this.#host;
    const argCtx = { ...ctx, tools: this.#cursor.tools };
    const calls = (reply.toolCalls ?? []).map((c) => ({
      id: c.id ?? `function-call-${host.rng.digits(19)}`,
      name: c.name,
      args: renderArgs(c.args, argCtx) as Record<string, unknown>,
    }));
    if (background) {
      this.#background.register(calls.map((c) => c.id), reply);
    } else {
      turn.stage = 'awaiting-tool';
      turn.reply = reply;
      for (const c of calls) turn.pending.set(c.id, c.name);
    }
    host.send({ toolCall: { functionCalls: calls } });
    const behavior = background ? 'NON_BLOCKING' : 'BLOCKING';
    host.record.event('toolCall', { turn: turn.n, behavior, calls: calls.map((c) => ({ id: c.id, name: c.name })) });
  }

  async #media(say: Say, ctx: Record<string, unknown> | undefined): Promise<{ samples?: Int16Array; text?: string }> {
    if (typeof say === 'object' && 'toneHz' in say) {
      return this.#config.modality === 'AUDIO' ? { samples: renderTone(say.toneHz, say.durationMs, say.amplitude) } : {};
    }
    const line = typeof say === 'string' ? { text: say, voice: undefined } : say;
    const text = ctx ? renderTemplate(line.text, ctx) : line.text;
    if (this.#config.modality === 'TEXT') return { text };
    return { samples: await this.#config.tts.render(text, line.voice ?? this.#config.voice), text };
  }

  #afterTools(turn: ModelTurn): void {
    const host = this.#host;
    const fail = host.faults.closeAfterToolResponse();
    if (fail) {
      this.doomed = true;
      turn.stage = 'doomed';
      host.record.fault('closeAfterToolResponse', { turn: turn.n, code: fail.close.code, delayMs: fail.delayMs });
      host.after(fail.delayMs, () => host.closeWith(fail.close));
      return;
    }
    const failed = turn.results.some((r) => 'error' in r.response);
    const next = failed ? (turn.reply.afterToolError ?? turn.reply.afterTool) : turn.reply.afterTool;
    turn.stage = 'preparing';
    if (!next) return this.#finish(turn);
    const ctx = this.#absorb(turn.results);
    turn.results = [];
    this.#wait(turn, this.#firstAudioDelay(), () => this.#playSafely(turn, next, ctx));
  }

  #finish(turn: ModelTurn): void {
    const host = this.#host;
    turn.stage = 'finishing';
    if (turn.text !== '' || turn.audioMs > 0) {
      host.send({ serverContent: { generationComplete: true } });
      host.record.event('generationComplete', { turn: turn.n });
    }
    if (turn.text !== '') this.#cursor.history.push({ role: 'model', text: turn.text });
    this.#wait(turn, this.#config.timing.turnCompleteDelayMs, () => this.#complete(turn, false));
  }

  /** Barge-in: stops the current turn (interrupted → turnComplete), cancelling pending tool calls. */
  interrupt(): void {
    const turn = this.#turn;
    if (!turn) return;
    const host = this.#host;
    if (turn.stage === 'done' || turn.stage === 'doomed') return;
    const wasAwaiting = turn.stage === 'awaiting-tool';
    const wasFinishing = turn.stage === 'finishing'; // its text is in the history already
    turn.stage = 'done';
    turn.cancelTimer?.();
    const speech = turn.speech;
    if (speech) {
      speech.cancel();
      turn.speech = undefined;
      turn.audioMs += speech.sentMs;
      turn.text += speech.sentText;
    }
    if (wasAwaiting && turn.pending.size > 0) {
      const ids = [...turn.pending.keys()];
      for (const id of ids) this.#cancelledIds.add(id);
      turn.pending.clear();
      host.send({ toolCallCancellation: { ids } });
      host.record.event('toolCallCancellation', { turn: turn.n, ids });
    }
    host.send({ serverContent: { interrupted: true } });
    host.record.event('interrupted', { turn: turn.n, audioSentMs: turn.audioMs, textSent: turn.text });
    if (turn.text !== '' && !wasFinishing) this.#cursor.history.push({ role: 'model', text: turn.text });
    this.#complete(turn, true);
  }

  #complete(turn: ModelTurn, interrupted: boolean): void {
    const host = this.#host;
    turn.stage = 'done';
    const message: ServerMessage = { serverContent: { turnComplete: true } };
    if (this.#config.usageMetadata) {
      const historyChars = this.#cursor.history.reduce((n, h) => n + h.text.length, 0);
      message.usageMetadata = usageMetadata(this.#inputAudioMs(), historyChars, turn.audioMs, turn.text.length, this.#config.modality);
    }
    host.send(message);
    host.record.event('turnComplete', { turn: turn.n, interrupted, audioSentMs: turn.audioMs });
    if (this.#turn === turn) this.#turn = undefined;
    this.announceHandle();
    this.#onIdle();
  }

  /** At an idle turn boundary: a fresh resumption handle (when resumption is enabled). */
  announceHandle(): void {
    if (this.#turn || this.doomed) return;
    const handle = this.#host.issueHandle(this.#cursor.snapshot());
    if (handle === undefined) return;
    this.#host.send({ sessionResumptionUpdate: { newHandle: handle, resumable: true } });
    this.#host.record.event('resumptionUpdate', { resumable: true, handle });
  }

  #wait(turn: ModelTurn, ms: number, fn: () => void): void {
    turn.cancelTimer = this.#host.after(ms, () => {
      turn.cancelTimer = undefined;
      if (turn.stage !== 'done' && turn.stage !== 'doomed') fn();
    });
  }

  #playSafely(turn: ModelTurn, reply: Reply, ctx: Record<string, unknown> | undefined): void {
    this.#play(turn, reply, ctx).catch((err: unknown) => {
      this.#host.logError(err, 'emulator turn failed');
      this.#host.closeWith(close(CLOSE_INTERNAL, REASONS.internal));
    });
  }

  #firstAudioDelay(): number {
    const { firstAudioDelayMs, firstAudioDelayJitterMs } = this.#config.timing;
    return firstAudioDelayMs + (firstAudioDelayJitterMs > 0 ? this.#host.rng.int(0, firstAudioDelayJitterMs) : 0);
  }
}

/** The line to repeat later: templated text as it was actually said. */
function spokenLine(say: Say, renderedText: string | undefined): Say {
  if (renderedText === undefined || (typeof say === 'object' && 'toneHz' in say)) return say;
  return typeof say === 'string' ? renderedText : { ...say, text: renderedText };
}
