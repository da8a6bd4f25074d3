/**
 * A background health check of a model whose circuit breaker is open: the probe's one-turn check
 * (./probe-run.ts, as `npm run probe` plays it): a short synthetic session (never a caller), one
 * recorded spoken turn, passed when the model answers it (content, then turnComplete) in time.
 * The last outcome per model is kept in `LastProbes` and shown by /readyz.
 */
import type { GeminiLiveSession, GeminiLiveSessionOptions } from '../gemini/index.js';
import type { Logger } from '../shared/log.js';
import { probeModel, type TurnResult, type TurnStatus } from './probe-run.js';

export interface ProbeOptions {
  apiKey: string;
  url?: string;
  log: Logger;
  /** Setup, and end of the spoken turn → first content, each within this (default 8 s). */
  timeoutMs?: number;
  /** Audio pace (default 1: real time, as a caller speaks). */
  pace?: number;
  /** Where the outcome of every probe is kept (for /readyz). */
  results?: LastProbes;
  connect?: (options: GeminiLiveSessionOptions) => Promise<GeminiLiveSession>;
}

/** One probe's outcome, as /readyz shows it. */
export interface ProbeOutcome {
  model: string;
  /** ISO time the probe finished. */
  at: string;
  ok: boolean;
  status: TurnStatus;
  setupMs?: number;
  firstContentMs?: number;
  /** The close that failed it (code, the service's reason, CB_* code). */
  close?: TurnResult['close'];
}

/** The last probe outcome per model (process-wide, shared by the breakers and /readyz). */
export class LastProbes {
  readonly #byModel = new Map<string, ProbeOutcome>();

  record(outcome: ProbeOutcome): void {
    this.#byModel.set(outcome.model, outcome);
  }

  get(model: string): ProbeOutcome | undefined {
    return this.#byModel.get(model);
  }

  list(): ProbeOutcome[] {
    return [...this.#byModel.values()];
  }
}

const round = (ms: number | undefined) => (ms === undefined ? {} : { ms: Math.round(ms) });

export function geminiProbe(o: ProbeOptions): (model: string) => Promise<boolean> {
  const timeoutMs = o.timeoutMs ?? 8000;
  return async (model) => {
    let turn: TurnResult | undefined;
    try {
      const run = await probeModel(model, {
        apiKey: o.apiKey,
        ...(o.url ? { url: o.url } : {}),
        log: o.log,
        turns: 1,
        functionTurn: false,
        setupTimeoutMs: timeoutMs,
        replyTimeoutMs: timeoutMs,
        turnTimeoutMs: 2 * timeoutMs,
        pace: o.pace ?? 1,
        ...(o.connect ? { connect: o.connect } : {}),
      });
      turn = run.turns[0];
    } catch (err) {
      // e.g. the probe's recorded audio is missing: the probe fails, the server goes on.
      o.log.warn({ err, model }, 'model health probe could not run');
    }
    const ok = turn?.status === 'ok';
    const outcome: ProbeOutcome = {
      model,
      at: new Date().toISOString(),
      ok,
      status: turn?.status ?? 'setup-failed',
      ...(turn?.setupMs !== undefined ? { setupMs: Math.round(turn.setupMs) } : {}),
      ...(turn?.firstContentMs !== undefined ? { firstContentMs: Math.round(turn.firstContentMs) } : {}),
      ...(turn?.close ? { close: turn.close } : {}),
    };
    o.results?.record(outcome);
    o.log.info({ model, ok, status: outcome.status, ...round(turn?.firstContentMs), ...(turn?.close ? { close: turn.close } : {}) }, 'model health probe');
    return ok;
  };
}
