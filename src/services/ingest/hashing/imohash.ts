/**
 * imohash (kalafut's sampled 128-bit file hash, algorithm.md in github.com/kalafut/imohash) for
 * exact-duplicate detection of ingested images: a large file costs three 16 KiB samples, not a full read. Not
 * an integrity or security hash: two files of the same size that differ only outside the samples hash the
 * same.
 *
 * It owns the choice of mode, the sampling, the size injection (the protobuf varint of the length
 * overwrites the first bytes of the MurmurHash3_x64_128 digest), and reading the samples of a file with
 * positional reads.
 *
 * Mode: sampled when `s > 0 && t > 0 && L >= t && t > 2s`, else the whole message is hashed. The prose of
 * algorithm.md says `L > t`, but its test vectors (and the Go and Python implementations that produced them)
 * sample from `L >= t`: with s = 16384, a 131072-byte message hashes differently under t = 131072 and
 * t = 131073. We follow the vectors, so hashes match other imohash implementations.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { FileError, toError } from '../../../core/errors.js';
import { murmur3x64128 } from './murmur3.js';

/** Parameters of imohash. */
export interface ImohashOptions {
  /** Bytes in each of the three samples (s). 0 turns sampling off. Default 16384. */
  readonly sampleSize?: number;
  /** Messages of at least this many bytes (t) are sampled; smaller ones are hashed whole. 0 turns sampling
   * off. Sampling also needs t > 2s. Default 131072. */
  readonly sampleThreshold?: number;
}

/** Default sample size (s) of algorithm.md. */
export const IMOHASH_SAMPLE_SIZE = 16384;
/** Default sampling threshold (t) of algorithm.md. */
export const IMOHASH_SAMPLE_THRESHOLD = 131072;

interface Params {
  readonly sampleSize: number;
  readonly sampleThreshold: number;
}

function params(options: ImohashOptions): Params {
  const sampleSize = options.sampleSize ?? IMOHASH_SAMPLE_SIZE;
  const sampleThreshold = options.sampleThreshold ?? IMOHASH_SAMPLE_THRESHOLD;
  for (const [name, value] of [
    ['sampleSize', sampleSize],
    ['sampleThreshold', sampleThreshold],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`imohash ${name} must be a non-negative integer, got ${value}`);
    }
  }
  return { sampleSize, sampleThreshold };
}

/** Whether a message of `length` bytes is sampled (true) or hashed whole. */
function isSampled({ sampleSize: s, sampleThreshold: t }: Params, length: number): boolean {
  return s > 0 && t > 0 && length >= t && t > 2 * s;
}

/** Overwrites the first bytes of `digest` with the unsigned protobuf varint of `length`; returns digest. */
function injectSize(digest: Uint8Array, length: number): Uint8Array {
  let rest = length;
  let i = 0;
  while (rest >= 0x80) {
    digest[i++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  digest[i] = rest;
  return digest;
}

/** Scratch for the samples of `imohashBytes`; grown on demand, reused (the hash is synchronous). */
let sampleScratch = new Uint8Array(3 * IMOHASH_SAMPLE_SIZE);

function scratch(bytes: number): Uint8Array {
  if (sampleScratch.length < bytes) sampleScratch = new Uint8Array(bytes);
  return sampleScratch.subarray(0, bytes);
}

/** imohash of a message in memory: 16 bytes, the length's varint first. */
export function imohashBytes(data: Uint8Array, options: ImohashOptions = {}): Uint8Array {
  const p = params(options);
  const length = data.length;
  if (!isSampled(p, length)) return injectSize(murmur3x64128(data), length);
  const s = p.sampleSize;
  const samples = scratch(3 * s);
  const middle = Math.floor(length / 2);
  samples.set(data.subarray(0, s), 0);
  samples.set(data.subarray(middle, middle + s), s);
  samples.set(data.subarray(length - s, length), 2 * s);
  return injectSize(murmur3x64128(samples), length);
}

/** imohash of a message in memory, as 32 lower-case hex digits. */
export function imohashHex(data: Uint8Array, options: ImohashOptions = {}): string {
  return Buffer.from(imohashBytes(data, options).buffer).toString('hex');
}

/** Reads exactly into[0, into.length) from `position` of the file; a short read means the file shrank. */
async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0)
      throw new Error(`file ended at byte ${position + done} while being hashed; was it changed?`);
    done += bytesRead;
  }
}

/**
 * imohash of a file, as 32 lower-case hex digits. A sampled file costs three positional reads of
 * `sampleSize` bytes (never the whole file); a file below the threshold is read whole. Throws FileError
 * naming the file when it cannot be opened or read.
 */
export async function imohashFile(path: string, options: ImohashOptions = {}): Promise<string> {
  const p = params(options);
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    let message: Uint8Array;
    if (isSampled(p, size)) {
      const s = p.sampleSize;
      message = new Uint8Array(3 * s);
      const middle = Math.floor(size / 2);
      await Promise.all([
        readFully(handle, message.subarray(0, s), 0),
        readFully(handle, message.subarray(s, 2 * s), middle),
        readFully(handle, message.subarray(2 * s), size - s),
      ]);
    } else {
      message = new Uint8Array(size);
      await readFully(handle, message, 0);
    }
    return Buffer.from(injectSize(murmur3x64128(message), size).buffer).toString('hex');
  } catch (thrown) {
    const error = toError(thrown);
    throw new FileError(
      path,
      `cannot be read for imohash (${error.message}); check that it exists and is readable`,
      {
        cause: error,
      },
    );
  } finally {
    await handle?.close();
  }
}
