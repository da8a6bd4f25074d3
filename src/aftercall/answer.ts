/**
 * Checks the model's analysis answer locally against the flow's declaration (Gemini's schema
 * support is a subset and not a guarantee, docs/after-call.md): the fixed keys, and every declared
 * field present with a value of its type or null. The zod schema is built once per declaration.
 */
import { z } from 'zod';
import type { AnalysisConfig, AnalysisFieldConfig } from '../flows/analysis-schema.js';
import type { AnalysisFieldValue, Sentiment } from '../transcripts/after-call-store.js';

export interface AnalysisAnswer {
  intent: string;
  summary: string;
  fields: Record<string, AnalysisFieldValue>;
  resolved: boolean;
  followUp: boolean;
  followUpReason: string | null;
  sentiment: Sentiment;
}

const cache = new WeakMap<AnalysisConfig['fields'], z.ZodType<AnalysisAnswer>>();

function fieldValue(field: AnalysisFieldConfig): z.ZodType<AnalysisFieldValue> {
  switch (field.type) {
    case 'string':
      return z.string().max(2000).nullable();
    case 'number':
      return z.number().nullable();
    case 'boolean':
      return z.boolean().nullable();
    case 'enum':
      return z.enum((field.values ?? []) as [string, ...string[]]).nullable();
  }
}

/** The validator of answers for this declaration (cached). */
export function answerSchema(fields: AnalysisConfig['fields']): z.ZodType<AnalysisAnswer> {
  let schema = cache.get(fields);
  if (schema) return schema;
  const names = Object.keys(fields);
  const fieldsSchema = z
    .object(Object.fromEntries(names.map((n) => [n, fieldValue(fields[n]!)])))
    .strict();
  schema = z
    .object({
      intent: z.string().trim().max(300),
      summary: z.string().trim().min(1, 'summary is empty').max(3000),
      fields: names.length > 0 ? fieldsSchema : z.object({}).strict().default({}),
      resolved: z.boolean(),
      followUp: z.boolean(),
      followUpReason: z.string().trim().max(1000).nullable(),
      sentiment: z.enum(['positive', 'neutral', 'negative', 'mixed']),
    })
    .transform((a): AnalysisAnswer => ({
      ...a,
      fields: a.fields as Record<string, AnalysisFieldValue>,
      // A reason without follow-up is noise; a follow-up without reason gets none.
      followUpReason: a.followUp && a.followUpReason ? a.followUpReason : null,
    }));
  cache.set(fields, schema);
  return schema;
}

/** Parses and checks an answer's text; a plain-words problem when it does not fit. */
export function parseAnswer(text: string, fields: AnalysisConfig['fields']): { ok: true; answer: AnalysisAnswer } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the answer is not JSON' };
  }
  const result = answerSchema(fields).safeParse(json);
  if (result.success) return { ok: true, answer: result.data };
  const issues = result.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(answer)'}: ${i.message}`);
  return { ok: false, problem: `the answer does not fit the schema (${issues.join('; ')})` };
}
