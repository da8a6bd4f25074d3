/**
 * Call recording (optional per flow): one stereo WAV per call, 8 kHz PCM16, caller on the left,
 * bot on the right, both placed on the call clock (ms since the call started), so a sound at
 * t = 1 s is at sample 8000.
 *
 *  - `caller(atMs, pcm)`: caller audio as it arrives. Frames continue one another; a frame that
 *    arrives more than 60 ms after the end of the previous one starts at its own time (a gap).
 *  - `botSent(atMs, pcm)`: bot audio as sent to Twilio, queued like Twilio's playback buffer: it
 *    plays from max(atMs, end of what is already queued).
 *  - `botCleared(atMs)`: the bridge cleared Twilio's buffer (barge-in): whatever had not played
 *    by then is removed, so the bot channel holds what the caller actually heard.
 *  - `close(atMs?)`: writes the rest, patches the header sizes. With `atMs`, bot audio queued
 *    beyond the end of the call (never played) is dropped.
 *
 * Off the hot path: audio goes into an in-memory stereo window; once the call clock is
 * `settleMs` past a stretch of it (nothing can change it any more), it is appended to the file
 * asynchronously in chunks of about a second. The header is written with size 0 first (readers
 * such as decodeWav treat that as "to the end of the file", so a crashed call's recording stays
 * playable) and patched at close. Samples are written little-endian (the platform's order on
 * x86 and ARM).
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { wavHeader } from '../audio/wav.js';
import { silentLogger, type Logger } from '../shared/log.js';

export const RECORDING_SAMPLE_RATE_HZ = 8000;
const FRAMES_PER_MS = RECORDING_SAMPLE_RATE_HZ / 1000;
const CHANNELS = 2;
const HEADER_BYTES = 44;
const CALLER_GAP_TOLERANCE_FRAMES = 60 * FRAMES_PER_MS;
const MAX_WRITE_FAILURES = 5;

export interface CallRecordingOptions {
  dataDir: string;
  callSid: string;
  log?: Logger;
  /** How far behind the call clock audio is considered final. Default 1000 ms. */
  settleMs?: number;
  /** Append size. Default 1000 ms of audio. */
  chunkMs?: number;
  /** Audio further ahead than this is dropped (guards memory against a bad clock). Default 10 min. */
  maxBufferedMs?: number;
}

export interface RecordingResult {
  /** Relative to DATA_DIR (what CallRecord.recordingPath holds). */
  relativePath: string;
  path: string;
  durationMs: number;
  sizeBytes: number;
}

/** `recordings/<callSid>.wav`, with anything unsafe for a file name replaced. */
export function recordingRelativePath(callSid: string): string {
  return `recordings/${callSid.replace(/[^A-Za-z0-9_-]/g, '_')}.wav`;
}

export class CallRecording {
  readonly relativePath: string;
  readonly path: string;
  private readonly log: Logger;
  private readonly callSid: string;
  private readonly settleFrames: number;
  private readonly chunkFrames: number;
  private readonly maxBufferedFrames: number;
  /** Interleaved stereo window; buf[0] is frame `base`. */
  private buf: Int16Array;
  private base = 0;
  /** Highest frame (exclusive) written into the window. */
  private high = 0;
  private clock = 0;
  private callerPos = -1;
  private botEnd = 0;
  private closed = false;
  private queue: Buffer[] = [];
  private draining: Promise<void> | undefined;
  private file: FileHandle | undefined;
  private dataBytes = 0;
  private failures = 0;
  private failed = false;
  private dropped = false;

  constructor(options: CallRecordingOptions) {
    this.callSid = options.callSid;
    this.relativePath = recordingRelativePath(options.callSid);
    this.path = join(options.dataDir, this.relativePath);
    this.log = options.log ?? silentLogger();
    this.settleFrames = Math.round((options.settleMs ?? 1000) * FRAMES_PER_MS);
    this.chunkFrames = Math.max(1, Math.round((options.chunkMs ?? 1000) * FRAMES_PER_MS));
    this.maxBufferedFrames = Math.round((options.maxBufferedMs ?? 600_000) * FRAMES_PER_MS);
    this.buf = new Int16Array((this.settleFrames + this.chunkFrames * 2) * CHANNELS);
  }

  /** Caller audio (8 kHz PCM16 mono) received at `atMs`. */
  caller(atMs: number, pcm: Int16Array): void {
    if (this.closed) return;
    const at = Math.round(atMs * FRAMES_PER_MS);
    const start = this.callerPos < 0 || at > this.callerPos + CALLER_GAP_TOLERANCE_FRAMES ? at : this.callerPos;
    this.put(0, start, pcm);
    this.callerPos = start + pcm.length;
    this.advance(at);
  }

  /** Bot audio (8 kHz PCM16 mono) sent to Twilio at `atMs`; plays after what is queued. */
  botSent(atMs: number, pcm: Int16Array): void {
    if (this.closed) return;
    const at = Math.round(atMs * FRAMES_PER_MS);
    const start = Math.max(at, this.botEnd);
    this.put(1, start, pcm);
    this.botEnd = start + pcm.length;
    this.advance(at);
  }

  /** Twilio's playback buffer was cleared at `atMs`: unplayed bot audio is removed. */
  botCleared(atMs: number): void {
    if (this.closed) return;
    const at = Math.round(atMs * FRAMES_PER_MS);
    this.clearBotFrom(at);
    this.advance(at);
  }

  /** Writes the rest and finalises the file. `atMs`: end of the call (drops bot audio never played). */
  async close(atMs?: number): Promise<RecordingResult> {
    if (!this.closed) {
      this.closed = true;
      if (atMs !== undefined) this.clearBotFrom(Math.round(atMs * FRAMES_PER_MS));
      this.emit(Math.max(this.callerPos, this.botEnd, this.base) - this.base);
      await this.settle();
      await this.finish();
    } else {
      await this.settle();
    }
    return {
      relativePath: this.relativePath,
      path: this.path,
      durationMs: Math.round(this.dataBytes / (CHANNELS * 2) / FRAMES_PER_MS),
      sizeBytes: HEADER_BYTES + this.dataBytes,
    };
  }

  /** Resolves when everything settled so far has been appended to the file. */
  async written(): Promise<void> {
    await this.settle();
  }

  private clearBotFrom(at: number): void {
    if (this.botEnd <= at) return;
    const from = Math.max(at, this.base) - this.base;
    const to = Math.min(this.botEnd - this.base, this.buf.length / CHANNELS);
    for (let f = from; f < to; f++) this.buf[f * CHANNELS + 1] = 0;
    this.botEnd = at;
  }

  private put(channel: 0 | 1, start: number, pcm: Int16Array): void {
    const end = start + pcm.length;
    if (end - this.base > this.maxBufferedFrames) {
      if (!this.dropped) this.log.warn({ callSid: this.callSid, atFrame: start }, 'recording: audio too far ahead of the call clock dropped');
      this.dropped = true;
      return;
    }
    this.ensureCapacity(end - this.base);
    const skip = Math.max(0, this.base - start);
    const buf = this.buf;
    let i = (start + skip - this.base) * CHANNELS + channel;
    for (let s = skip; s < pcm.length; s++, i += CHANNELS) buf[i] = pcm[s]!;
    if (end > this.high) this.high = end;
  }

  private ensureCapacity(frames: number): void {
    if (frames * CHANNELS <= this.buf.length) return;
    let size = this.buf.length;
    while (size < frames * CHANNELS) size *= 2;
    const grown = new Int16Array(size);
    grown.set(this.buf);
    this.buf = grown;
  }

  /** Moves the clock; appends whatever is now settled, a chunk at a time. */
  private advance(at: number): void {
    if (at > this.clock) this.clock = at;
    while (this.clock - this.settleFrames - this.base >= this.chunkFrames) this.emit(this.chunkFrames);
  }

  /** Takes `frames` frames off the front of the window and queues them for the file. */
  private emit(frames: number): void {
    if (frames <= 0) return;
    this.ensureCapacity(frames);
    const n = frames * CHANNELS;
    const chunk = Buffer.from(this.buf.slice(0, n).buffer);
    const used = Math.max(0, this.high - this.base) * CHANNELS;
    if (used > n) {
      this.buf.copyWithin(0, n, used);
      this.buf.fill(0, used - n, used);
    } else {
      this.buf.fill(0, 0, Math.max(used, 0));
    }
    this.base += frames;
    if (this.failed) return;
    this.queue.push(chunk);
    this.kick();
  }

  /** Starts the append loop unless it runs (one loop at a time keeps chunks in order). */
  private kick(): void {
    if (this.draining || this.failed) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async settle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.failed) {
      const chunk = this.queue[0]!;
      try {
        const file = await this.openFile();
        await file.write(chunk, 0, chunk.length, HEADER_BYTES + this.dataBytes);
        this.dataBytes += chunk.length;
        this.queue.shift();
        this.failures = 0;
      } catch (err) {
        if (this.failed) return; // given up inside openFile (the file already existed), logged there
        this.failures++;
        if (this.failures === 1) {
          this.log.error({ err, callSid: this.callSid, code: 'CB_STORE_WRITE_FAILED', what: 'recording' }, 'writing the call recording failed; retrying');
        }
        if (this.failures >= MAX_WRITE_FAILURES) {
          this.log.error({ callSid: this.callSid, code: 'CB_STORE_WRITE_FAILED', what: 'recording' }, 'giving up on the call recording');
          this.failed = true;
          this.queue = [];
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** this.failures));
      }
    }
  }

  private async openFile(): Promise<FileHandle> {
    if (this.file) return this.file;
    await mkdir(join(this.path, '..'), { recursive: true });
    // 'wx': a recording is never opened over an existing file (a replayed call must not truncate one).
    let file: FileHandle;
    try {
      file = await open(this.path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.log.error({ callSid: this.callSid, code: 'CB_RECORDING_EXISTS', path: this.relativePath }, 'a recording already exists for this call; the call goes on without recording');
      this.failed = true;
      this.queue = [];
      throw err;
    }
    await file.write(wavHeader(RECORDING_SAMPLE_RATE_HZ, CHANNELS, 0), 0, HEADER_BYTES, 0);
    this.file = file;
    return file;
  }

  private async finish(): Promise<void> {
    if (this.failed) {
      await this.file?.close().catch(() => undefined);
      return;
    }
    try {
      const file = await this.openFile();
      await file.write(wavHeader(RECORDING_SAMPLE_RATE_HZ, CHANNELS, this.dataBytes), 0, HEADER_BYTES, 0);
      await file.close();
    } catch (err) {
      this.log.error({ err, callSid: this.callSid, code: 'CB_STORE_WRITE_FAILED', what: 'recording' }, 'finishing the call recording failed');
    }
    this.file = undefined;
  }
}

/** Starts a recording for a call (nothing touches the disk until the first second settles). */
export function openCallRecording(options: CallRecordingOptions): CallRecording {
  return new CallRecording(options);
}
