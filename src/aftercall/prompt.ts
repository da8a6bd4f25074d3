/**
 * The post-call analysis prompt: the flow's own instructions to the agent, how the call ended,
 * the declared fields with their descriptions, and the transcript (utterances, keys pressed,
 * functions and transfers). PROMPT_VERSION is stored with each analysis: change it whenever the
 * wording or the schema's fixed keys change, so a stored answer says which prompt produced it.
 */
import type { Flow } from '../flows/index.js';
import type { AnalysisConfig } from '../flows/analysis-schema.js';
import type { CallRecord, StoredCallEvent } from '../transcripts/index.js';
import type { GenerateContentRequest } from './gemini-rest.js';

export const PROMPT_VERSION = 'analysis-v1';

/** Transcripts beyond this are cut in the middle (the start says why they called, the end how it ended). */
const MAX_TRANSCRIPT_CHARS = 60_000;
const MAX_PERSONA_CHARS = 4000;

const SYSTEM = [
  'You review a finished phone call that an AI voice agent answered for a business.',
  'Answer with JSON that fits the given schema, using only what the call shows. Never invent facts.',
  '- intent: what the caller wanted, in a few words.',
  '- summary: two or three sentences for the business owner: who called, what they wanted, what happened.',
  '- fields: the facts the business asked for; null when the call did not establish one.',
  '- resolved: true only if what the caller wanted was done during the call.',
  '- followUp: true when a person at the business must act: the caller asked to be called back, something',
  '  failed or could not be done, a complaint, an emergency, a question the agent could not answer.',
  '- followUpReason: one sentence saying what the person must do, or null when followUp is false.',
  '- sentiment: the caller\'s mood overall.',
  'Write the summary, intent and reason in the language the caller spoke.',
].join('\n');

function clock(atMs: number): string {
  const s = Math.max(0, Math.floor(atMs / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function eventLine(e: StoredCallEvent): string | undefined {
  const at = `[${clock(e.atMs)}]`;
  switch (e.kind) {
    case 'caller_utterance':
      return `${at} Caller: ${e.text}`;
    case 'bot_utterance':
      return `${at} Agent: ${e.text}${e.interrupted ? ' (interrupted)' : ''}`;
    case 'dtmf':
      return `${at} (caller pressed ${e.digit})`;
    case 'function_call':
      return `${at} (agent used ${e.name}: ${e.status}${e.error ? `, ${e.error.slice(0, 200)}` : ''})`;
    case 'transfer':
      return `${at} (call transferred)`;
    default:
      return undefined;
  }
}

/** The transcript as lines, cut in the middle when very long. */
export function transcriptText(events: readonly StoredCallEvent[]): string {
  const text = events.map(eventLine).filter((l): l is string => l !== undefined).join('\n');
  if (text.length <= MAX_TRANSCRIPT_CHARS) return text;
  const half = MAX_TRANSCRIPT_CHARS / 2;
  return `${text.slice(0, half)}\n[… middle of the call left out …]\n${text.slice(-half)}`;
}

/** True when the caller said something: a call without it has nothing to analyse. */
export function hasConversation(events: readonly StoredCallEvent[]): boolean {
  return events.some((e) => e.kind === 'caller_utterance' && e.text.trim() !== '');
}

function endingText(record: CallRecord): string {
  const parts = [`outcome ${record.outcome}`];
  const d = record.outcomeDetail;
  if (d?.reason) parts.push(`reason: ${d.reason}`);
  if (d?.transferTarget) parts.push('transferred to a person');
  if (d?.errorCode) parts.push(`error ${d.errorCode}`);
  if (record.durationMs !== undefined) parts.push(`duration ${Math.round(record.durationMs / 1000)} s`);
  if (record.followUp) parts.push(`callbridge flagged it (${record.followUp.level}): ${record.followUp.reasons.join('; ')}`);
  return parts.join(', ');
}

function fieldsText(config: AnalysisConfig): string {
  const names = Object.keys(config.fields);
  if (names.length === 0) return 'none';
  return names
    .map((n) => {
      const f = config.fields[n]!;
      const values = f.type === 'enum' ? ` one of ${(f.values ?? []).join(', ')}` : '';
      return `- ${n} (${f.type}${values})${f.description ? `: ${f.description}` : ''}`;
    })
    .join('\n');
}

/** The whole request for one call. */
export function analysisRequest(
  call: { record: CallRecord; events: readonly StoredCallEvent[]; flow: Pick<Flow, 'persona'> | undefined },
  config: AnalysisConfig,
): GenerateContentRequest {
  const persona = call.flow?.persona ?? '(the flow of this call no longer exists)';
  const user = [
    `The agent's instructions (flow "${call.record.flow ?? 'unknown'}"):`,
    persona.length > MAX_PERSONA_CHARS ? `${persona.slice(0, MAX_PERSONA_CHARS)} …` : persona,
    '',
    `How the call ended: ${endingText(call.record)}.`,
    '',
    'Fields the business wants from the call:',
    fieldsText(config),
    '',
    'Transcript (times since the call started):',
    transcriptText(call.events),
  ].join('\n');
  return {
    systemInstruction: { parts: [{ text: SYSTEM }] },
    contents: [{ role: 'user', parts: [{ text: user }] }],
    generationConfig: {
      responseMimeType: 'application/json',
      responseJsonSchema: config.responseJsonSchema,
      temperature: 0.2,
      maxOutputTokens: 4096,
    },
  };
}
