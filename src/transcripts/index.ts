/**
 * Transcripts: durable call records (store + batched writer), recordings, retention, redaction
 * and exports. The bridge uses `createTranscriptWriter` and `openCallRecording`; the web layer
 * and the CLI read through `TranscriptStore`.
 */
export type * from './types.js';
export { CALL_OUTCOMES } from './types.js';
export * from './store.js';
export { openSqliteStore, SqliteTranscriptStore, StoreOpenError, DEFAULT_DB_FILE, type SqliteStoreOptions } from './sqlite-store.js';
export { SCHEMA_VERSION } from './sqlite-migrations.js';
export * from './after-call-store.js';
export { SqliteJobQueue } from './sqlite-jobs.js';
export { SqliteAnalysisStore } from './sqlite-analysis.js';
export { SqliteDashboardStore } from './sqlite-dashboard.js';
export * from './writer.js';
export * from './recording.js';
export * from './retention.js';
export { redactText, redactEvent, redactValue, MASK } from './redact.js';
export * from './format.js';
