/**
 * Child process for the SIGKILL durability test: writes call events continuously through the
 * real writer and SQLite store, printing "enq <seq> <epochMs>" for every event it enqueued, until
 * it is killed. Usage: node --import tsx test/support/transcripts-kill-child.ts <dataDir> <callSid>
 */
import { openSqliteStore } from '../../src/transcripts/sqlite-store.js';
import { createTranscriptWriter } from '../../src/transcripts/writer.js';
import { demoRecord } from './transcripts-fixtures.js';

const [dataDir, callSid] = process.argv.slice(2);
if (!dataDir || !callSid) throw new Error('usage: transcripts-kill-child.ts <dataDir> <callSid>');
const store = openSqliteStore({ dataDir });
const writer = createTranscriptWriter({ store });
const startedAt = Date.now();
const log = writer.openCall(demoRecord({ callSid, startedAt }));
let seq = 0;
setInterval(() => {
  // A few events per tick, like a busy call (utterances, tool calls, notes).
  for (let k = 0; k < 3; k++) {
    seq++;
    const now = Date.now();
    log.event({ kind: 'caller_utterance', text: `utterance number ${seq}` }, now - startedAt);
    process.stdout.write(`enq ${seq} ${now}\n`);
  }
}, 4);
process.stdout.write('ready\n');
