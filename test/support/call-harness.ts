/**
 * A unit harness for one call: the real Call (src/call/call.ts) with everything around it in
 * memory — a caller transport that records what the call sends and plays the caller's side, the
 * fake Live sessions of the link tests, a manual clock (no timer of the real clock decides
 * anything), and a record that keeps events in memory. No sockets. Used by
 * test/unit/call-harness.test.ts.
 */
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { sineWave } from '../../src/audio/analysis.js';
import { FlowSession, loadFlowSources, type Flow } from '../../src/flows/index.js';
import { defineTool, ToolRegistry } from '../../src/tools/index.js';
import { silentLogger } from '../../src/shared/log.js';
import type { CallLog } from '../../src/transcripts/writer.js';
import type { CallEventBody, CallRecord } from '../../src/transcripts/types.js';
import { ReplyTimes } from '../../src/health/reply-times.js';
import { Call } from '../../src/call/call.js';
import { GeminiLink } from '../../src/call/link/link.js';
import { PHONE_FORMAT } from '../../src/call/audio-path.js';
import type { CallerTransport, Clock, TimerHandle, TransportListener } from '../../src/call/ports.js';
import { FakeGemini } from '../unit/call-gemini-link.fakes.js';
import { z } from 'zod';

/** Lets promise continuations run (no clock involved). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 6; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: ManualTimer[] = [];
  /** Monday 9 March 2026, 10:00 UTC at time 0. */
  readonly wallStart = Date.parse('2026-03-09T10:00:00Z');

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.wallStart + this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.#now + Math.max(0, ms), seq: ++this.#seq, fn, cancelled: false };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) (handle as ManualTimer).cancelled = true;
  }

  /** Moves time on by `ms`, running each timer due on the way at its own time, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await flush();
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.#now = due.at;
      due.fn();
      await flush();
    }
    this.#now = end;
    await flush();
  }
}

export type Sent = { kind: 'audio'; bytes: number } | { kind: 'mark'; name: string } | { kind: 'clear' };

/** The caller's end in memory: records what the call sends, plays the caller's part. */
export class MemoryTransport implements CallerTransport {
  readonly channel = 'phone' as const;
  readonly inputFormat = PHONE_FORMAT;
  readonly outputFormat = PHONE_FORMAT;
  readonly capabilities = { transfer: true, dtmf: true };
  readonly sent: Sent[] = [];
  readonly transfers: string[] = [];
  closed: { kind: string; reason: string } | undefined;
  released = false;
  /** Make the next transfer fail. */
  failTransfer = false;
  /** Live captions received, as "who: text". */
  readonly captions: string[] = [];
  #listener: TransportListener | undefined;
  #open = false;
  #timestampMs = 0;
  /** Marks sent and not yet echoed. */
  #marks: string[] = [];
  readonly #speech = encodeMulaw(sineWave(440, 8000, 20, 8000));
  readonly #silence = encodeMulaw(new Int16Array(160));

  listen(listener: TransportListener): void {
    this.#listener = listener;
  }

  caption(who: 'caller' | 'bot', text: string): void {
    this.captions.push(`${who}: ${text}`);
  }

  /** The caller's media starts. */
  connect(): void {
    this.#open = true;
    this.#listener!.connected({ mediaId: 'MZ00000000000000000000000000000001' });
  }

  /** `ms` of caller speech (a tone the detector hears), in 20 ms frames. */
  speak(ms: number): void {
    this.#frames(ms, this.#speech);
  }

  silence(ms: number): void {
    this.#frames(ms, this.#silence);
  }

  dtmf(digit: string): void {
    this.#listener!.dtmf(digit);
  }

  /** Everything sent so far has played: every pending mark comes back, in order. */
  playAll(): void {
    const marks = this.#marks;
    this.#marks = [];
    for (const name of marks) this.#listener!.played(name);
  }

  /** The caller hangs up. */
  hangUp(): void {
    this.#end('stop');
  }

  audioBytes(): number {
    return this.sent.reduce((n, s) => n + (s.kind === 'audio' ? s.bytes : 0), 0);
  }

  count(kind: Sent['kind']): number {
    return this.sent.filter((s) => s.kind === kind).length;
  }

  sendAudio(audio: Uint8Array): boolean {
    if (!this.#open) return false;
    this.sent.push({ kind: 'audio', bytes: audio.length });
    return true;
  }

  sendMark(name: string): void {
    this.sent.push({ kind: 'mark', name });
    this.#marks.push(name);
  }

  clear(): void {
    this.sent.push({ kind: 'clear' });
    this.#marks = []; // cleared marks come back as "cleared": the tracker ignores them anyway
  }

  batch(send: () => void): void {
    send();
  }

  async transfer(number: string): Promise<void> {
    if (this.failTransfer) throw new Error('the transfer failed');
    this.transfers.push(number);
    queueMicrotask(() => this.#end('stop')); // the media ends once the caller is connected elsewhere
  }

  close(kind: 'normal' | 'going-away', reason: string): void {
    if (!this.#open) return;
    this.closed = { kind, reason };
    queueMicrotask(() => this.#end('close'));
  }

  release(): void {
    this.released = true;
  }

  #frames(ms: number, frame: Uint8Array): void {
    for (let t = 0; t < ms; t += 20) {
      this.#listener!.audio(frame, this.#timestampMs);
      this.#timestampMs += 20;
    }
  }

  #end(reason: 'stop' | 'close'): void {
    if (!this.#open) return;
    this.#open = false;
    this.#listener!.ended(reason);
  }
}

/** The call's record, in memory. */
export class MemoryLog implements CallLog {
  readonly callSid: string;
  readonly record: CallRecord;
  readonly events: Array<{ body: CallEventBody; atMs: number }> = [];
  closed = false;

  constructor(record: CallRecord) {
    this.callSid = record.callSid;
    this.record = record;
  }

  event(body: CallEventBody, atMs: number): void {
    if (!this.closed) this.events.push({ body, atMs });
  }

  update(patch: Partial<CallRecord>): void {
    if (!this.closed) Object.assign(this.record, patch);
  }

  close(final: Partial<CallRecord> = {}): void {
    if (this.closed) return;
    Object.assign(this.record, final);
    this.closed = true;
  }

  of<K extends CallEventBody['kind']>(kind: K): Array<Extract<CallEventBody, { kind: K }>> {
    return this.events.flatMap((e) => (e.body.kind === kind ? [e.body as Extract<CallEventBody, { kind: K }>] : []));
  }
}

export const HARNESS_FLOW = `
name: harness
default: true
persona: You are a test receptionist.
greeting: Hello from the harness.
transfers:
  desk: "+15550000001"
agentUnavailable: { then: { transfer: desk } }
functions: [lookup]
stages:
  - name: reception
    instructions: Find out what the caller wants.
    functions: [lookup, go_to_stage, transfer_call, end_call]
  - name: booking
    instructions: Book an appointment.
    functions: [lookup, go_to_stage, end_call]
`;

function harnessFlow(extraYaml = ''): { flow: Flow; registry: ToolRegistry } {
  const registry = ToolRegistry.create([
    defineTool({ name: 'lookup', description: 'Look a customer up.', schema: z.object({ name: z.string() }), handler: ({ name }) => ({ found: true, name }) }),
  ]);
  const result = loadFlowSources([{ file: 'harness.yaml', text: HARNESS_FLOW + extraYaml }], { registry, env: {} });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return { flow: result.flows[0]!, registry: result.registry };
}

/** A 1-second prompt of silence (the apology's stand-in). */
const PROMPT = { name: 'apology', mulaw: new Uint8Array(8000).fill(0xff), durationMs: 1000 };

/** One call on the harness flow: the real Call, with the caller, Gemini, the clock and the record in memory. */
export class CallHarness {
  readonly clock = new ManualClock();
  readonly gemini = new FakeGemini();
  readonly transport = new MemoryTransport();
  readonly log: MemoryLog;
  readonly call: Call;
  ended = 0;

  /** `flowYaml`: extra top-level lines for the harness flow (e.g. "redactDigits: true\n"). */
  constructor(flowYaml = '') {
    const { flow, registry } = harnessFlow(flowYaml);
    const callSid = 'CA00000000000000000000000000000001';
    this.log = new MemoryLog({
      callSid, from: '+15550000100', to: '+15550000200', flow: flow.name, models: [], startedAt: this.clock.wallNow(), outcome: 'in_progress',
      geminiCloses: [], reconnects: 0, usage: { promptTokens: 0, responseTokens: 0, totalTokens: 0 }, latency: { turns: [] },
    });
    this.call = new Call(
      { callSid, accountSid: 'AC00000000000000000000000000000001', from: '+15550000100', to: '+15550000200', flow, session: new FlowSession(flow, registry), registry, models: ['m-a', 'm-b'], record: this.log, transport: this.transport },
      {
        log: silentLogger(),
        dataDir: '/nonexistent',
        clock: this.clock,
        link: (o) => new GeminiLink({ ...o, connect: this.gemini.connect, clock: this.clock, random: () => 0.5, replyTimes: new ReplyTimes(1500) }),
        prompts: { apology: PROMPT, apologyTransfer: PROMPT },
        ended: () => this.ended++,
      },
    );
  }

  /** Admission with the agent pre-opened, then the caller's media: the greeting is asked for. */
  async connect(): Promise<void> {
    this.call.startAgent();
    await this.clock.advance(0);
    this.transport.connect();
    await this.clock.advance(0);
  }

  /** The caller talks for `ms` (or is silent), in real time on the manual clock. */
  async callerSpeaks(ms: number, speech = true): Promise<void> {
    for (let t = 0; t < ms; t += 20) {
      if (speech) this.transport.speak(20);
      else this.transport.silence(20);
      await this.clock.advance(20);
    }
  }

  /** The agent says `text` as `chunks` 20 ms audio chunks, then ends its turn. */
  async agentSays(text: string, chunks = 5, complete = true): Promise<void> {
    const s = this.gemini.last;
    s.server({ type: 'outputTranscription', text, finished: false });
    for (let i = 0; i < chunks; i++) s.speak();
    if (complete) s.server({ type: 'turnComplete' });
    await flush();
  }
}
