import { InferenceInputError } from '../../core/errors.js';
/**
 * Reading the JSON of a KServe v2 body as the protocol needs it: an object whose integer literals beyond ±2^53
 * keep every digit (INT64 / UINT64 data, as on Triton), and the small checks and descriptions the codec's
 * messages use (`must be an object, got an array`). Every problem is an InferenceInputError (HTTP 400).
 */

/** A JSON object of a body. */
export type Json = Record<string, unknown>;

export function parseJsonObject(body: Uint8Array, headerLength: number | undefined, what: string): Json {
  const bytes = headerLength === undefined ? body : body.subarray(0, headerLength);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = parseJsonExact(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new InferenceInputError(
      headerLength === undefined
        ? `the ${what} is not valid JSON (${why}); a body with binary tensor data needs the ` +
            'Inference-Header-Content-Length header'
        : `the JSON header (the first ${headerLength} bytes, per Inference-Header-Content-Length) ` +
            `is not valid JSON: ${why}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InferenceInputError(`the ${what} must be a JSON object, got ${kindOf(value)}`);
  }
  return value as Json;
}

/**
 * Marks an integer literal JSON.parse would round (beyond ±2^53): parseJsonExact turns it into this character
 * followed by its digits, so INT64 / UINT64 data keeps every digit (as on Triton). A private-use character no
 * client puts at the start of a string.
 */
const EXACT = '\uE000';
const LONG_INTEGER = /(?<![\d.])-?\d{16,}(?![\d.eE])/;

/** JSON.parse, except that integer literals beyond ±2^53 become EXACT-marked strings of their digits. */
export function parseJsonExact(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  let out = '';
  let copied = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) continue;
    let j = c === 0x2d ? i + 1 : i;
    while (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
    const next = text.charCodeAt(j);
    const literal = text.slice(i, j);
    if (next !== 0x2e && next !== 0x65 && next !== 0x45 && !Number.isSafeInteger(Number(literal))) {
      out += `${text.slice(copied, i)}"${EXACT}${literal}"`;
      copied = j;
    }
    // Skip the rest of the number (fraction, exponent) as a whole.
    while (j < text.length && /[0-9.eE+-]/.test(text.charAt(j))) j++;
    i = j - 1;
  }
  return JSON.parse(out + text.slice(copied));
}

/** What parseJsonExact makes of a long integer literal. */
const EXACT_INTEGER = /^\uE000-?\d+$/;

/**
 * A long integer of the JSON, as parseJsonExact kept it. Only the marker followed by digits: a client's own
 * string that starts with the marker is text (a string of exactly that form cannot be told apart, and is read
 * as the integer it spells).
 */
export function exactInteger(v: unknown): bigint | null {
  return typeof v === 'string' && EXACT_INTEGER.test(v) ? BigInt(v.slice(1)) : null;
}

/** A JSON string (not a long integer parseJsonExact turned into one). */
export function isText(v: unknown): v is string {
  return typeof v === 'string' && !EXACT_INTEGER.test(v);
}

export function objectAt(raw: unknown, where: string): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InferenceInputError(`${where} must be an object, got ${kindOf(raw)}`);
  }
  return raw as Json;
}

export function optionalObject(raw: unknown, where: string): Json | undefined {
  if (raw === undefined) return undefined;
  return objectAt(raw, where);
}

export function optionalBoolean(raw: unknown, where: string): boolean | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'boolean')
    throw new InferenceInputError(`${where} must be true or false, got ${show(raw)}`);
  return raw;
}

export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (exactInteger(v) !== null) return 'a number';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export function show(v: unknown): string {
  const long = exactInteger(v);
  if (long !== null) return String(long);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}
