/**
 * RIFF/WAVE reading and writing for PCM16 (mono or interleaved multi-channel) and, for reading,
 * 8-bit μ-law. Used for prompts, fixtures, the caller simulator's recordings and call recordings.
 */
import { decodeMulaw } from './mulaw.js';

export interface WavAudio {
  sampleRateHz: number;
  channels: number;
  /** Interleaved PCM16 samples. */
  samples: Int16Array;
}

const FORMAT_PCM = 1;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

/** A 44-byte canonical header for `dataBytes` bytes of PCM16. */
export function wavHeader(sampleRateHz: number, channels: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(FORMAT_PCM, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRateHz, 24);
  header.writeUInt32LE(sampleRateHz * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/** Encodes PCM16 (interleaved when channels > 1) as a WAV file. */
export function encodeWav(audio: WavAudio): Buffer {
  const data = Buffer.from(audio.samples.buffer, audio.samples.byteOffset, audio.samples.byteLength);
  return Buffer.concat([wavHeader(audio.sampleRateHz, audio.channels, data.length), data]);
}

/**
 * Decodes a WAV file holding PCM16 or μ-law. Throws a plain error naming what is wrong otherwise.
 * Tolerates extra chunks (LIST, fact…) and a data size of 0 or 0xFFFFFFFF (streamed files).
 */
export function decodeWav(file: Uint8Array): WavAudio {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let format: number | undefined;
  let channels = 0;
  let sampleRateHz = 0;
  let bits = 0;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    let size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = buf.readUInt16LE(body);
      channels = buf.readUInt16LE(body + 2);
      sampleRateHz = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
      if (format === FORMAT_EXTENSIBLE && size >= 26) format = buf.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (format === undefined) throw new Error('WAV data chunk comes before its fmt chunk');
      if (size === 0 || size === 0xffffffff || body + size > buf.length) size = buf.length - body;
      const data = buf.subarray(body, body + size);
      if (format === FORMAT_PCM && bits === 16) {
        const samples = new Int16Array(data.length >> 1);
        for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(2 * i);
        return { sampleRateHz, channels, samples };
      }
      if (format === FORMAT_MULAW && bits === 8) return { sampleRateHz, channels, samples: decodeMulaw(data) };
      throw new Error(`unsupported WAV encoding: format ${format}, ${bits} bits (need PCM16 or μ-law)`);
    }
    offset = body + size + (size & 1);
  }
  throw new Error('WAV file has no data chunk');
}

/** Mixes interleaved multi-channel PCM16 down to mono (average). */
export function toMono(audio: WavAudio): Int16Array {
  if (audio.channels === 1) return audio.samples;
  const frames = Math.floor(audio.samples.length / audio.channels);
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < audio.channels; c++) sum += audio.samples[f * audio.channels + c]!;
    out[f] = Math.round(sum / audio.channels);
  }
  return out;
}
