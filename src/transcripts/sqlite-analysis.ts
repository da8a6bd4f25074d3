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
