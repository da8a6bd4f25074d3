/**
 * AnalysisStore on PostgreSQL: `call_analysis` and `call_analysis_fields` (pg-migrations.ts), the
 * same layout as SQLite's (sqlite-analysis.ts): the analysis as JSON text, its status and
 * follow-up verdict as columns, each declared field of an ok analysis as a (name, value) row for
 * the call list's field filter.
 */
import type pg from 'pg';
import type { AnalysisStore, CallAnalysis } from './after-call-store.js';
import { checkFieldName, fieldText } from './analysis-rows.js';
import { inTransaction, pgText } from './pg-pool.js';

export class PgAnalysisStore implements AnalysisStore {
  constructor(private readonly pool: pg.Pool) {}

  async getAnalysis(callSid: string): Promise<CallAnalysis | undefined> {
    const r = await this.pool.query<{ analysis_json: string }>('SELECT analysis_json FROM call_analysis WHERE call_sid = $1', [callSid]);
    const row = r.rows[0];
    return row ? (JSON.parse(row.analysis_json) as CallAnalysis) : undefined;
  }

  async putAnalysis(callSid: string, analysis: CallAnalysis, nowMs: number): Promise<void> {
    const fields = analysis.status === 'ok' ? Object.entries(analysis.fields) : [];
    await inTransaction(this.pool, async (db) => {
      await db.query(
        `INSERT INTO call_analysis (call_sid, status, follow_up, analysis_json, analysed_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (call_sid) DO UPDATE SET status = excluded.status, follow_up = excluded.follow_up,
           analysis_json = excluded.analysis_json, analysed_at = excluded.analysed_at, updated_at = excluded.updated_at`,
        [callSid, analysis.status, analysis.status === 'ok' && analysis.followUp ? 1 : 0, JSON.stringify(analysis), analysis.analysedAtMs, nowMs],
      );
      await db.query('DELETE FROM call_analysis_fields WHERE call_sid = $1', [callSid]);
      if (fields.length > 0) {
        await db.query(
          `INSERT INTO call_analysis_fields (name, value, call_sid) SELECT n, v, $3 FROM unnest($1::text[], $2::text[]) AS f(n, v)
           ON CONFLICT DO NOTHING`,
          [fields.map(([name]) => pgText(name)), fields.map(([, value]) => pgText(fieldText(value))), callSid],
        );
      }
    });
  }

  async analysesOf(callSids: readonly string[]): Promise<Map<string, CallAnalysis>> {
    const out = new Map<string, CallAnalysis>();
    if (callSids.length === 0) return out;
    const r = await this.pool.query<{ call_sid: string; analysis_json: string }>(
      'SELECT call_sid, analysis_json FROM call_analysis WHERE call_sid = ANY($1)',
      [[...callSids]],
    );
    for (const row of r.rows) out.set(row.call_sid, JSON.parse(row.analysis_json) as CallAnalysis);
    return out;
  }
}

/**
 * The call list's analysis clauses (pg-store.ts): `followUp: 'true'` (the rules' flag or the
 * analysis's verdict) and `fields` (each declared field equal to a value given as text).
 */
export function pgAnalysisFilter(
  query: { followUp?: string; fields?: Record<string, string> },
  $: (v: unknown) => string,
): string[] {
  const where: string[] = [];
  if (query.followUp === 'true') {
    where.push('(c.follow_up IS NOT NULL OR c.call_sid IN (SELECT a.call_sid FROM call_analysis a WHERE a.follow_up = 1))');
  }
  for (const [name, value] of Object.entries(query.fields ?? {})) {
    checkFieldName(name);
    where.push(`c.call_sid IN (SELECT f.call_sid FROM call_analysis_fields f WHERE f.name = ${$(name)} AND f.value = ${$(fieldText(value))})`);
  }
  return where;
}
