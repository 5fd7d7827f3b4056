/**
 * The values of the Pyodide runtime, both ways, on the main thread: a batch crosses into the VM as one JSON text
 * (`JSON.stringify` here, the C scanner of Python's json module there) and its results come back as one JSON text
 * (Python's C encoder, `JSON.parse` here). This is faster than `toPy`/`toJs` (measured: ~2x per item) and, unlike
 * them, gives exactly the value mapping of the contract (toPy turns `null` into `jsnull` and 2^53 into a float, and
 * crashes on a Node `Buffer`). What JSON cannot carry travels as small tagged objects: binary (out of band, as
 * Uint8Array <-> bytes), audio frames (their samples out of band as little-endian f32 bytes, the other fields in the
 * tag; a memoryview of format 'f' there, a Float32Array view here), non-finite numbers and integral numbers beyond
 * 2^53 (which must become Python floats). The
 * Python side of this codec is in src/python/worker/pitlane_pyodide.py.
 */
import { randomBytes } from 'node:crypto';
import { AudioFrame } from '../../core/audio.js';
import { toError } from '../../core/errors.js';
import { audioHeader, frameFromWire, samplesOf } from '../audio-items.js';
import type { PythonCallResult, PythonException } from '../runtime.js';

/**
 * Key of the objects that carry what JSON cannot (binary, some numbers), random per process so that no user data
 * can be mistaken for a tag; the Python side receives it in setup().
 */
export const TAG = `\u0000pitlane-${randomBytes(8).toString('hex')}`;
/** Integral numbers above this magnitude must reach Python as floats, but JSON.stringify writes them as integers. */
const MAX_EXACT_INT = 2 ** 53;
/** From this magnitude on, JSON.stringify uses exponent notation, which Python parses as a float anyway. */
const EXPONENT_FROM = 1e21;

// ---------------------------------------------------------------------------------------------------------------
// Values: JavaScript → Python

/** A batch as JSON text, the binary values it refers to, and the items that cannot be sent at all. */
export interface EncodedBatch {
  readonly payload: string;
  /** Binary values referred to by tags (null: nothing tagged, Python takes the fast path). */
  readonly blobs: Uint8Array[] | null;
  readonly errors: [number, PythonException][];
  readonly count: number;
}

const NO_ERRORS: [number, PythonException][] = [];

export function encodeBatch(items: readonly unknown[]): EncodedBatch {
  try {
    const { payload, blobs } = encodeValues(items);
    return { payload, blobs, errors: NO_ERRORS, count: items.length };
  } catch {
    // An item JSON cannot express (a cycle ...): send null in its place and fail that item alone.
    const blobs: Uint8Array[] = [];
    const errors: [number, PythonException][] = [];
    const parts = items.map((item, i) => {
      try {
        return JSON.stringify([isPlain(item, 0) ? item : tagged(item, blobs, 0)]).slice(1, -1);
      } catch (err) {
        errors.push([
          i,
          {
            type: 'TypeError',
            message: `cannot send this item into a Python node: ${toError(err).message}`,
            traceback: '',
          },
        ]);
        return 'null';
      }
    });
    return { payload: `[${parts.join(',')}]`, blobs, errors, count: items.length };
  }
}

export function encodeValues(value: unknown): { payload: string; blobs: Uint8Array[] | null } {
  if (isPlain(value, 0)) return { payload: JSON.stringify(value), blobs: null };
  const blobs: Uint8Array[] = [];
  return { payload: JSON.stringify(tagged(value, blobs, 0)), blobs };
}

const MAX_DEPTH = 1000;

/** True if JSON.stringify carries the value exactly as the contract maps it (no tags needed). */
function isPlain(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return (
        Number.isFinite(v) &&
        !(Number.isInteger(v) && Math.abs(v) > MAX_EXACT_INT && Math.abs(v) < EXPONENT_FROM)
      );
    case 'object': {
      if (v === null) return true;
      if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply');
      if (ArrayBuffer.isView(v) || v instanceof AudioFrame) return false;
      if (Array.isArray(v)) {
        for (const x of v as unknown[]) if (!isPlain(x, depth + 1)) return false;
        return true;
      }
      for (const x of Object.values(v)) if (!isPlain(x, depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** A copy of v that JSON.stringify can carry, with tags for binary and numbers JSON cannot express. */
function tagged(v: unknown, blobs: Uint8Array[], depth: number): unknown {
  switch (typeof v) {
    case 'number':
      return isPlain(v, depth) ? v : { [TAG]: ['f', String(v)] };
    case 'bigint':
      return { [TAG]: ['i', v.toString()] };
    case 'object': {
      if (v === null) return null;
      if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply');
      if (ArrayBuffer.isView(v)) {
        // A plain Uint8Array view: Pyodide does not know Node's Buffer subclass.
        blobs.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        return { [TAG]: ['b', blobs.length - 1] };
      }
      if (v instanceof AudioFrame) {
        const s = v.samples;
        // The blobs are posted to the VM's thread, which copies each one's whole ArrayBuffer: a frame that views
        // part of a larger buffer (a chunk of a decoded file) sends a copy of its own bytes instead.
        const whole = s.byteOffset === 0 && s.byteLength === s.buffer.byteLength;
        const bytes = whole
          ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength)
          : new Uint8Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength));
        const index = blobs.push(bytes) - 1;
        const metadata = v.metadata === undefined ? null : tagged(v.metadata, blobs, depth + 1);
        return { [TAG]: ['a', index, ...audioHeader(v), metadata] };
      }
      if (Array.isArray(v)) return (v as unknown[]).map((x) => tagged(x, blobs, depth + 1));
      const withJson = v as { toJSON?: unknown };
      if (typeof withJson.toJSON === 'function') return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = tagged(x, blobs, depth + 1);
      return out;
    }
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values: Python → JavaScript

export function batchResults(raw: unknown, batch: EncodedBatch): PythonCallResult[] {
  const results = decodeResults(raw, batch.count);
  for (const [i, error] of batch.errors) results[i] = { ok: false, error };
  return results;
}

type RawResults = [(unknown[] | null)[], [number, string, string, string][]];

/** Turns what `_finish` returned (JSON text, or [text, blobs]) into one result per item. */
export function decodeResults(raw: unknown, count: number): PythonCallResult[] {
  let text: string;
  let blobs: Uint8Array[] | null = null;
  if (typeof raw === 'string') text = raw;
  else if (Array.isArray(raw) && typeof raw[0] === 'string') {
    text = raw[0];
    blobs = raw[1] as Uint8Array[];
  } else throw new Error(`pyodide runtime: unexpected result from Python: ${String(raw)}`);
  const [outputs, errors] = JSON.parse(text) as RawResults;
  const results: PythonCallResult[] = new Array<PythonCallResult>(count);
  for (let i = 0; i < count; i++) {
    const o = outputs[i];
    results[i] = {
      ok: true,
      outputs:
        o === null || o === undefined ? [] : blobs === null ? o : (restoreBlobs(o, blobs) as unknown[]),
    };
  }
  for (const [i, type, message, traceback] of errors)
    results[i] = { ok: false, error: { type, message, traceback } };
  return results;
}

function restoreBlobs(v: unknown, blobs: readonly Uint8Array[]): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) a[i] = restoreBlobs(a[i], blobs);
    return a;
  }
  const o = v as Record<string, unknown>;
  const tag = o[TAG];
  if (typeof tag === 'number' && Object.keys(o).length === 1) {
    const blob = blobs[tag];
    // Buffer, as the CPython runtime gives (a view, no copy).
    return blob === undefined ? o : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  }
  if (Array.isArray(tag) && tag[0] === 'a' && Object.keys(o).length === 1) {
    const blob = blobs[tag[1] as number];
    if (blob === undefined) throw new Error('pyodide runtime: an audio frame without its samples');
    return frameFromWire(samplesOf(blob), [...(tag as unknown[]).slice(2, 6), restoreBlobs(tag[6], blobs)]);
  }
  for (const k of Object.keys(o)) o[k] = restoreBlobs(o[k], blobs);
  return o;
}

export function toException(raw: unknown): PythonException {
  if (Array.isArray(raw) && raw.length === 3) {
    const [type, message, traceback] = raw as unknown[];
    return { type: String(type), message: String(message), traceback: String(traceback) };
  }
  return { type: 'RuntimeError', message: `unexpected result from Python: ${String(raw)}`, traceback: '' };
}

/** A failure of the runtime itself (not of the node's code), as a PythonException. */
export function internalError(err: unknown): PythonException {
  const e = toError(err);
  return {
    type: (e as { type?: unknown }).type === undefined ? e.name : String((e as { type?: unknown }).type),
    message: e.message,
    traceback: '',
  };
}
