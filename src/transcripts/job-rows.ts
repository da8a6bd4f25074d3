/**
 * A `jobs` row as both backends read it (sqlite-jobs.ts, pg-jobs.ts: the same columns), and its
 * mapping to a Job.
 */
import type { Job, JobKind, JobState } from './after-call-store.js';

export interface JobRow {
  id: number;
  kind: JobKind;
  key: string;
  call_sid: string;
  payload_json: string;
  state: JobState;
  attempts: number;
  run_at: number;
  created_at: number;
  last_error: string | null;
}

export function toJob(row: JobRow): Job {
  const job: Job = {
    id: row.id,
    kind: row.kind,
    key: row.key,
    callSid: row.call_sid,
    payload: JSON.parse(row.payload_json) as unknown,
    attempts: row.attempts,
    runAtMs: row.run_at,
    createdAtMs: row.created_at,
  };
  if (row.last_error !== null) job.lastError = row.last_error;
  return job;
}

export const JOB_COLUMNS = 'id, kind, key, call_sid, payload_json, state, attempts, run_at, created_at, last_error';
