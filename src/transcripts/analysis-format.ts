/**
 * A call's post-call analysis in the text export and the `calls` CLI: the summary, intent,
 * verdicts and declared fields, or why there is none (after-call-store.ts).
 */
import type { CallAnalysis } from './after-call-store.js';

const LABEL = 12;

/** Lines for a text export (labels padded like the record's own). */
export function analysisLines(a: CallAnalysis): string[] {
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(LABEL)}${value}`);
  if (a.status !== 'ok') {
    field('Analysis', `${a.status}${a.error ? ` — ${a.error}` : ''}`);
    return lines;
  }
  field('Summary', a.summary);
  field('Intent', a.intent);
  field('Resolved', a.resolved ? 'yes' : 'no');
  field('Follow-up', a.followUp ? `yes${a.followUpReason ? ` — ${a.followUpReason}` : ''}` : 'no');
  field('Sentiment', a.sentiment);
  for (const [name, value] of Object.entries(a.fields)) field(`  ${name}`, value === null ? '—' : String(value));
  field('Analysed by', `${a.model} (${a.promptVersion})`);
  return lines;
}
