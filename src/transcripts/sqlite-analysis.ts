/**
 * AnalysisStore on SQLite: the `call_analysis` table of migration 3, in the transcript store's
 * database (pass `SqliteTranscriptStore.database`). The analysis is kept as JSON; its status and
 * follow-up verdict are columns so the call list can filter on them (sqlite-store.ts).
 */
import type Database from 'better-sqlite3';
import type { AnalysisStore, CallAnalysis } from './after-call-store.js';

export class SqliteAnalysisStore implements AnalysisStore {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  async getAnalysis(callSid: string): Promise<CallAnalysis | undefined> {
    const row = this.stmt('SELECT analysis_json FROM call_analysis WHERE call_sid = ?').get(callSid) as
      | { analysis_json: string }
      | undefined;
    return row ? (JSON.parse(row.analysis_json) as CallAnalysis) : undefined;
  }

  async putAnalysis(callSid: string, analysis: CallAnalysis, nowMs: number): Promise<void> {
    this.stmt(
      `INSERT INTO call_analysis (call_sid, status, follow_up, analysis_json, analysed_at, updated_at)
       VALUES (@sid, @status, @followUp, @json, @at, @now)
       ON CONFLICT (call_sid) DO UPDATE SET status = excluded.status, follow_up = excluded.follow_up,
         analysis_json = excluded.analysis_json, analysed_at = excluded.analysed_at, updated_at = excluded.updated_at`,
    ).run({
      sid: callSid,
      status: analysis.status,
      followUp: analysis.status === 'ok' && analysis.followUp ? 1 : 0,
      json: JSON.stringify(analysis),
      at: analysis.analysedAtMs,
      now: nowMs,
    });
  }

  async analysesOf(callSids: readonly string[]): Promise<Map<string, CallAnalysis>> {
    const out = new Map<string, CallAnalysis>();
    // Chunks keep the statement under SQLite's parameter limit and the cache small.
    for (let i = 0; i < callSids.length; i += 100) {
      const chunk = callSids.slice(i, i + 100);
      const rows = this.db
        .prepare(`SELECT call_sid, analysis_json FROM call_analysis WHERE call_sid IN (${chunk.map(() => '?').join(', ')})`)
        .all(...chunk) as { call_sid: string; analysis_json: string }[];
      for (const row of rows) out.set(row.call_sid, JSON.parse(row.analysis_json) as CallAnalysis);
    }
    return out;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}

/** Field names a filter may name (the flow schema's rule, so the JSON path is safe to build). */
const FIELD_NAME = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * The call list's analysis clauses (sqlite-store.ts `listFilter`): `followUp: 'true'` (the rules'
 * flag or the analysis's verdict) and `fields` (each declared field equal to a value given as text).
 */
export function analysisFilter(
  query: { followUp?: string; fields?: Record<string, string> },
  where: string[],
  params: Record<string, unknown>,
): void {
  if (query.followUp === 'true') {
    where.push('(c.follow_up IS NOT NULL OR EXISTS (SELECT 1 FROM call_analysis a WHERE a.call_sid = c.call_sid AND a.follow_up = 1))');
  }
  Object.entries(query.fields ?? {}).forEach(([name, value], i) => {
    if (!FIELD_NAME.test(name)) throw new Error(`not a field name: ${name}`);
    params[`fpath${i}`] = `$.fields.${name}`;
    params[`fval${i}`] = value;
    const type = `json_type(a.analysis_json, @fpath${i})`;
    const val = `json_extract(a.analysis_json, @fpath${i})`;
    where.push(`EXISTS (SELECT 1 FROM call_analysis a WHERE a.call_sid = c.call_sid AND a.status = 'ok' AND (
      (${type} = 'true' AND lower(@fval${i}) = 'true') OR (${type} = 'false' AND lower(@fval${i}) = 'false')
      OR (${type} = 'null' AND lower(@fval${i}) = 'null')
      OR (${type} IN ('integer', 'real') AND @fval${i} GLOB '*[0-9]*' AND ${val} = CAST(@fval${i} AS REAL))
      OR (${type} = 'text' AND lower(${val}) = lower(@fval${i}))))`);
  });
}
