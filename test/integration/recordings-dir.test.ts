/**
 * RECORDINGS_DIR: a call's recording is written under it (recordings/<CallSid>.wav), not under
 * DATA_DIR, and the call page's recording URL serves it from there, so instances sharing that
 * directory all play every call's recording (docs/scale-out.md).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig } from '../support/e2e.js';
import type { ScriptStep } from '../../src/simulator/index.js';

const FAST = { setupLatencyMs: 30, firstAudioDelayMs: 80, speechPace: 4, turnCompleteDelayMs: 20 };
const SCRIPT: ScriptStep[] = [
  { waitForBotSpeech: { timeoutMs: 15000 } },
  { waitForBotSilence: { silenceMs: 800, timeoutMs: 20000 } },
  { hangup: true },
];

describe('RECORDINGS_DIR', { timeout: 60_000 }, () => {
  it('writes the recording there and serves it from there', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'cb-shared-rec-'));
    const rig = await startRig({ emulator: { timing: FAST }, env: { RECORDINGS_DIR: shared } });
    try {
      const call = await rig.call({ timeScale: 0.5, maxDurationMs: 20000, script: SCRIPT });
      let recordingUrl: string | undefined;
      for (;;) {
        // Polls until the record is final; the test's timeout bounds the wait.
        const body = (await (await fetch(`${rig.bridge.url}/api/calls/${call.callSid}`)).json()) as { call?: { outcome: string }; recordingUrl?: string };
        if (body.call && body.call.outcome !== 'in_progress') {
          recordingUrl = body.recordingUrl;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(recordingUrl, `/api/calls/${call.callSid}/recording.wav`);
      assert.ok(existsSync(join(shared, 'recordings', `${call.callSid}.wav`)), 'the recording is in RECORDINGS_DIR');
      assert.equal(existsSync(join(rig.dataDir, 'recordings', `${call.callSid}.wav`)), false, 'not in DATA_DIR');
      const wav = await fetch(`${rig.bridge.url}${recordingUrl}`);
      assert.equal(wav.status, 200);
      assert.equal(Buffer.from(await wav.arrayBuffer()).subarray(0, 4).toString('latin1'), 'RIFF');
    } finally {
      await rig.close();
      rmSync(shared, { recursive: true, force: true });
    }
  });
});
