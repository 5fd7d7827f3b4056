/**
 * The KServe v2 (Open Inference Protocol) HTTP/REST body format, with Triton's binary tensor data extension:
 * pure functions that turn request and response bodies into pitlane's tensors and back, for the model server
 * (parse a request, encode a response) and for its client (encode a request, decode a response).
 *
 * A body is either JSON alone, or a JSON header followed by raw tensor bytes: then the
 * `Inference-Header-Content-Length` HTTP header gives the JSON's length, and every tensor sent as bytes
 * carries `parameters.binary_data_size`; the bytes follow the JSON in the order the tensors are listed
 * (little-endian, row-major, no padding; BOOL one byte per element). JSON `data` may be flat (row-major) or
 * nested. Outputs come back as bytes when the request asks with `parameters.binary_data_output` (all outputs)
 * or an output's `parameters.binary_data` (that one; it overrides the former). FP16 travels only as bytes, as
 * on Triton.
 *
 * Every malformed body throws InferenceInputError (HTTP 400) whose message names the tensor, where it is in
 * the JSON (`inputs[1] 'images'`) and what is wrong.
 */
import {
  DATATYPE_BYTES,
  InferenceInputError,
  TENSOR_DATATYPES,
  allocTensorData,
  isTensorDataType,
  shapeSize,
  tensorBytes,
  tensorDataFromBytes,
  type InferenceRequest,
  type InferenceResult,
  type Tensor,
  type TensorData,
  type TensorDataType,
} from '../tensor/tensor.js';

/** The HTTP header giving the length of the JSON part of a body that carries binary tensor data. */
export const INFERENCE_HEADER = 'inference-header-content-length';

/** Which outputs go back as binary data: every one, none, or those named. */
export type BinaryOutputs = 'all' | 'none' | ReadonlySet<string>;

/** An inference request as the server reads it. */
export interface ParsedInferRequest {
  readonly id?: string;
  readonly inputs: Tensor[];
  /** The outputs asked for, by name (absent: all of the model's outputs). */
  readonly outputs?: string[];
  readonly binaryOutputs: BinaryOutputs;
}

/**
 * A body ready to send: its bytes, the length of its JSON part when binary data follows, its content type.
 */
export interface EncodedBody {
  readonly body: Buffer;
  /** For the `Inference-Header-Content-Length` header; absent when the body is JSON alone. */
  readonly headerLength?: number;
  readonly contentType: 'application/json' | 'application/octet-stream';
}

/**
 * How the client sends a request: tensors as binary data (or JSON), outputs asked for as binary (or JSON).
 */
export interface EncodeRequestOptions {
  readonly binaryInputs: boolean;
  readonly binaryOutputs: boolean;
}

/** The binary extension is little-endian; typed arrays are in the host's order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const ALIASES: Readonly<Record<string, TensorDataType>> = {
  FLOAT: 'FP32',
  FLOAT32: 'FP32',
  FLOAT16: 'FP16',
  HALF: 'FP16',
  FLOAT64: 'FP64',
  DOUBLE: 'FP64',
  BOOLEAN: 'BOOL',
  INT: 'INT32',
  LONG: 'INT64',
  BYTE: 'INT8',
  UBYTE: 'UINT8',
};

const INT64_RANGE = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64_RANGE = [0n, 2n ** 64n - 1n] as const;

const INT_RANGE: Partial<Record<TensorDataType, readonly [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
};

type Json = Record<string, unknown>;

// -----------------------------------------------------------------------------------------------------------
// Headers

/**
 * The value of the `Inference-Header-Content-Length` header, checked against the body: undefined when the
 * header is absent (the body is JSON alone).
 */
export function parseHeaderLength(
  value: string | readonly string[] | undefined,
  bodyBytes: number,
): number | undefined {
  if (value === undefined) return undefined;
  const text = (typeof value === 'string' ? value : value.join(',')).trim();
  if (!/^\d+$/.test(text)) {
    throw new InferenceInputError(
      `Inference-Header-Content-Length must be the length of the JSON header in bytes, got '${text}'`,
    );
  }
  const n = Number(text);
  if (n > bodyBytes) {
    throw new InferenceInputError(`header length ${n} is larger than the body (${bodyBytes} bytes)`);
  }
  if (n === 0) {
    throw new InferenceInputError(
      'Inference-Header-Content-Length is 0: a body without a JSON header (raw binary input) ' +
        'is not supported',
    );
  }
  return n;
}

// -----------------------------------------------------------------------------------------------------------
// Requests (server side)

/**
 * Reads an inference request body. `headerLength` is the `Inference-Header-Content-Length` (see
 * parseHeaderLength): the first `headerLength` bytes are the JSON and the rest the binary tensor data;
 * without it the whole body is JSON. Binary tensors are views of `body` (copied only when not aligned for
 * their type).
 */
export function parseInferRequest(body: Uint8Array, headerLength?: number): ParsedInferRequest {
  const request = parseJsonObject(body, headerLength, 'request');
  const binary = new BinaryReader(body, headerLength);

  const id = request.id;
  if (id !== undefined && !isText(id)) {
    throw new InferenceInputError(`id must be a string, got ${kindOf(id)}`);
  }
  const parameters = optionalObject(request.parameters, 'parameters');
  const defaultBinary = optionalBoolean(parameters?.binary_data_output, 'parameters.binary_data_output');

  if (!Array.isArray(request.inputs)) {
    throw new InferenceInputError(
      request.inputs === undefined
        ? 'inputs is missing'
        : `inputs must be an array, got ${kindOf(request.inputs)}`,
    );
  }
  const inputs: Tensor[] = [];
  const seen = new Set<string>();
  (request.inputs as unknown[]).forEach((raw, i) => {
    const t = readTensor(raw, `inputs[${i}]`, 'input', binary);
    if (seen.has(t.name)) throw new InferenceInputError(`inputs[${i}]: input '${t.name}' is given twice`);
    seen.add(t.name);
    inputs.push(t);
  });
  binary.finish();

  if (request.outputs === undefined) {
    const result = { inputs, binaryOutputs: defaultBinary === true ? 'all' : 'none' } as const;
    return id === undefined ? result : { id, ...result };
  }
  if (!Array.isArray(request.outputs)) {
    throw new InferenceInputError(`outputs must be an array, got ${kindOf(request.outputs)}`);
  }
  const outputs: string[] = [];
  const binaryOutputs = new Set<string>();
  (request.outputs as unknown[]).forEach((raw, i) => {
    const where = `outputs[${i}]`;
    const o = objectAt(raw, where);
    if (!isText(o.name) || o.name === '') {
      throw new InferenceInputError(`${where}: name must be a non-empty string, got ${kindOf(o.name)}`);
    }
    const name = o.name;
    const p = optionalObject(o.parameters, `${where} '${name}': parameters`);
    if (p?.shared_memory_region !== undefined) {
      throw new InferenceInputError(`${where} '${name}': shared memory is not supported by this server`);
    }
    if (p?.classification !== undefined) {
      throw new InferenceInputError(
        `${where} '${name}': the classification extension is not supported by this server`,
      );
    }
    const wantsBinary = optionalBoolean(p?.binary_data, `${where} '${name}': parameters.binary_data`);
    if (outputs.includes(name))
      throw new InferenceInputError(`${where}: output '${name}' is asked for twice`);
    outputs.push(name);
    if (wantsBinary ?? defaultBinary === true) binaryOutputs.add(name);
  });
  const result = { inputs, outputs, binaryOutputs };
  return id === undefined ? result : { id, ...result };
}

// -----------------------------------------------------------------------------------------------------------
// Responses (server side)

/**
 * Encodes an inference result: the outputs `binaryOutputs` names go as binary data after the JSON header
 * (`parameters.binary_data_size` each), the others as flat JSON `data`. Throws InferenceInputError when an
 * FP16 output is to go as JSON (JSON has no 16-bit float: ask for it as binary).
 */
export function encodeInferResponse(result: InferenceResult, binaryOutputs: BinaryOutputs): EncodedBody {
  const isBinary = (name: string): boolean =>
    binaryOutputs === 'all' ? true : binaryOutputs === 'none' ? false : binaryOutputs.has(name);
  const parts: string[] = [];
  const chunks: Uint8Array[] = [];
  result.outputs.forEach((t, i) => {
    const head = tensorHead(t);
    if (isBinary(t.name)) {
      const bytes = binaryBytes(t, `outputs[${i}]`);
      chunks.push(bytes);
      parts.push(`${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`);
    } else {
      if (t.datatype === 'FP16') {
        throw new InferenceInputError(
          `output '${t.name}' is FP16, which JSON cannot carry: ask for it as binary data ` +
            `(outputs[].parameters.binary_data: true, or parameters.binary_data_output: true)`,
        );
      }
      parts.push(`${head},"data":${jsonData(t.data, t.datatype)}}`);
    }
  });
  const name = JSON.stringify(result.modelName);
  let json = `{"model_name":${name},"model_version":${JSON.stringify(result.modelVersion)}`;
  if (result.id !== undefined) json += `,"id":${JSON.stringify(result.id)}`;
  json += `,"outputs":[${parts.join(',')}]}`;
  return assemble(json, chunks);
}

// -----------------------------------------------------------------------------------------------------------
// Requests (client side)

/**
 * Encodes an inference request for any KServe v2 server. With `binaryInputs` every input goes as binary data
 * (FP16 inputs always do: JSON cannot carry them); with `binaryOutputs` the outputs are asked for as binary
 * (per output when `request.outputs` names them, else with `parameters.binary_data_output`).
 */
export function encodeInferRequest(request: InferenceRequest, options: EncodeRequestOptions): EncodedBody {
  const parts: string[] = [];
  const chunks: Uint8Array[] = [];
  request.inputs.forEach((t, i) => {
    const head = tensorHead(t);
    if (options.binaryInputs || t.datatype === 'FP16') {
      const bytes = binaryBytes(t, `inputs[${i}]`);
      chunks.push(bytes);
      parts.push(`${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`);
    } else {
      checkLength(t, `inputs[${i}] '${t.name}'`);
      parts.push(`${head},"data":${jsonData(t.data, t.datatype)}}`);
    }
  });
  let json = '{';
  if (request.id !== undefined) json += `"id":${JSON.stringify(request.id)},`;
  json += `"inputs":[${parts.join(',')}]`;
  if (request.outputs !== undefined) {
    const p = options.binaryOutputs ? ',"parameters":{"binary_data":true}' : '';
    json += `,"outputs":[${request.outputs.map((name) => `{"name":${JSON.stringify(name)}${p}}`).join(',')}]`;
  } else if (options.binaryOutputs) {
    json += ',"parameters":{"binary_data_output":true}';
  }
  json += '}';
  return assemble(json, chunks);
}

// -----------------------------------------------------------------------------------------------------------
// Responses (client side)

/**
 * Reads an inference response body (`headerLength` from its `Inference-Header-Content-Length` header, if
 * any). `fallback` fills `model_name` / `model_version` when the server leaves them out (the version is
 * optional in the protocol). Throws InferenceInputError naming the output when the body is malformed.
 */
export function decodeInferResponse(
  body: Uint8Array,
  headerLength: number | undefined,
  fallback: { readonly modelName: string; readonly modelVersion: string },
): InferenceResult {
  const response = parseJsonObject(body, headerLength, 'response');
  const binary = new BinaryReader(body, headerLength);
  if (!Array.isArray(response.outputs)) {
    throw new InferenceInputError(`outputs must be an array, got ${kindOf(response.outputs)}`);
  }
  const outputs = (response.outputs as unknown[]).map((raw, i) =>
    readTensor(raw, `outputs[${i}]`, 'output', binary),
  );
  binary.finish();
  const modelName = isText(response.model_name) ? response.model_name : fallback.modelName;
  const modelVersion = isText(response.model_version) ? response.model_version : fallback.modelVersion;
  const result = { modelName, modelVersion, outputs };
  return isText(response.id) && response.id !== '' ? { ...result, id: response.id } : result;
}

// -----------------------------------------------------------------------------------------------------------
// Body assembly

/**
 * Collects a body's chunks into one buffer, placed so that the binary part (after a JSON header of
 * `headerLength` bytes) starts 8-byte aligned, so the tensors can be viewed without another copy. When the
 * length is known (Content-Length), the buffer grows by doubling up to it as bytes arrive, never beyond what
 * arrived: a client that claims a large body and sends a few bytes costs a few bytes, not the claimed size.
 * `push` returns false once more than `limit` bytes arrived.
 */
export class BodyAssembler {
  /** Smallest buffer allocated for a body of known length (bytes). */
  static readonly INITIAL_BYTES = 64 * 1024;
  private buffer: Uint8Array | null;
  private readonly chunks: Uint8Array[] = [];
  private received = 0;

  constructor(
    private readonly expectedBytes: number | undefined,
    private readonly headerLength: number | undefined,
    private readonly limit: number,
  ) {
    this.buffer =
      expectedBytes !== undefined && expectedBytes <= limit
        ? this.allocate(Math.min(expectedBytes, BodyAssembler.INITIAL_BYTES))
        : null;
  }

  /** Bytes received so far. */
  get receivedBytes(): number {
    return this.received;
  }

  /** Adds a chunk; false when the body is now over the limit (the caller stops reading). */
  push(chunk: Uint8Array): boolean {
    const end = this.received + chunk.byteLength;
    if (end > this.limit) return false;
    if (this.buffer !== null) {
      const expected = this.expectedBytes as number;
      if (end > expected) {
        throw new InferenceInputError(`the body is longer than its Content-Length (${expected} bytes)`);
      }
      if (end > this.buffer.byteLength) {
        const grown = this.allocate(Math.min(expected, Math.max(end, 2 * this.buffer.byteLength)));
        grown.set(this.buffer.subarray(0, this.received));
        this.buffer = grown;
      }
      this.buffer.set(chunk, this.received);
    } else {
      this.chunks.push(chunk);
    }
    this.received = end;
    return true;
  }

  /** The body. Throws InferenceInputError when it is shorter than its Content-Length. */
  finish(): Uint8Array {
    if (this.buffer !== null) {
      const expected = this.expectedBytes as number;
      if (this.received !== expected) {
        throw new InferenceInputError(
          `the body ended after ${this.received} of its ${expected} bytes (Content-Length)`,
        );
      }
      return this.buffer.subarray(0, this.received);
    }
    const out = this.allocate(this.received);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    this.chunks.length = 0;
    return out;
  }

  private allocate(n: number): Uint8Array {
    const pad = this.headerLength === undefined ? 0 : (8 - (this.headerLength % 8)) % 8;
    return Buffer.allocUnsafeSlow(n + pad).subarray(pad, pad + n);
  }
}

// -----------------------------------------------------------------------------------------------------------
// Internals

/** Hands out the binary part of a body, tensor by tensor, in order. */
class BinaryReader {
  private offset: number;

  constructor(
    private readonly body: Uint8Array,
    private readonly headerLength: number | undefined,
  ) {
    this.offset = headerLength ?? body.byteLength;
  }

  take(size: number, name: string, where: string): Uint8Array {
    if (this.headerLength === undefined) {
      throw new InferenceInputError(
        `${where} '${name}' has parameters.binary_data_size but the body has no binary part ` +
          '(send the Inference-Header-Content-Length header with the length of the JSON)',
      );
    }
    const remain = this.body.byteLength - this.offset;
    if (size > remain) {
      throw new InferenceInputError(
        `binary_data_size of '${name}' (${where}) is ${size} but ${remain} bytes remain in the body`,
      );
    }
    // A plain Uint8Array view: tensorDataFromBytes copies misaligned bytes with slice(), which on a Buffer
    // would be another view.
    const bytes = new Uint8Array(this.body.buffer, this.body.byteOffset + this.offset, size);
    this.offset += size;
    return bytes;
  }

  finish(): void {
    const extra = this.body.byteLength - this.offset;
    if (extra > 0) {
      throw new InferenceInputError(
        `${extra} bytes of binary data follow the tensors' binary_data_size ` +
          '(the body has more than they claim)',
      );
    }
  }
}

function parseJsonObject(body: Uint8Array, headerLength: number | undefined, what: string): Json {
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
function parseJsonExact(text: string): unknown {
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
function exactInteger(v: unknown): bigint | null {
  return typeof v === 'string' && EXACT_INTEGER.test(v) ? BigInt(v.slice(1)) : null;
}

/** A JSON string (not a long integer parseJsonExact turned into one). */
function isText(v: unknown): v is string {
  return typeof v === 'string' && !EXACT_INTEGER.test(v);
}

/** One input or output tensor of a body (`where` e.g. `inputs[1]`). */
function readTensor(raw: unknown, where: string, role: 'input' | 'output', binary: BinaryReader): Tensor {
  const t = objectAt(raw, where);
  if (!isText(t.name) || t.name === '') {
    throw new InferenceInputError(
      t.name === undefined
        ? `${where}: name is missing`
        : `${where}: name must be a non-empty string, got ${kindOf(t.name)}`,
    );
  }
  const name = t.name;
  const at = `${where} '${name}'`;
  const datatype = readDatatype(t.datatype, name, role, at);
  const shape = readShape(t.shape, at);
  const p = optionalObject(t.parameters, `${at}: parameters`);
  if (p?.shared_memory_region !== undefined) {
    throw new InferenceInputError(`${at}: shared memory is not supported by this server`);
  }
  const size = p?.binary_data_size;
  const count = shapeSize(shape);

  if (size !== undefined) {
    if (t.data !== undefined) {
      throw new InferenceInputError(`${at}: give either data or parameters.binary_data_size, not both`);
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new InferenceInputError(
        `${at}: parameters.binary_data_size must be a whole number of bytes, got ${show(size)}`,
      );
    }
    const needed = count * DATATYPE_BYTES[datatype];
    if (size !== needed) {
      throw new InferenceInputError(
        `${at}: binary_data_size is ${size} but shape [${shape.join(',')}] of ${datatype} is ${needed} bytes`,
      );
    }
    const bytes = binary.take(size, name, where);
    return { name, datatype, shape, data: tensorDataFromBytes(datatype, bytes) };
  }

  if (t.data === undefined) {
    throw new InferenceInputError(
      `${at}: data is missing (give data, or parameters.binary_data_size with the bytes after the JSON)`,
    );
  }
  if (datatype === 'FP16') {
    throw new InferenceInputError(
      `${at}: FP16 data cannot be sent as JSON (JSON has no 16-bit float); send it as binary data ` +
        '(parameters.binary_data_size and the Inference-Header-Content-Length header)',
    );
  }
  if (!Array.isArray(t.data)) {
    throw new InferenceInputError(`${at}: data must be an array, got ${kindOf(t.data)}`);
  }
  const found = countLeaves(t.data, at);
  if (found !== count) {
    throw new InferenceInputError(
      `${at}: shape [${shape.join(',')}] holds ${count} elements, data has ${found}`,
    );
  }
  const data = allocTensorData(datatype, count);
  fillFromJson(t.data, data, datatype, at);
  return { name, datatype, shape, data };
}

function readDatatype(value: unknown, name: string, role: string, at: string): TensorDataType {
  if (value === undefined) throw new InferenceInputError(`${at}: datatype is missing`);
  if (!isText(value)) {
    throw new InferenceInputError(`${at}: datatype must be a string, got ${kindOf(value)}`);
  }
  if (isTensorDataType(value)) return value;
  const list = TENSOR_DATATYPES.join(', ');
  if (value === 'BYTES' || value === 'BF16') {
    throw new InferenceInputError(
      `datatype ${value} of ${role} '${name}' is not supported by pitlane (its models take ${list})`,
    );
  }
  const alias =
    ALIASES[value.toUpperCase()] ?? (isTensorDataType(value.toUpperCase()) ? value.toUpperCase() : null);
  const hint = alias === null ? `use one of ${list}` : `use ${alias}; the datatypes are ${list}`;
  throw new InferenceInputError(`unknown datatype '${value}' of ${role} '${name}' (${hint})`);
}

function readShape(value: unknown, at: string): number[] {
  if (value === undefined) throw new InferenceInputError(`${at}: shape is missing`);
  if (!Array.isArray(value)) {
    throw new InferenceInputError(`${at}: shape must be an array of dimensions, got ${kindOf(value)}`);
  }
  const dims = value as unknown[];
  dims.forEach((d, k) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      const why =
        exactInteger(d) !== null
          ? 'too large'
          : typeof d === 'number' && d < 0
            ? 'negative'
            : 'not a whole number';
      throw new InferenceInputError(
        `${at}: shape[${k}] is ${show(d)}, ${why}; ` +
          'dimensions are whole numbers ≥ 0 (-1 is for metadata only)',
      );
    }
  });
  return dims as number[];
}

/**
 * Calls `visit` on each scalar of nested JSON arrays, in row-major order. No recursion: the data may be nested
 * as deep as the body allows (10^5 levels in a few hundred kB), far beyond the call stack.
 */
function forEachLeaf(data: unknown[], visit: (v: unknown) => void): void {
  const arrays: unknown[][] = [data];
  const next: number[] = [0];
  for (let top = 0; top >= 0;) {
    const arr = arrays[top] as unknown[];
    const i = next[top] as number;
    if (i >= arr.length) {
      arrays.pop();
      next.pop();
      top--;
      continue;
    }
    next[top] = i + 1;
    const v = arr[i];
    if (Array.isArray(v)) {
      arrays.push(v);
      next.push(0);
      top++;
    } else {
      visit(v);
    }
  }
}

/** Number of scalar leaves of nested JSON arrays; throws on objects, strings... anywhere. */
function countLeaves(data: unknown[], at: string): number {
  let n = 0;
  forEachLeaf(data, (v) => {
    if (v !== null && typeof v === 'object') {
      throw new InferenceInputError(`${at}: data holds an object; expected numbers (or booleans for BOOL)`);
    }
    n++;
  });
  return n;
}

/** Writes nested or flat JSON data into `out` in row-major order, checking each element's type and range. */
function fillFromJson(data: unknown[], out: TensorData, datatype: TensorDataType, at: string): void {
  let i = 0;
  const bad = (v: unknown, expected: string): never => {
    throw new InferenceInputError(`${at}: data[${i}] is ${show(v)}, expected ${expected}`);
  };
  const put = (v: unknown): void => {
    switch (datatype) {
      case 'BOOL':
        if (typeof v !== 'boolean') bad(v, 'true or false for BOOL');
        (out as Uint8Array)[i] = v === true ? 1 : 0;
        break;
      case 'FP32':
      case 'FP64': {
        // null stands for NaN / ±Infinity, which JSON cannot write (JSON.stringify gives null).
        const long = exactInteger(v);
        if (v === null) (out as Float32Array)[i] = NaN;
        else if (typeof v === 'number') (out as Float32Array)[i] = v;
        else if (long !== null) (out as Float32Array)[i] = Number(long);
        else bad(v, `a number for ${datatype}`);
        break;
      }
      case 'INT64':
      case 'UINT64': {
        const n = exactInteger(v) ?? (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : null);
        if (n === null) return bad(v, `an integer for ${datatype}`);
        const [lo, hi] = datatype === 'INT64' ? INT64_RANGE : UINT64_RANGE;
        if (n < lo || n > hi) bad(v, `an integer from ${lo} to ${hi} for ${datatype}`);
        (out as BigInt64Array)[i] = n;
        break;
      }
      default: {
        const [lo, hi] = INT_RANGE[datatype] ?? [0, 0];
        if (typeof v !== 'number' || !Number.isInteger(v)) bad(v, `an integer for ${datatype}`);
        if ((v as number) < lo || (v as number) > hi)
          bad(v, `an integer from ${lo} to ${hi} for ${datatype}`);
        (out as Int32Array)[i] = v as number;
      }
    }
    i++;
  };
  forEachLeaf(data, put);
}

/** The flat JSON array text of a tensor's data (BigInt as exact integers, non-finite floats as null). */
function jsonData(data: TensorData, datatype: TensorDataType): string {
  if (datatype === 'BOOL') {
    let s = '[';
    for (let i = 0; i < data.length; i++) s += (i === 0 ? '' : ',') + (data[i] === 0 ? 'false' : 'true');
    return `${s}]`;
  }
  if (datatype === 'FP32' || datatype === 'FP64') {
    const f = data as Float32Array | Float64Array;
    // String() writes -0 as 0 and NaN / Infinity as words JSON does not have.
    const plain = (x: number): boolean => Number.isFinite(x) && !Object.is(x, -0);
    if (!f.every(plain)) {
      return `[${Array.from(f, (x) => (plain(x) ? String(x) : Object.is(x, -0) ? '-0' : 'null')).join(',')}]`;
    }
  }
  // Typed arrays join their elements' shortest decimal forms; BigInt ones without the `n`.
  return `[${Array.prototype.join.call(data, ',')}]`;
}

/** The start of a tensor's JSON object: name, datatype and shape. */
function tensorHead(t: Tensor): string {
  return `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":${JSON.stringify(t.shape)}`;
}

function checkLength(t: Tensor, at: string): void {
  const count = shapeSize(t.shape);
  if (t.data.length !== count) {
    throw new InferenceInputError(
      `${at}: shape [${t.shape.join(',')}] holds ${count} elements, data has ${t.data.length}`,
    );
  }
}

function binaryBytes(t: Tensor, where: string): Uint8Array {
  if (!LITTLE_ENDIAN) {
    throw new Error('binary tensor data needs a little-endian host; use JSON (binary: false)');
  }
  checkLength(t, `${where} '${t.name}'`);
  return tensorBytes(t.data);
}

function assemble(json: string, chunks: readonly Uint8Array[]): EncodedBody {
  if (chunks.length === 0) return { body: Buffer.from(json, 'utf8'), contentType: 'application/json' };
  const headerLength = Buffer.byteLength(json, 'utf8');
  let total = headerLength;
  for (const c of chunks) total += c.byteLength;
  const body = Buffer.allocUnsafe(total);
  body.write(json, 0, 'utf8');
  let at = headerLength;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return { body, headerLength, contentType: 'application/octet-stream' };
}

function objectAt(raw: unknown, where: string): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InferenceInputError(`${where} must be an object, got ${kindOf(raw)}`);
  }
  return raw as Json;
}

function optionalObject(raw: unknown, where: string): Json | undefined {
  if (raw === undefined) return undefined;
  return objectAt(raw, where);
}

function optionalBoolean(raw: unknown, where: string): boolean | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'boolean')
    throw new InferenceInputError(`${where} must be true or false, got ${show(raw)}`);
  return raw;
}

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (exactInteger(v) !== null) return 'a number';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function show(v: unknown): string {
  const long = exactInteger(v);
  if (long !== null) return String(long);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}
