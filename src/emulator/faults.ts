/**
 * Seeded randomness and the per-session fault plan: which turns fail and how (seed regimes 002 and
 * 003 of docs/gemini-failure-modes.md, cut sockets, garbage frames). Every decision kind draws from
 * its own stream derived from (seed, session number, kind), so a run is reproducible and switching
 * one fault on does not change which turns another one hits.
 */
import { CLOSE_INTERNAL, CLOSE_POLICY, REASONS, close, type CloseSpec } from './close-reasons.js';

/** mulberry32: small, fast, good enough for test decisions. */
export class SeededRng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p >= 1 || (p > 0 && this.next() < p);
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Decimal digits, e.g. for ids. */
  digits(count: number): string {
    let out = String(1 + Math.floor(this.next() * 9));
    while (out.length < count) out += String(Math.floor(this.next() * 10));
    return out;
  }
}

/** FNV-1a over the parts: a 32-bit seed for one stream. */
export function deriveSeed(seed: number, ...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A probability, either for every model or per model id (`'*'` for the rest). */
export type RateSpec = number | Readonly<Record<string, number>>;

export function rateFor(spec: RateSpec | undefined, modelId: string): number {
  if (spec === undefined) return 0;
  if (typeof spec === 'number') return spec;
  const id = modelId.replace(/^models\//, '');
  return spec[id] ?? spec[`models/${id}`] ?? spec['*'] ?? 0;
}

export type GarbageKind = 'binary' | 'truncated-json' | 'wrong-types' | 'unknown-message';

export type ToolResponseCloseKind = 'either' | 'entity-not-found' | 'internal' | 'not-implemented';

export interface FaultOptions {
  /**
   * Seed 002 (docs/gemini-failure-modes.md FM-1011-BEFORE-CONTENT): after client input ends a turn,
   * `sessionResumptionUpdate {}` then close 1011 with no content.
   */
  internalErrorBeforeContent?: { rate: RateSpec; delayMs?: readonly [number, number] };
  /**
   * Seed 003 (docs/gemini-failure-modes.md FM-CLOSE-AFTER-TOOL-RESPONSE): close 1008 "Requested
   * entity was not found." / 1011 right after a tool response.
   */
  closeAfterToolResponse?: { rate: RateSpec; kind?: ToolResponseCloseKind; delayMs?: readonly [number, number] };
  /** Concurrent sessions answered; more → 1011 quota. */
  maxConcurrentSessions?: number;
  /** Destroy the TCP socket (no close frame) this long after setupComplete. */
  cutSocketAfterMs?: number;
  /** Per model turn: destroy the TCP socket part-way through the turn's audio. */
  cutSocketPerTurnRate?: RateSpec;
  /** Per outgoing message: send a garbage frame before it. */
  garbageRate?: number;
  garbageKinds?: readonly GarbageKind[];
  /** Realtime input while a tool call is pending: ignored (default) or 1008 "The operation was aborted." */
  audioDuringToolCall?: 'ignore' | 'abort';
}

/**
 * Named fault profiles (EmulatorOptions.faultProfile, `npm run emulator -- --fault-profile NAME`),
 * so a probe or a demo can reproduce a field report offline by name:
 *
 * - `seed-002` (docs/gemini-failure-modes.md FM-1011-BEFORE-CONTENT): on
 *   gemini-2.5-flash-native-audio-preview-12-2025 and its -latest alias 85 % of turns close 1011
 *   "Internal error encountered." after an empty sessionResumptionUpdate, before any content,
 *   200-3000 ms after the input; every other model (preview-09-2025, 3.1, 3.8) is clean, as in the
 *   report's table (the report measured 80-90 %).
 */
export const FAULT_PROFILES: Readonly<Record<string, FaultOptions>> = Object.freeze({
  'seed-002': {
    internalErrorBeforeContent: {
      rate: { 'gemini-2.5-flash-native-audio-preview-12-2025': 0.85, 'gemini-2.5-flash-native-audio-latest': 0.85 },
      delayMs: [200, 3000],
    },
  },
});

export type FaultKind =
  | 'internalBeforeContent'
  | 'closeAfterToolResponse'
  | 'quota'
  | 'cutSocket'
  | 'garbage'
  | 'operationAborted'
  | 'goAwayClose'
  | 'sessionLimit';

const WRONG_TYPES = [
  '{"serverContent":{"turnComplete":"yes"}}',
  '{"serverContent":[]}',
  '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":7,"data":null}}]}}}',
  '{"toolCall":{"functionCalls":{"id":1}}}',
  '{"sessionResumptionUpdate":{"newHandle":42,"resumable":"true"}}',
  '[1,2,3]',
  '"serverContent"',
];

/** One session's fault decisions. */
export class FaultPlan {
  readonly #options: FaultOptions;
  readonly #modelId: string;
  readonly #turns: SeededRng;
  readonly #tools: SeededRng;
  readonly #cuts: SeededRng;
  readonly #garbage: SeededRng;

  constructor(options: FaultOptions, seed: number, sessionNumber: number, modelId: string) {
    this.#options = options;
    this.#modelId = modelId;
    this.#turns = new SeededRng(deriveSeed(seed, sessionNumber, 'turns'));
    this.#tools = new SeededRng(deriveSeed(seed, sessionNumber, 'tools'));
    this.#cuts = new SeededRng(deriveSeed(seed, sessionNumber, 'cuts'));
    this.#garbage = new SeededRng(deriveSeed(seed, sessionNumber, 'garbage'));
  }

  /**
   * Seed 002 (FM-1011-BEFORE-CONTENT): fail this client-triggered turn before content? Returns the
   * delay before the close.
   */
  internalBeforeContent(): { delayMs: number; close: CloseSpec } | undefined {
    const f = this.#options.internalErrorBeforeContent;
    if (!f || !this.#turns.chance(rateFor(f.rate, this.#modelId))) return undefined;
    const [min, max] = f.delayMs ?? [200, 3000];
    return { delayMs: this.#turns.int(min, max), close: close(CLOSE_INTERNAL, REASONS.internal) };
  }

  /** Seed 003 (FM-CLOSE-AFTER-TOOL-RESPONSE): close right after this tool response? */
  closeAfterToolResponse(): { delayMs: number; close: CloseSpec } | undefined {
    const f = this.#options.closeAfterToolResponse;
    if (!f || !this.#tools.chance(rateFor(f.rate, this.#modelId))) return undefined;
    const kind = f.kind ?? 'either';
    const choice = kind === 'either' ? this.#tools.pick(['entity-not-found', 'internal'] as const) : kind;
    const spec =
      choice === 'entity-not-found'
        ? close(CLOSE_POLICY, REASONS.entityNotFound)
        : choice === 'not-implemented'
          ? close(CLOSE_POLICY, REASONS.notImplemented)
          : close(CLOSE_INTERNAL, REASONS.internal);
    const [min, max] = f.delayMs ?? [0, 0];
    return { delayMs: this.#tools.int(min, max), close: spec };
  }

  /** Cut the socket during this turn? Returns the fraction of the turn's audio to send first. */
  cutDuringTurn(): number | undefined {
    if (!this.#cuts.chance(rateFor(this.#options.cutSocketPerTurnRate, this.#modelId))) return undefined;
    return this.#cuts.next();
  }

  /** A garbage frame to send before the next message, if this one is hit. */
  garbageFrame(): { data: Buffer; kind: GarbageKind } | undefined {
    const rate = this.#options.garbageRate ?? 0;
    if (!this.#garbage.chance(rate)) return undefined;
    const kind = this.#garbage.pick(this.#options.garbageKinds ?? ['binary', 'truncated-json', 'wrong-types']);
    switch (kind) {
      case 'binary': {
        const data = Buffer.alloc(this.#garbage.int(8, 64));
        for (let i = 0; i < data.length; i++) data[i] = this.#garbage.int(0x80, 0xff);
        return { kind, data };
      }
      case 'truncated-json':
        return { kind, data: Buffer.from('{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"AAAA') };
      case 'wrong-types':
        return { kind, data: Buffer.from(this.#garbage.pick(WRONG_TYPES)) };
      case 'unknown-message':
        return { kind, data: Buffer.from('{"futureServerMessage":{"note":"a field this client does not know"}}') };
    }
  }
}
