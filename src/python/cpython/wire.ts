/**
 * The wire format between the CPython runtime and its workers (the reference is the module docstring of
 * src/python/worker/pitlane_worker.py): frames of a 4-byte big-endian payload length, a 1-byte kind and the
 * payload. pitlane sends S(tart), B(atch), F(lush), C(lose); the worker answers R(eady) or I(nit error),
 * r(esults), L(og) and D(one). Values travel as a value block: the length of a UTF-8 JSON text, the text, then the
 * raw bytes of every binary value, which the JSON refers to as {"\u0000b": [offset, length]} (an object of the
 * data with exactly one such key is escaped as {"\u0000o": object}). Both sides look for those markers only when
 * the text contains `\u0000`, so plain JSON costs one substring search per frame. An AudioFrame travels as
 * {"\u0000a": [offset, length, sample_rate, channels, stream_id, timestamp_us, metadata]} with its samples as raw
 * little-endian f32 bytes, 8-byte aligned (the writer pads the JSON text with spaces), so that each side views them
 * in place: numpy there, a Float32Array here.
 *
 * This module owns the encoding and decoding of frames and values, and the reassembly of frames from the chunks
 * of the worker's stdout; it does no I/O.
 */
import { AudioFrame, f32leBytes } from '../../core/audio.js';
import { audioHeader, frameFromWire, samplesOf } from '../audio-items.js';
import type { PythonException } from '../runtime.js';

// Frame kinds (ASCII letters, readable in a hex dump).
export const K_START = 0x53; // S
export const K_BATCH = 0x42; // B
export const K_FLUSH = 0x46; // F
export const K_CLOSE = 0x43; // C
export const K_READY = 0x52; // R
export const K_INIT_ERROR = 0x49; // I
export const K_RESULTS = 0x72; // r
export const K_LOG = 0x4c; // L
export const K_DONE = 0x44; // D
export const HEADER_BYTES = 5;

const BIN_KEY = '\u0000b';
const ESC_KEY = '\u0000o';
const AUDIO_KEY = '\u0000a';
const MARKER_ESCAPE = '\\u0000';

/** Whether a value contains binary data (which JSON.stringify cannot carry). */
function containsBinary(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof Uint8Array || value instanceof AudioFrame) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (containsBinary(v)) return true;
    return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const v of Object.values(value)) if (containsBinary(v)) return true;
  return false;
}

/** The binary values of one value block; `aligned` once audio samples were placed at 8-byte offsets. */
interface Segments {
  parts: Uint8Array[];
  size: number;
  aligned: boolean;
}

/** A copy of `value` with binary data replaced by markers (bytes appended to `segments`) and marker keys escaped. */
function toWire(value: unknown, segments: Segments): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) {
    const ref = { [BIN_KEY]: [segments.size, value.byteLength] };
    segments.parts.push(value);
    segments.size += value.byteLength;
    return ref;
  }
  if (value instanceof AudioFrame) {
    const pad = -segments.size & 7;
    if (pad > 0) {
      segments.parts.push(Buffer.alloc(pad));
      segments.size += pad;
    }
    segments.aligned = true;
    const bytes = f32leBytes(value.samples);
    const offset = segments.size;
    segments.parts.push(bytes);
    segments.size += bytes.byteLength;
    const metadata = value.metadata === undefined ? null : toWire(value.metadata, segments);
    return { [AUDIO_KEY]: [offset, bytes.byteLength, ...audioHeader(value), metadata] };
  }
  if (Array.isArray(value)) return value.map((v: unknown) => toWire(v, segments));
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (const key of keys) out[key] = toWire((value as Record<string, unknown>)[key], segments);
  return keys.length === 1 && (keys[0] === BIN_KEY || keys[0] === ESC_KEY || keys[0] === AUDIO_KEY)
    ? { [ESC_KEY]: out }
    : out;
}

/** A frame whose payload is a value block of `value`. */
export function valueFrame(kind: number, value: unknown): Buffer {
  let json: string | undefined;
  let parts: readonly Uint8Array[] = [];
  let binaryBytes = 0;
  if (!containsBinary(value)) {
    json = JSON.stringify(value);
    if (json.includes(MARKER_ESCAPE)) json = undefined;
  }
  if (json === undefined) {
    const segments: Segments = { parts: [], size: 0, aligned: false };
    json = JSON.stringify(toWire(value, segments));
    parts = segments.parts;
    binaryBytes = segments.size;
    // Audio samples 8-byte aligned from the payload's start (the worker reads each payload into its own buffer).
    if (segments.aligned) json += ' '.repeat(-(4 + Buffer.byteLength(json)) & 7);
  }
  const jsonBytes = Buffer.byteLength(json);
  const payloadBytes = 4 + jsonBytes + binaryBytes;
  if (payloadBytes > 0xffff_ffff) throw new RangeError('a message to the Python worker is larger than 4 GiB');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  frame[4] = kind;
  frame.writeUInt32BE(jsonBytes, 5);
  frame.write(json, 9, 'utf8');
  let offset = 9 + jsonBytes;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.byteLength;
  }
  return frame;
}

export function emptyFrame(kind: number): Buffer {
  const frame = Buffer.alloc(HEADER_BYTES);
  frame[4] = kind;
  return frame;
}

/** Something on the channel that breaks the protocol. */
export class ProtocolViolation extends Error {}

/**
 * The value of a value block; binary values become Buffers (copies, not views of the frame), audio frames
 * AudioFrames whose samples view the frame when aligned (the worker aligns them; FrameReader starts every frame
 * that spans chunks at the start of a buffer).
 */
export function decodeValueBlock(payload: Buffer): unknown {
  if (payload.length < 4) throw new ProtocolViolation('a value block shorter than its length field');
  const jsonBytes = payload.readUInt32BE(0);
  if (4 + jsonBytes > payload.length) throw new ProtocolViolation('a value block shorter than its JSON text');
  const text = payload.toString('utf8', 4, 4 + jsonBytes);
  const value = parseJson(text);
  return text.includes(MARKER_ESCAPE) ? fromWire(value, payload.subarray(4 + jsonBytes)) : value;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolViolation(`a frame that is not JSON: ${preview(Buffer.from(text))}`);
  }
}

function fromWire(value: unknown, area: Buffer): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => fromWire(v, area));
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const ref = record[BIN_KEY];
    if (ref !== undefined) {
      const [offset, length] = Array.isArray(ref) ? (ref as unknown[]) : [];
      if (typeof offset !== 'number' || typeof length !== 'number' || offset + length > area.length) {
        throw new ProtocolViolation('a binary value outside its frame');
      }
      return Buffer.from(area.subarray(offset, offset + length));
    }
    const audio = record[AUDIO_KEY];
    if (audio !== undefined) return audioFromWire(audio, area);
    const escaped = record[ESC_KEY];
    if (escaped !== undefined) return mapValues(escaped as Record<string, unknown>, area);
  }
  return mapValues(record, area);
}

function audioFromWire(ref: unknown, area: Buffer): AudioFrame {
  const fields = Array.isArray(ref) ? (ref as unknown[]) : [];
  const [offset, length] = fields;
  if (typeof offset !== 'number' || typeof length !== 'number' || offset + length > area.length) {
    throw new ProtocolViolation('an audio frame outside its frame');
  }
  try {
    const samples = samplesOf(area.subarray(offset, offset + length));
    return frameFromWire(samples, [...fields.slice(2, 6), fromWire(fields[6] ?? null, area)]);
  } catch (e) {
    throw new ProtocolViolation(e instanceof Error ? e.message : String(e));
  }
}

function mapValues(record: Record<string, unknown>, area: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) out[key] = fromWire(record[key], area);
  return out;
}

/** The first bytes of unexpected data, for an error message. */
export function preview(data: Buffer): string {
  const head = data.subarray(0, 32).toString('latin1');
  return JSON.stringify(data.length > 32 ? `${head}...` : head);
}

export function isException(value: unknown): value is PythonException {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && typeof v.message === 'string' && typeof v.traceback === 'string';
}

/** Why an item cannot be sent to Python (JSON.stringify throws for BigInt values and cycles), or null. */
export function encodingProblem(item: unknown): PythonException | null {
  try {
    JSON.stringify(item); // names the problem better than a stack overflow in containsBinary() would
    valueFrame(K_BATCH, [item]);
    return null;
  } catch (e) {
    const message = `cannot send this item to a Python node: ${e instanceof Error ? e.message : String(e)}`;
    return { type: 'TypeError', message, traceback: '' };
  }
}

export function isWorkerFrameKind(kind: number): boolean {
  return kind === K_RESULTS || kind === K_LOG || kind === K_READY || kind === K_INIT_ERROR || kind === K_DONE;
}

/** Reassembles the frames of a worker's stdout from its chunks. */
export class FrameReader {
  // Chunks not yet parsed, and how many bytes the next step needs.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = HEADER_BYTES;

  /** `maxFrameBytes`: a frame longer than this is taken for garbage on the channel. */
  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Adds a chunk and calls `onFrame` for every frame it completes, in order. Throws ProtocolViolation (and forgets
   * what it held) for data that is not a frame, or when `onFrame` throws it.
   */
  push(chunk: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return;
    const data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    this.need = HEADER_BYTES;
    try {
      while (data.length - offset >= HEADER_BYTES) {
        const size = data.readUInt32BE(offset);
        const kind = data[offset + 4] ?? 0;
        if (!isWorkerFrameKind(kind) || size > this.maxFrameBytes) {
          throw new ProtocolViolation(`unexpected data on the channel: ${preview(data.subarray(offset))}`);
        }
        if (data.length - offset - HEADER_BYTES < size) {
          this.need = HEADER_BYTES + size;
          break;
        }
        const payload = data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + size);
        offset += HEADER_BYTES + size;
        onFrame(kind, payload);
      }
    } catch (e) {
      if (e instanceof ProtocolViolation) {
        this.chunks = [];
        this.buffered = 0;
      }
      throw e;
    }
    this.chunks = offset === data.length ? [] : [data.subarray(offset)];
    this.buffered = data.length - offset;
  }
}
