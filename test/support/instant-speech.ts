/**
 * A speech synthesizer for the emulator (its `tts` option) that answers at once: each line is a
 * steady 440 Hz tone as long as espeak would speak it (about 65 ms per character), with no pauses
 * inside. For whole-call tests about flows, functions and transcripts, where what the bot sounds
 * like does not matter but when it speaks does.
 *
 * Why: espeak renders a line in ~0.3 s of CPU in a worker, several times that on a busy machine.
 * A line it has not rendered before (one with a fresh booking reference in it) then leaves a
 * silence after a function call long enough for the simulated caller, who takes a stretch of
 * silence as "the bot has finished", to talk over the answer that was still being rendered.
 * (The emulator's real speech is tested in test/unit/emulator-tts.test.ts.)
 */
import { SpeechSynth, renderTone } from '../../src/emulator/index.js';

const MS_PER_CHAR = 65;

export class InstantSpeech extends SpeechSynth {
  override render(text: string): Promise<Int16Array> {
    return Promise.resolve(renderTone(440, Math.max(300, text.length * MS_PER_CHAR), 8000));
  }
}
