/**
 * WAV in and out. Reading: the RIFF chunks are walked here first, so that a file that is not a WAV, is cut short,
 * claims more data than it holds (a "4 GB" header on a small file), or has 0 channels or a rate of 0 gets an error
 * that names the file and the problem before any decoder sees it. The samples become f32 in [-1, 1], interleaved:
 * the two common encodings (16-bit PCM and 32-bit float, little-endian) by a loop here, every other one (8/24/32-bit
 * integer PCM, 64-bit float, RIFX, A-law, µ-law, IMA ADPCM) by wavefile, the well-kept decoder. The loop is here
 * because wavefile's conversion to float costs about 4 µs a sample (0.8 s for a 7 s clip, measured), the loop
 * about 1 ns. Float files are checked for NaN and infinite samples, which no node can use.
 *
 * Writing: the header and the sample bytes of 16-bit PCM or 32-bit float WAV, for a writer that streams frames and
 * patches the header's sizes when done (so a long run never holds its audio in memory).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import wavefile from 'wavefile';
import { AudioInputError } from '../core/errors.js';
import { readUserFile } from '../core/user-file.js';

/** Largest WAV file read (it is decoded in memory): longer audio goes through `-i -` as raw PCM, or ffmpeg. */
export const MAX_WAV_FILE_BYTES = 1024 * 1024 * 1024;

/** Decoded audio: interleaved f32 samples and their format. */
export interface DecodedAudio {
  readonly samples: Float32Array;
  readonly sampleRate: number;
  readonly channels: number;
  /** What the file held, for messages and `--stats` (e.g. "16-bit PCM"). */
  readonly encoding: string;
}

/** WAVE format tags this reader knows (WAVE_FORMAT_EXTENSIBLE carries the real one in its sub-format). */
const FORMAT_NAMES: Readonly<Record<number, string>> = {
  1: 'PCM',
  3: 'float',
  6: 'A-law',
  7: 'µ-law',
  17: 'IMA ADPCM',
  0xfffe: 'extensible',
};

/** The parts of a WAV file's header this module checks. */
interface WavLayout {
  /** RIFF (little-endian) rather than RIFX. */
  readonly littleEndian: boolean;
  readonly format: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  readonly dataOffset: number;
  readonly dataBytes: number;
}

/** True when the bytes start like a RIFF/WAVE file. */
export function looksLikeWav(head: Uint8Array): boolean {
  if (head.length < 12) return false;
  const b = Buffer.from(head.buffer, head.byteOffset, 12);
  return (
    (b.toString('latin1', 0, 4) === 'RIFF' || b.toString('latin1', 0, 4) === 'RIFX') &&
    b.toString('latin1', 8, 12) === 'WAVE'
  );
}

/** The first `n` bytes of a file (none when it cannot be read: opening it for real later says why). */
export function readFileHead(path: string, n: number): Uint8Array {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(n);
      return head.subarray(0, readSync(fd, head, 0, n, null));
    } finally {
      closeSync(fd);
    }
  } catch {
    return new Uint8Array(0);
  }
}

/** Reads and decodes a WAV file, or throws an AudioInputError naming the file and the problem. */
export function readWavFile(path: string): DecodedAudio {
  return decodeWav(readUserFile(path, 'audio file', MAX_WAV_FILE_BYTES), path);
}

/**
 * Decodes WAV bytes; `name` is used in errors. `streamed`: the bytes are a program's complete WAV output on a pipe
 * (espeak-ng, ffmpeg), whose header could not give the size: the data runs to the end of the bytes.
 */
export function decodeWav(
  bytes: Buffer,
  name: string,
  options?: { readonly streamed?: boolean },
): DecodedAudio {
  const layout = readLayout(bytes, name, options?.streamed === true);
  const data = bytes.subarray(layout.dataOffset, layout.dataOffset + layout.dataBytes);
  const samples =
    layout.littleEndian && layout.format === 1 && layout.bitsPerSample === 16
      ? s16ToF32(data)
      : layout.littleEndian && layout.format === 3 && layout.bitsPerSample === 32
        ? f32Copy(data)
        : decodeWithWavefile(bytes.subarray(0, layout.dataOffset + layout.dataBytes), layout, name);
  if (layout.format === 3) checkFinite(samples, layout.channels, layout.sampleRate, name);
  return {
    samples,
    sampleRate: layout.sampleRate,
    channels: layout.channels,
    encoding: encodingName(layout),
  };
}

/** 16-bit little-endian PCM to f32 in [-1, 1). */
function s16ToF32(data: Buffer): Float32Array {
  const n = data.length >> 1;
  const ints =
    data.byteOffset % 2 === 0
      ? new Int16Array(data.buffer, data.byteOffset, n)
      : new Int16Array(Uint8Array.from(data).buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (ints[i] as number) / 32768;
  return out;
}

/** Little-endian f32 samples copied into aligned memory. */
function f32Copy(data: Buffer): Float32Array {
  const out = new Float32Array(data.length >> 2);
  new Uint8Array(out.buffer).set(data.subarray(0, out.length * 4));
  return out;
}

/**
 * Every other encoding through wavefile: its samples come in the file's own scale (or as 16-bit after A-law,
 * µ-law and ADPCM decoding) and are scaled here; its own `toBitDepth('32f')` is not used (about 4 µs a sample).
 */
function decodeWithWavefile(file: Buffer, layout: WavLayout, name: string): Float32Array {
  const wav = new wavefile.WaveFile();
  let scale: number;
  let offset = 0;
  try {
    wav.fromBuffer(file);
    if (layout.format === 6 || layout.format === 7 || layout.format === 17) {
      if (layout.format === 6) wav.fromALaw('16');
      else if (layout.format === 7) wav.fromMuLaw('16');
      else wav.fromIMAADPCM('16');
      scale = 32768;
    } else if (layout.format === 3) {
      scale = 1;
    } else if (layout.bitsPerSample === 8) {
      scale = 128; // unsigned: 128 is zero
      offset = -128;
    } else {
      scale = 2 ** (layout.bitsPerSample - 1);
    }
  } catch (e) {
    throw new AudioInputError(name, `the WAV data cannot be decoded: ${(e as Error).message}`, { cause: e });
  }
  const samples = wav.getSamples(true, Float32Array) as unknown as Float32Array;
  if (scale !== 1 || offset !== 0)
    for (let i = 0; i < samples.length; i++) samples[i] = ((samples[i] as number) + offset) / scale;
  return samples;
}

function encodingName(l: WavLayout): string {
  const kind = FORMAT_NAMES[l.format] ?? `format ${l.format}`;
  return l.format === 1 || l.format === 3 ? `${l.bitsPerSample}-bit ${kind}` : kind;
}

/** Walks the RIFF chunks and checks the header against the file; the errors say what a user can check. */
function readLayout(b: Buffer, name: string, streamed: boolean): WavLayout {
  const fail = (message: string): never => {
    throw new AudioInputError(name, message);
  };
  if (b.length < 12) fail(`not a WAV file: ${b.length} bytes, shorter than a RIFF header`);
  if (!looksLikeWav(b)) {
    fail(`not a WAV file: it starts with ${JSON.stringify(b.toString('latin1', 0, 4))}, not "RIFF…WAVE"`);
  }
  const big = b.toString('latin1', 0, 4) === 'RIFX';
  const u16 = (o: number): number => (big ? b.readUInt16BE(o) : b.readUInt16LE(o));
  const u32 = (o: number): number => (big ? b.readUInt32BE(o) : b.readUInt32LE(o));
  let fmt: Omit<WavLayout, 'dataOffset' | 'dataBytes' | 'littleEndian'> | null = null;
  let offset = 12;
  while (offset + 8 <= b.length) {
    const id = b.toString('latin1', offset, offset + 4);
    const size = u32(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > b.length) fail(`the "fmt " chunk is cut short (${size} bytes)`);
      let format = u16(body);
      const channels = u16(body + 2);
      const sampleRate = u32(body + 4);
      const bitsPerSample = u16(body + 14);
      if (format === 0xfffe && size >= 40 && body + 26 <= b.length) format = u16(body + 24);
      if (channels === 0) fail('the header says 0 channels');
      if (sampleRate === 0) fail('the header says a sample rate of 0 Hz');
      if (FORMAT_NAMES[format] === undefined || format === 0xfffe) {
        fail(
          `WAVE format ${format} is not one pitlane decodes (PCM, float, A-law, µ-law, IMA ADPCM); convert it with ffmpeg`,
        );
      }
      if (
        (format === 1 && ![8, 16, 24, 32].includes(bitsPerSample)) ||
        (format === 3 && ![32, 64].includes(bitsPerSample))
      ) {
        fail(
          `${bitsPerSample}-bit ${FORMAT_NAMES[format] ?? ''} samples are not a WAV encoding pitlane decodes`,
        );
      }
      fmt = { format, channels, sampleRate, bitsPerSample };
    } else if (id === 'data') {
      if (fmt === null) fail('the "data" chunk comes before the "fmt " chunk');
      const held = b.length - body;
      const f = fmt as Omit<WavLayout, 'dataOffset' | 'dataBytes' | 'littleEndian'>;
      const frameBytes = (f.bitsPerSample / 8) * f.channels;
      if (streamed && size > held) {
        return { ...f, littleEndian: !big, dataOffset: body, dataBytes: held - (held % frameBytes) };
      }
      if (size > held) {
        fail(
          `truncated: the header announces ${size} bytes of samples but the file holds ${held} after the header` +
            (size === 0xffffffff || size > MAX_WAV_FILE_BYTES ? ' (a streaming or corrupt header)' : ''),
        );
      }
      if ((f.format === 1 || f.format === 3) && size % frameBytes !== 0) {
        fail(`truncated: ${size} bytes of samples is not a whole number of ${frameBytes}-byte frames`);
      }
      return { ...f, littleEndian: !big, dataOffset: body, dataBytes: size };
    }
    offset = body + size + (size % 2);
  }
  return fail(
    fmt === null
      ? 'no "fmt " chunk: the file is cut short or not a WAV'
      : 'no "data" chunk: the file is cut short',
  );
}

/** Refuses NaN and infinite samples, naming the first one's time and channel. */
function checkFinite(samples: Float32Array, channels: number, rate: number, name: string): void {
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    if (v - v !== 0) {
      const frame = Math.floor(i / channels);
      throw new AudioInputError(
        name,
        `sample ${frame} of channel ${i % channels} (at ${(frame / rate).toFixed(6)} s) is ${String(v)}; audio samples must be finite`,
      );
    }
  }
}

/** Sample encodings WAV output is written in. */
export type WavSampleFormat = 's16' | 'f32';

/** Bytes of a canonical 44-byte WAV header. */
export const WAV_HEADER_BYTES = 44;

/**
 * The 44-byte header of a WAV file holding `dataBytes` of samples. A streaming writer writes it with 0 first and
 * again, with the final size, at offset 0 when done.
 */
export function wavHeader(
  format: { readonly sampleRate: number; readonly channels: number },
  sampleFormat: WavSampleFormat,
  dataBytes: number,
): Buffer {
  const bits = sampleFormat === 'f32' ? 32 : 16;
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(sampleFormat === 'f32' ? 3 : 1, 20);
  h.writeUInt16LE(format.channels, 22);
  h.writeUInt32LE(format.sampleRate, 24);
  h.writeUInt32LE((format.sampleRate * format.channels * bits) / 8, 28);
  h.writeUInt16LE((format.channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/** Samples as WAV data bytes: 16-bit PCM (clipped to the range and rounded) or little-endian f32. */
export function wavSampleBytes(samples: Float32Array, sampleFormat: WavSampleFormat): Buffer {
  if (sampleFormat === 'f32') {
    const out = Buffer.allocUnsafe(samples.length * 4);
    for (let i = 0; i < samples.length; i++) out.writeFloatLE(samples[i] as number, i * 4);
    return out;
  }
  const out = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i] as number));
    out.writeInt16LE(Math.round(v < 0 ? v * 32768 : v * 32767), i * 2);
  }
  return out;
}
