import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitSine, sineWave } from '../../src/audio/analysis.js';
import { encodeWav } from '../../src/audio/wav.js';
import { prepareScript } from '../../src/simulator/script.js';
import { formatTimeline, type TimelineEvent } from '../../src/simulator/timeline.js';

describe('simulator script preparation', () => {
  it('renders every audio step to 8 kHz PCM before the call (WAV resampled and mixed to mono, say via synthesize)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-script-'));
    try {
      const left = sineWave(440, 16000, 500, 8000);
      const stereo = new Int16Array(left.length * 2);
      for (let i = 0; i < left.length; i++) stereo[2 * i] = stereo[2 * i + 1] = left[i]!;
      const path = join(dir, 'a.wav');
      await writeFile(path, encodeWav({ sampleRateHz: 16000, channels: 2, samples: stereo }));
      const said: Array<[string, number]> = [];
      const steps = await prepareScript(
        [{ wav: path }, { say: 'hello' }, { tone: { hz: 1000, durationMs: 100 } }, { silence: 50 }, { dtmf: '12#' }, { hangup: true }],
        async (text, rate) => {
          said.push([text, rate]);
          return new Int16Array(rate / 10);
        },
      );
      assert.deepEqual(steps.map((s) => s.kind), ['audio', 'audio', 'audio', 'silence', 'dtmf', 'hangup']);
      const wav = steps[0]!;
      assert.equal(wav.kind, 'audio');
      if (wav.kind !== 'audio') return;
      assert.ok(Math.abs(wav.pcm.length - 4000) <= 2, `${wav.pcm.length} samples at 8 kHz`);
      assert.ok(fitSine(wav.pcm, 440, 8000, 200, 3800).thdnDb > 40, 'the tone survived resampling');
      assert.deepEqual(said, [['hello', 8000]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the bad step', async () => {
    await assert.rejects(prepareScript([{ silence: 10 }, { say: 'hi' }]), /script step 2 \(say "hi"\): a say step needs the synthesize option/);
    await assert.rejects(prepareScript([{ dtmf: '1x' }]), /step 1.*DTMF/);
    await assert.rejects(prepareScript([{ tone: { hz: 5000, durationMs: 10 } }]), /bad tone/);
    await assert.rejects(prepareScript([{ wav: '/nonexistent/file.wav' }]), /ENOENT/);
  });
});

describe('timeline formatting', () => {
  it('prints one line per event (mark echoes summarised elsewhere), with times in seconds', () => {
    const events: TimelineEvent[] = [
      { atMs: 12.5, kind: 'webhook', status: 200 },
      { atMs: 40, kind: 'mark-echo', name: 'x', cleared: false },
      { atMs: 1500, kind: 'clear', droppedMs: 800, marksEchoed: 3 },
      { atMs: 2000, kind: 'outcome', endedBy: 'twiml-replaced', verbs: ['Dial(+15551234567)'] },
    ];
    assert.equal(
      formatTimeline(events),
      [
        '    0.013 s  voice webhook answered HTTP 200',
        '    1.500 s  clear: dropped 800 ms of bot audio, echoed 3 marks',
        '    2.000 s  call ended by twiml-replaced: Dial(+15551234567)',
      ].join('\n'),
    );
  });
});
