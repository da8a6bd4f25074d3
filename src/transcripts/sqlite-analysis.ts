/**
 * AnalysisStore on SQLite: the `call_analysis` table of migration 3, in the transcript store's
 * database (pass `SqliteTranscriptStore.database`). The analysis is kept as JSON; its status and
 * follow-up verdict are columns so the call list can filter on them (sqlite-store.ts).
 */
import type Database from 'better-sqlite3';
import { statementCache } from './sqlite-statements.js';
import type { AnalysisStore, CallAnalysis } from './after-call-store.js';
import { checkFieldName, fieldText } from './analysis-rows.js';

export class SqliteAnalysisStore implements AnalysisStore {
  private readonly stmt = statementCache(() => this.db);

  constructor(private readonly db: Database.Database) {}

  async getAnalysis(callSid: string): Promise<CallAnalysis | undefined> {
    const row = this.stmt('SELECT analysis_json FROM call_analysis WHERE call_sid = ?').get(callSid) as
      | { analysis_json: string }
      | undefined;
    return row ? (JSON.parse(row.analysis_json) as CallAnalysis) : undefined;
  }

  async putAnalysis(callSid: string, analysis: CallAnalysis, nowMs: number): Promise<void> {
    const upsert = this.stmt(
      `INSERT INTO call_analysis (call_sid, status, follow_up, analysis_json, analysed_at, updated_at)
       VALUES (@sid, @status, @followUp, @json, @at, @now)
       ON CONFLICT (call_sid) DO UPDATE SET status = excluded.status, follow_up = excluded.follow_up,
         analysis_json = excluded.analysis_json, analysed_at = excluded.analysed_at, updated_at = excluded.updated_at`,
    );
    const clearFields = this.stmt('DELETE FROM call_analysis_fields WHERE call_sid = ?');
    const addField = this.stmt('INSERT OR IGNORE INTO call_analysis_fields (name, value, call_sid) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      upsert.run({
        sid: callSid,
        status: analysis.status,
        followUp: analysis.status === 'ok' && analysis.followUp ? 1 : 0,
        json: JSON.stringify(analysis),
        at: analysis.analysedAtMs,
        now: nowMs,
      });
      clearFields.run(callSid);
      if (analysis.status === 'ok') {
        for (const [name, value] of Object.entries(analysis.fields)) addField.run(name, fieldText(value), callSid);
      }
    }).immediate();
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
}

/**
 * The call list's analysis clauses (sqlite-store.ts `listFilter`): `followUp: 'true'` (the rules'
 * flag or the analysis's verdict) and `fields` (each declared field equal to a value given as
 * text). Two forms of each, measured with bench/aftercall.bench.ts: for the total, `call_sid IN
 * (…)` driven by the indexes (cost grows with the matches, not with the calls); for the page, the
 * same set as a filter (`+call_sid`) while the calls are read newest first, stopping at a page.
 */
export function analysisFilter(
  query: { followUp?: string; fields?: Record<string, string> },
  params: Record<string, unknown>,
): { count: string[]; page: string[] } {
  const count: string[] = [];
  const page: string[] = [];
  if (query.followUp === 'true') {
    const flagged = 'SELECT a.call_sid FROM call_analysis a WHERE a.follow_up = 1';
    count.push(`c.call_sid IN (SELECT r.call_sid FROM calls r WHERE r.follow_up IN ('amber', 'red') UNION ALL ${flagged})`);
    page.push(`(c.follow_up IS NOT NULL OR +c.call_sid IN (${flagged}))`);
  }
  Object.entries(query.fields ?? {}).forEach(([name, value], i) => {
    checkFieldName(name);
    params[`fname${i}`] = name;
    params[`fvalue${i}`] = fieldText(value);
    const set = `SELECT f.call_sid FROM call_analysis_fields f WHERE f.name = @fname${i} AND f.value = @fvalue${i}`;
    count.push(`c.call_sid IN (${set})`);
    page.push(`+c.call_sid IN (${set})`);
  });
  return { count, page };
}
