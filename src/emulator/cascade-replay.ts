/**
 * The emulated text model's answer to one `streamGenerateContent` request (docs/cascade.md,
 * "Emulator"): REST is stateless, so the whole conversation in the request is replayed through a
 * fresh ScenarioCursor, the same picker the Live emulator uses, and the answer is what the
 * scenario says next. Pure: no I/O, no clock.
 *
 * Replay, part by part in order:
 * - a caller turn (`inlineData` audio, or a transcribed `(The caller said:) …` text) is an
 *   utterance: the next scenario turn without `match`;
 * - a user turn of other text only (the greeting instruction, a "say" action, "pressed 3") is
 *   client text: a verbatim line, a `match` turn, or the greeting;
 * - a user turn with function responses steps the current reply to its `afterTool` (or
 *   `afterToolError` when a response carries `error`), templated from the responses; every
 *   response is also kept per function name for `{{tools.<name>…}}` in later turns' lines and
 *   arguments, as the Live emulator keeps a toolResponse (model-turn.ts).
 * The answer is the reply reached at the end: its `say` as text, then its `toolCalls` as
 * function calls. The `heard` line of every caller audio part is reported too, so a parallel
 * transcription request for that audio can be answered (stream-generate.ts).
 */
import { ScenarioCursor, type Pick } from './cursor.js';
import { renderArgs, renderTemplate, templateContext, type Reply, type Scenario, type ToolResult } from './scenario.js';

/** J2's transcribed caller turn (src/cascade/conversation.ts). */
const CALLER_SAID = /^\(The caller said:\)\s*/;

export interface RestPart {
  text?: string;
  inlineData?: { mimeType?: string; data?: string };
  functionCall?: { id?: string; name?: string; args?: unknown };
  functionResponse?: { id?: string; name?: string; response?: Record<string, unknown> };
}

export interface RestContent {
  role?: string;
  parts: RestPart[];
}

export interface CascadeAnswer {
  text: string;
  calls: Array<{ id: string; name: string; args: Record<string, unknown> }>;
  /** The scenario's `heard` line of each caller audio part (by its base64 data). */
  heard: Array<{ audio: string; heard: string }>;
}

interface Position {
  pick: Pick | undefined;
  reply: Reply | undefined;
  ctx: Record<string, unknown>;
}

/** The answer the scenario gives at the end of `contents`. `newId` names function calls without a fixed id. */
export function replayAnswer(scenario: Scenario, contents: readonly RestContent[], newId: () => string): CascadeAnswer {
  const cursor = new ScenarioCursor(scenario);
  const heard: CascadeAnswer['heard'] = [];
  let at: Position = { pick: undefined, reply: undefined, ctx: {} };
  for (const content of contents) {
    if (content.role === 'model') {
      const spoken = content.parts.map((p) => p.text ?? '').join('').trim();
      if (spoken !== '') cursor.spoke(spoken);
      continue;
    }
    at = replayUserTurn(cursor, content.parts, at, heard);
  }
  return withIds({ ...render(at, cursor.tools), heard }, newId);
}

function replayUserTurn(cursor: ScenarioCursor, parts: readonly RestPart[], at: Position, heard: CascadeAnswer['heard']): Position {
  const results: ToolResult[] = [];
  const texts: string[] = [];
  let caller = false;
  for (const p of parts) {
    if (p.functionResponse) {
      results.push({ id: p.functionResponse.id ?? '', name: p.functionResponse.name ?? '', response: p.functionResponse.response ?? {} });
    } else if (p.inlineData?.mimeType?.startsWith('audio/') || (p.text !== undefined && CALLER_SAID.test(p.text))) {
      if (results.length > 0) at = afterTools(cursor, at, results.splice(0));
      const pick = cursor.forUtterance();
      if (p.inlineData?.data) heard.push({ audio: p.inlineData.data, heard: pick.heard ?? '' });
      at = { pick, reply: pick.reply, ctx: { match: pick.vars?.match } };
      caller = true;
    } else if (p.text !== undefined) {
      texts.push(p.text);
    }
  }
  if (results.length > 0) return afterTools(cursor, at, results);
  if (!caller && texts.length > 0) {
    const pick = cursor.forText(texts.join('\n'));
    return { pick, reply: pick.reply, ctx: { ...(pick.vars ?? {}) } };
  }
  return at;
}

function afterTools(cursor: ScenarioCursor, at: Position, results: ToolResult[]): Position {
  for (const r of results) {
    cursor.tools[r.name] = 'output' in r.response || 'error' in r.response ? r.response : { output: r.response };
  }
  const failed = results.some((r) => 'error' in r.response);
  const next = failed ? (at.reply?.afterToolError ?? at.reply?.afterTool) : at.reply?.afterTool;
  return { pick: at.pick, reply: next, ctx: { ...at.ctx, ...templateContext(results) } };
}

/** `tools`: every function's latest response so far, for `{{tools.<name>…}}`. */
function render(at: Position, tools: Record<string, unknown>): Omit<CascadeAnswer, 'heard'> {
  const reply = at.reply;
  if (!reply) return { text: '', calls: [] };
  const ctx = { ...at.ctx, tools };
  const say = reply.say;
  const line = typeof say === 'string' ? say : say && 'text' in say ? say.text : '';
  const text = line ? renderTemplate(line, ctx) : '';
  return {
    text,
    calls: (reply.toolCalls ?? []).map((c) => ({
      id: c.id ?? '',
      name: c.name,
      args: renderArgs(c.args, ctx) as Record<string, unknown>,
    })),
  };
}

/** Every call gets an id (a fixed one from the scenario, else a new one). */
export function withIds(answer: CascadeAnswer, newId: () => string): CascadeAnswer {
  return { ...answer, calls: answer.calls.map((c) => ({ ...c, id: c.id || newId() })) };
}
