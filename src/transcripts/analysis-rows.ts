/**
 * What both analysis stores (sqlite-analysis.ts, pg-analysis.ts) agree on for the call list's
 * field filter: which names a filter may name, and a field value's text form as stored in
 * `call_analysis_fields` and compared with the filter's value.
 */
import { ANALYSIS_FIELD_RE } from '../flows/analysis-schema.js';
import type { AnalysisFieldValue } from './after-call-store.js';

/** Throws unless `name` is a field name a flow may declare (so it is safe in a query). */
export function checkFieldName(name: string): void {
  if (!ANALYSIS_FIELD_RE.test(name)) throw new Error(`not a field name: ${name}`);
}

/** A field value as the filter compares it: lowercased trimmed text, a number's shortest form, true/false/null. */
export function fieldText(value: AnalysisFieldValue | string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  const text = value.trim().toLowerCase();
  return /^-?\d+(\.\d+)?$/.test(text) ? String(Number(text)) : text;
}
