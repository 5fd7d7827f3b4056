/**
 * One tensor of a KServe v2 body, read and written: name, datatype (with hints for the aliases clients use),
 * shape, and data as nested or flat JSON (each element checked for its type and range) or as binary bytes. No
 * recursion on nested data: a body may nest arrays far deeper than the call stack.
 */
import { InferenceInputError } from '../../core/errors.js';
import {
  DATATYPE_BYTES,
  TENSOR_DATATYPES,
  allocTensorData,
  isTensorDataType,
  shapeSize,
  tensorBytes,
  tensorDataFromBytes,
  type Tensor,
  type TensorData,
  type TensorDataType,
} from '../tensor/tensor.js';
import { LITTLE_ENDIAN, type BinaryReader } from './binary-body.js';
import { exactInteger, isText, kindOf, objectAt, optionalObject, show } from './json-values.js';

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

/** The range of each integer datatype that fits a JavaScript number exactly. */
export const INT_RANGE: Partial<Record<TensorDataType, readonly [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
};

/** One input or output tensor of a body (`where` e.g. `inputs[1]`). */
export function readTensor(
  raw: unknown,
  where: string,
  role: 'input' | 'output',
  binary: BinaryReader,
): Tensor {
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

/**
 * A tensor's datatype; an unknown one, an alias (`FLOAT`) or one pitlane's models do not take (BYTES, BF16) is an
 * InferenceInputError naming the tensor and the datatypes there are.
 */
export function readDatatype(value: unknown, name: string, role: string, at: string): TensorDataType {
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

/** A request tensor's shape: whole numbers ≥ 0 (an InferenceInputError naming the dimension otherwise). */
export function readShape(value: unknown, at: string): number[] {
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
export function jsonData(data: TensorData, datatype: TensorDataType): string {
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
export function tensorHead(t: Tensor): string {
  return `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":${JSON.stringify(t.shape)}`;
}

export function checkLength(t: Tensor, at: string): void {
  const count = shapeSize(t.shape);
  if (t.data.length !== count) {
    throw new InferenceInputError(
      `${at}: shape [${t.shape.join(',')}] holds ${count} elements, data has ${t.data.length}`,
    );
  }
}

export function binaryBytes(t: Tensor, where: string): Uint8Array {
  if (!LITTLE_ENDIAN) {
    throw new Error('binary tensor data needs a little-endian host; use JSON (binary: false)');
  }
  checkLength(t, `${where} '${t.name}'`);
  return tensorBytes(t.data);
}
