/**
 * A flow's `analysis:` key (docs/after-call.md, "Post-call analysis"): whether its calls are
 * analysed after they end, and the fields the business wants out of each call.
 *
 *   analysis:
 *     fields:
 *       callback_number: { type: string, description: Number the caller wants to be called back on }
 *       appointment_booked: { type: boolean }
 *       reason: { type: enum, values: [booking, billing, emergency, other] }
 *
 * `analysis: false` switches it off; leaving the key out analyses with no extra fields. The JSON
 * schema sent to Gemini (`responseJsonSchema`) is built here once, when the flow loads, so a
 * declaration Gemini would refuse is a flow error at load and not a failure at hang-up. Every
 * declared field is required but nullable ("not said"), so receivers always see the same keys.
 */
import { z } from 'zod';

export const ANALYSIS_FIELD_TYPES = ['string', 'enum', 'boolean', 'number'] as const;
export type AnalysisFieldType = (typeof ANALYSIS_FIELD_TYPES)[number];

/** Field names: short snake_case, safe as JSON keys, URL query names (`field.<name>`) and CSV headers. */
export const ANALYSIS_FIELD_RE = /^[a-z][a-z0-9_]{0,39}$/;
export const MAX_ANALYSIS_FIELDS = 20;
export const MAX_ENUM_VALUES = 30;
/**
 * Gemini refuses schemas over an undocumented complexity budget that grows with the total length
 * of enum strings (docs/after-call.md); this cap keeps a flow well under it.
 */
export const MAX_ENUM_CHARS = 1500;

const AnalysisField = z
  .object({
    type: z.enum(ANALYSIS_FIELD_TYPES, { error: `must be one of ${ANALYSIS_FIELD_TYPES.join(', ')}` }),
    description: z.string().trim().min(1, 'is empty: say what the field means, or leave description out').max(300, 'is too long: at most 300 characters').optional(),
    values: z
      .array(z.string().trim().min(1, 'an empty value').max(60, 'is too long: enum values of at most 60 characters'), {
        error: 'must be a list of words, e.g. [booking, billing, other]',
      })
      .min(1, 'list at least one value')
      .max(MAX_ENUM_VALUES, `lists too many values: at most ${MAX_ENUM_VALUES}`)
      .refine((v) => new Set(v).size === v.length, 'lists a value twice')
      .optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.type === 'enum' && f.values === undefined) ctx.addIssue({ code: 'custom', message: 'an enum field needs values: [a, b, c]', path: ['values'] });
    if (f.type !== 'enum' && f.values !== undefined) ctx.addIssue({ code: 'custom', message: `values apply only to type enum (this field is ${f.type})`, path: ['values'] });
  });

export type AnalysisFieldConfig = z.output<typeof AnalysisField>;

const Fields = z
  .record(z.string(), AnalysisField, { error: 'must map field names to { type: string|enum|boolean|number, description?, values? }' })
  .superRefine((rec, ctx) => {
    const names = Object.keys(rec);
    for (const name of names) {
      if (!ANALYSIS_FIELD_RE.test(name)) {
        ctx.addIssue({ code: 'custom', message: `field name "${name}": use lowercase letters, digits and _ (starting with a letter, at most 40), e.g. callback_number`, path: [name] });
      }
    }
    if (names.length > MAX_ANALYSIS_FIELDS) ctx.addIssue({ code: 'custom', message: `declares ${names.length} fields: at most ${MAX_ANALYSIS_FIELDS}` });
    const enumChars = Object.values(rec).reduce((n, f) => n + (f.values ?? []).reduce((m, v) => m + v.length, 0), 0);
    if (enumChars > MAX_ENUM_CHARS) {
      ctx.addIssue({ code: 'custom', message: `enum values total ${enumChars} characters: at most ${MAX_ENUM_CHARS} (Gemini refuses schemas with too many or too long enum values)` });
    }
  });

const AnalysisOn = z
  .object({ fields: Fields.default({}) })
  .strict()
  .transform((a) => ({ fields: a.fields, responseJsonSchema: buildResponseJsonSchema(a.fields) }));

const SETTING_MSG = 'must be false (no analysis), or { fields: { name: { type: string|enum|boolean|number } } }';

/** The `analysis` key: false (off), true or absent (on, no fields), or { fields }. */
export const AnalysisSetting = z.unknown().default(true).transform((v, ctx): AnalysisConfig | false => {
  if (v === false) return false;
  if (v === null || (v !== undefined && v !== true && (typeof v !== 'object' || Array.isArray(v)))) {
    ctx.addIssue({ code: 'custom', message: SETTING_MSG });
    return z.NEVER;
  }
  const parsed = AnalysisOn.safeParse(v === true || v === undefined ? {} : v);
  if (parsed.success) return parsed.data;
  // Pass the declaration's own messages through, at their paths (a union would hide them).
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

export interface AnalysisConfig {
  fields: Record<string, AnalysisFieldConfig>;
  /** The `generationConfig.responseJsonSchema` for this flow's analyses (built at load). */
  responseJsonSchema: JsonSchemaObject;
}

export type JsonSchemaObject = Record<string, unknown>;

/** Field names of an analysis declaration, for "did you mean" suggestions. */
export const ANALYSIS_FIELDS: readonly string[] = ['fields', 'type', 'description', 'values'];

function fieldSchema(field: AnalysisFieldConfig): JsonSchemaObject {
  const description = field.description === undefined ? {} : { description: field.description };
  if (field.type === 'enum') {
    // A nullable enum as anyOf (Gemini documents enum for strings and numbers, not null).
    return { ...description, anyOf: [{ type: 'string', enum: field.values ?? [] }, { type: 'null' }] };
  }
  return { ...description, type: [field.type, 'null'] };
}

/**
 * The answer's JSON schema: evidence first (intent, summary, fields), verdicts last (resolved,
 * follow-up, sentiment); every key required; declared fields nullable. Only keywords Gemini's
 * `responseJsonSchema` honours (docs/after-call.md): no pattern, no bounds.
 */
export function buildResponseJsonSchema(fields: Record<string, AnalysisFieldConfig>): JsonSchemaObject {
  const names = Object.keys(fields);
  const properties: Record<string, JsonSchemaObject> = {
    intent: { type: 'string', description: "What the caller wanted, in a few words (e.g. 'book a cleaning')." },
    summary: { type: 'string', description: 'Two or three sentences: who called, what they wanted, what happened.' },
  };
  if (names.length > 0) {
    properties.fields = {
      type: 'object',
      description: 'Facts from the call. null when the call did not say.',
      properties: Object.fromEntries(names.map((n) => [n, fieldSchema(fields[n]!)])),
      required: names,
      additionalProperties: false,
    };
  }
  properties.resolved = { type: 'boolean', description: 'Whether what the caller wanted was done during the call.' };
  properties.followUp = { type: 'boolean', description: 'Whether a person at the business must act on this call (call back, fix something, answer a question).' };
  properties.followUpReason = { type: ['string', 'null'], description: 'Why a person must act, in one sentence; null when followUp is false.' };
  properties.sentiment = { type: 'string', enum: ['positive', 'neutral', 'negative', 'mixed'], description: "The caller's mood overall." };
  const keys = Object.keys(properties);
  return { type: 'object', properties, required: keys, propertyOrdering: keys, additionalProperties: false };
}
