/**
 * The call list's analysis filters in a query string: `field.<name>=<value>` for the fields a flow
 * declares (src/flows/analysis-schema.ts). Taken out of the query before the other parameters are
 * checked (those are a fixed list); a bad name or value is a 400 like any other parameter.
 */
import { ANALYSIS_FIELD_RE } from '../flows/analysis-schema.js';

const PREFIX = 'field.';
const MAX_FILTERS = 5;

export interface FieldParams {
  /** The query without its field.* parameters. */
  rest: Record<string, unknown>;
  fields?: Record<string, string>;
  issues: Array<{ param: string; message: string }>;
}

export function fieldParams(raw: Record<string, unknown>): FieldParams {
  const rest: Record<string, unknown> = {};
  const fields: Record<string, string> = {};
  const issues: FieldParams['issues'] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith(PREFIX)) {
      rest[key] = value;
      continue;
    }
    const name = key.slice(PREFIX.length);
    if (!ANALYSIS_FIELD_RE.test(name)) issues.push({ param: key, message: 'is not a field name (lowercase letters, digits and _)' });
    else if (typeof value !== 'string') issues.push({ param: key, message: 'must be given once' });
    else if (value.length > 200) issues.push({ param: key, message: 'must be at most 200 characters' });
    else fields[name] = value;
  }
  if (Object.keys(fields).length > MAX_FILTERS) issues.push({ param: PREFIX, message: `at most ${MAX_FILTERS} field filters` });
  return Object.keys(fields).length > 0 ? { rest, fields, issues } : { rest, issues };
}
