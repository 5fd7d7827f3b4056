/**
 * KServe v2 gRPC messages ↔ pitlane's tensors, for the model server (read a ModelInferRequest, write a
 * ModelInferResponse) and for its gRPC client (the other way round). Pure functions over the messages as
 * @grpc/proto-loader hands them over (grpc-proto.ts).
 *
 * A tensor's elements travel either as raw contents (`raw_input_contents` / `raw_output_contents`: one entry per
 * tensor, little-endian, row-major; a BYTES element is a 4-byte little-endian length and its bytes) or in the
 * typed field of its datatype (`contents.fp32_contents`, ...), never both in one message. Raw bytes are used in
 * place (no copy unless misaligned for the element size). FP16 has no typed field and travels only raw.
 *
 * Every malformed request throws InferenceInputError (gRPC INVALID_ARGUMENT) whose message names the tensor and
 * where it is (`inputs[1] 'mask'`), as the HTTP codec does; the checks compare sizes before anything
 * proportional to a declared shape is allocated.
 */
import { InferenceInputError } from '../../core/errors.js';
import {
  DATATYPE_BYTES,
  allocTensorData,
  shapeSize,
  tensorBytes,
  tensorDataFromBytes,
  type InferenceRequest,
  type InferenceResult,
  type Tensor,
  type TensorData,
  type TensorDataType,
} from '../tensor/tensor.js';
import { LITTLE_ENDIAN } from './binary-body.js';
import type {
  InferParameters,
  InferTensorContents,
  InferTensorMessage,
  ModelInferRequestMessage,
  ModelInferResponseMessage,
} from './grpc-proto.js';
import { INT_RANGE, readDatatype, readShape } from './tensor-json.js';

type ContentsField = keyof InferTensorContents;

/** The typed contents field of each datatype (FP16 has none). */
export const CONTENTS_FIELD: Readonly<Record<TensorDataType | 'BYTES', ContentsField | null>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: null,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const CONTENTS_FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

/** An inference request as the server reads it. */
export interface DecodedInferRequest {
  readonly id?: string;
  readonly inputs: Tensor[];
  /** The outputs asked for, by name (absent: all of the model's outputs). */
  readonly outputs?: string[];
  /** Send the outputs as typed contents rather than raw (see `wantsTypedOutputs`). */
  readonly typedOutputs: boolean;
}

// -----------------------------------------------------------------------------------------------------------
// Server side

/** Reads a ModelInferRequest's tensors and what it asks for. */
export function decodeInferRequest(msg: ModelInferRequestMessage): DecodedInferRequest {
  const raw = msg.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== msg.inputs.length) {
    throw new InferenceInputError(
      `raw_input_contents has ${raw.length} entries for ${msg.inputs.length} inputs: ` +
        'give one per input, in the order of inputs (or none, and each input its contents)',
    );
  }
  const inputs = msg.inputs.map((t, i) =>
    readTensorMessage(t, raw.length > 0 ? (raw[i] as Uint8Array) : null, `inputs[${i}]`, 'input'),
  );
  const outputs = (msg.outputs ?? []).map((o, i) => {
    if (o.name === '') throw new InferenceInputError(`outputs[${i}]: name is missing`);
    return o.name;
  });
  return {
    inputs,
    ...(msg.id !== undefined && msg.id !== '' && { id: msg.id }),
    ...(outputs.length > 0 && { outputs }),
    typedOutputs: wantsTypedOutputs(msg),
  };
}

/**
 * Whether a request asks for typed output contents. Triton's gRPC endpoint always answers raw; pitlane does too
 * unless the request's parameters have `binary_data_output: false` or a requested output's have
 * `binary_data: false` (the HTTP binary extension's names). Raw and typed cannot be mixed in one response, so
 * one typed output makes them all typed.
 */
export function wantsTypedOutputs(msg: ModelInferRequestMessage): boolean {
  if (isFalse(msg.parameters, 'binary_data_output')) return true;
  return (msg.outputs ?? []).some((o) => isFalse(o.parameters, 'binary_data'));
}

function isFalse(parameters: InferParameters | undefined, key: string): boolean {
  const p = parameters?.[key];
  return p?.parameter_choice === 'bool_param' && p.bool_param === false;
}

/** A ModelInferResponse of a result, its outputs raw (Triton's way) or typed. */
export function encodeInferResponse(result: InferenceResult, typed: boolean): ModelInferResponseMessage {
  return {
    model_name: result.modelName,
    model_version: result.modelVersion,
    id: result.id ?? '',
    outputs: result.outputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      contents: typed ? typedContents(t, `output '${t.name}'`) : null,
    })),
    raw_output_contents: typed ? [] : result.outputs.map((t) => rawBytes(t)),
  };
}

// -----------------------------------------------------------------------------------------------------------
// Client side

/** A ModelInferRequest carrying a request's inputs as raw contents. */
export function encodeInferRequest(
  model: string,
  request: InferenceRequest,
  version?: string,
): ModelInferRequestMessage {
  return {
    model_name: model,
    model_version: version ?? '',
    id: request.id ?? '',
    inputs: request.inputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      contents: null,
    })),
    outputs: (request.outputs ?? []).map((name) => ({ name })),
    raw_input_contents: request.inputs.map((t) => rawBytes(t)),
  };
}

/** A ModelInferResponse's result; InferenceInputError when it is malformed (the caller says whose answer). */
export function decodeInferResponse(msg: ModelInferResponseMessage): InferenceResult {
  const raw = msg.raw_output_contents;
  if (raw.length > 0 && raw.length !== msg.outputs.length) {
    throw new InferenceInputError(
      `raw_output_contents has ${raw.length} entries for ${msg.outputs.length} outputs`,
    );
  }
  return {
    modelName: msg.model_name,
    modelVersion: msg.model_version,
    ...(msg.id !== '' && { id: msg.id }),
    outputs: msg.outputs.map((t, i) =>
      readTensorMessage(t, raw.length > 0 ? (raw[i] as Uint8Array) : null, `outputs[${i}]`, 'output'),
    ),
  };
}

// -----------------------------------------------------------------------------------------------------------
// One tensor

/** A tensor of a message, from its raw bytes (`raw`, when the message uses raw contents) or its typed contents. */
export function readTensorMessage(
  t: InferTensorMessage,
  raw: Uint8Array | null,
  where: string,
  role: 'input' | 'output',
): Tensor {
  if (t.name === '') throw new InferenceInputError(`${where}: name is missing`);
  const at = `${where} '${t.name}'`;
  if (t.parameters?.shared_memory_region !== undefined) {
    throw new InferenceInputError(`${at}: shared memory is not supported by this server`);
  }
  const shape = readShape(t.shape, at);
  const count = shapeSize(shape);
  if (!Number.isSafeInteger(count)) {
    throw new InferenceInputError(`${at}: shape [${shape.join(',')}] holds more elements than can be sent`);
  }
  const contents = t.contents ?? null;
  if (raw !== null && contents !== null && CONTENTS_FIELDS.some((f) => (contents[f]?.length ?? 0) > 0)) {
    const list = role === 'input' ? 'raw_input_contents' : 'raw_output_contents';
    throw new InferenceInputError(`${at}: give its elements in ${list} or in contents, not both`);
  }
  if (t.datatype === 'BYTES') {
    // Checked for what it is before it is refused, so a client learns the framing is right and the model is not.
    if (raw !== null) decodeBytesElements(raw, count, at);
    else checkTypedCount(contents, 'bytes_contents', count, shape, 'BYTES', at);
  }
  const datatype = readDatatype(t.datatype, t.name, role, at);
  if (raw !== null) {
    const needed = count * DATATYPE_BYTES[datatype];
    if (raw.byteLength !== needed) {
      const list = role === 'input' ? 'raw_input_contents' : 'raw_output_contents';
      throw new InferenceInputError(
        `${at}: ${list} has ${raw.byteLength} bytes but shape [${shape.join(',')}] of ${datatype} is ` +
          `${needed} bytes`,
      );
    }
    if (!LITTLE_ENDIAN) throw new Error('raw tensor contents need a little-endian host');
    return { name: t.name, datatype, shape, data: tensorDataFromBytes(datatype, raw) };
  }
  const field = CONTENTS_FIELD[datatype];
  if (field === null) {
    throw new InferenceInputError(
      `${at}: ${datatype} has no typed contents field; send its elements as raw contents`,
    );
  }
  const values = checkTypedCount(contents, field, count, shape, datatype, at);
  return { name: t.name, datatype, shape, data: fromTyped(values, datatype, count, at, field) };
}

/** The typed elements of `field`, checked: the one field used, with as many elements as the shape holds. */
function checkTypedCount(
  contents: InferTensorContents | null,
  field: ContentsField,
  count: number,
  shape: readonly number[],
  datatype: string,
  at: string,
): readonly unknown[] {
  const other = CONTENTS_FIELDS.find((f) => f !== field && (contents?.[f]?.length ?? 0) > 0);
  if (other !== undefined) {
    throw new InferenceInputError(
      `${at}: contents.${other} is not the field of ${datatype}; its elements go in contents.${field}`,
    );
  }
  const values: readonly unknown[] = contents?.[field] ?? [];
  if (values.length !== count) {
    throw new InferenceInputError(
      contents === null && count > 0
        ? `${at}: no elements: give contents.${field}, or raw contents for every tensor`
        : `${at}: shape [${shape.join(',')}] holds ${count} elements, contents.${field} has ${values.length}`,
    );
  }
  return values;
}

/** A typed array of typed contents; integers are checked against the datatype's range. */
function fromTyped(
  values: readonly unknown[],
  datatype: TensorDataType,
  count: number,
  at: string,
  field: ContentsField,
): TensorData {
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(values as readonly boolean[], (v) => (v ? 1 : 0));
    case 'FP32':
      return Float32Array.from(values as readonly number[]);
    case 'FP64':
      return Float64Array.from(values as readonly number[]);
    case 'INT64':
      return BigInt64Array.from(values as readonly number[], (v) => BigInt(v));
    case 'UINT64':
      return BigUint64Array.from(values as readonly number[], (v) => BigInt(v));
    default: {
      const [lo, hi] = INT_RANGE[datatype] ?? [0, 0];
      const data = allocTensorData(datatype, count);
      (values as readonly number[]).forEach((v, i) => {
        if (v < lo || v > hi) {
          throw new InferenceInputError(
            `${at}: contents.${field}[${i}] is ${v}, outside ${datatype}'s range ${lo} to ${hi}`,
          );
        }
        data[i] = v;
      });
      return data;
    }
  }
}

/** A tensor's typed contents (INT64 and UINT64 as Numbers: exact up to 2^53). */
function typedContents(t: Tensor, at: string): InferTensorContents {
  const field = CONTENTS_FIELD[t.datatype];
  if (field === null) {
    throw new InferenceInputError(
      `${at} is ${t.datatype}, which has no typed contents field: ask for raw outputs ` +
        '(drop binary_data_output: false / binary_data: false)',
    );
  }
  if (t.datatype === 'BOOL') return { bool_contents: Array.from(t.data as Uint8Array, (v) => v !== 0) };
  return { [field]: Array.from(t.data as ArrayLike<number | bigint>, Number) };
}

/** A tensor's raw bytes (a view of its data, as a Buffer for protobufjs). */
function rawBytes(t: Tensor): Buffer {
  const count = shapeSize(t.shape);
  if (t.data.length !== count) {
    throw new InferenceInputError(
      `tensor '${t.name}': shape [${t.shape.join(',')}] holds ${count} elements, data has ${t.data.length}`,
    );
  }
  if (!LITTLE_ENDIAN) throw new Error('raw tensor contents need a little-endian host');
  const bytes = tensorBytes(t.data);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// -----------------------------------------------------------------------------------------------------------
// BYTES in raw form

/**
 * The elements of a raw BYTES tensor: each a 4-byte little-endian length followed by that many bytes, `count`
 * of them filling `raw` exactly. Views, no copies.
 */
export function decodeBytesElements(raw: Uint8Array, count: number, at: string): Uint8Array[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < raw.byteLength) {
    if (out.length === count) {
      throw new InferenceInputError(
        `${at}: BYTES raw contents go on after its ${count} elements (${raw.byteLength - offset} bytes left)`,
      );
    }
    if (offset + 4 > raw.byteLength) {
      throw new InferenceInputError(`${at}: BYTES element ${out.length} has a cut-off length prefix`);
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (length > raw.byteLength - offset) {
      throw new InferenceInputError(
        `${at}: BYTES element ${out.length} declares ${length} bytes, ${raw.byteLength - offset} are left`,
      );
    }
    out.push(raw.subarray(offset, offset + length));
    offset += length;
  }
  if (out.length !== count) {
    throw new InferenceInputError(
      `${at}: the shape holds ${count} BYTES elements, raw contents have ${out.length}`,
    );
  }
  return out;
}

/** The raw form of BYTES elements (each a 4-byte little-endian length and its bytes). */
export function encodeBytesElements(elements: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const e of elements) size += 4 + e.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const e of elements) {
    view.setUint32(offset, e.byteLength, true);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}
