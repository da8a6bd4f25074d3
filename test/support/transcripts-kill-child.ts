/**
 * Child process for the SIGKILL durability test: writes call events continuously through the
 * real writer (default 200 ms flush interval) and SQLite store until it is killed. It prints, in
 * the order things happen here: "enq <seq>" for every event it enqueued (3 per 4 ms tick) and
 * "commit <lastSeq> <events>" each time the store has committed a batch.
 * Usage: node --import tsx test/support/transcripts-kill-child.ts <dataDir> <callSid>
 */
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { demoRecord } from './transcripts-fixtures.js';

const TICK_MS = 4;
const EVENTS_PER_TICK = 3;

const [dataDir, callSid] = process.argv.slice(2);
if (!dataDir || !callSid) throw new Error('usage: transcripts-kill-child.ts <dataDir> <callSid>');
const store = openSqliteStore({ dataDir });
const writeBatch = store.writeBatch.bind(store);
store.writeBatch = async (batch) => {
  await writeBatch(batch);
  // Committed (WAL): it survives a SIGKILL from here on.
  if (batch.events.length > 0) process.stdout.write(`commit ${batch.events.at(-1)!.seq} ${batch.events.length}\n`);
};
const writer = createTranscriptWriter({ store });
const startedAt = Date.now();
const log = writer.openCall(demoRecord({ callSid, startedAt }));
let seq = 0;
setInterval(() => {
  // A few events per tick, like a busy call (utterances, tool calls, notes).
  for (let k = 0; k < EVENTS_PER_TICK; k++) {
    seq++;
    log.event({ kind: 'caller_utterance', text: `utterance number ${seq}` }, Date.now() - startedAt);
    process.stdout.write(`enq ${seq}\n`);
  }
}, TICK_MS);
process.stdout.write('ready\n');
