/**
 * Attack: get a second recording opened for a CallSid whose recording exists (a replayed or
 * duplicated call). Before: the WAV was opened with 'w' and truncated. Now: it is opened with
 * 'wx'; the existing file stays byte for byte, CB_RECORDING_EXISTS is logged once, and the new
 * recording just records nothing (the call goes on).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/shared/log.js';
import { openCallRecording, recordingRelativePath } from '../../src/transcripts/recording.js';

describe('security: a recording is never opened over an existing file', () => {
  it('keeps the existing WAV and logs CB_RECORDING_EXISTS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-sec-rec-'));
    try {
      const callSid = 'CA' + 'e'.repeat(32);
      const path = join(dir, recordingRelativePath(callSid));
      mkdirSync(join(path, '..'), { recursive: true });
      const original = Buffer.from('RIFF-an-earlier-recording-of-this-call');
      writeFileSync(path, original);
      const lines: Array<{ code?: string; level: number }> = [];
      const destination = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { level: number });
          done();
        },
      });
      const rec = openCallRecording({ dataDir: dir, callSid, log: createLogger({ level: 'info', destination }), settleMs: 0, chunkMs: 20 });
      const pcm = new Int16Array(160).fill(1000);
      for (let t = 0; t < 3000; t += 20) rec.caller(t, pcm);
      await rec.close(3000);
      assert.ok(readFileSync(path).equals(original), 'the existing file is untouched');
      const codes = lines.filter((l) => l.level >= 50).map((l) => l.code);
      assert.deepEqual(codes, ['CB_RECORDING_EXISTS'], 'one error, with its code, and no retry noise');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
