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
 * the JSON (`inputs[1] 'images'`) and what is wrong. Its parts: json-values.ts (exact JSON), tensor-json.ts
 * (one tensor), binary-body.ts (the binary part, body assembly).
 */
import { InferenceInputError } from '../../core/errors.js';
import { type InferenceRequest, type InferenceResult, type Tensor } from '../tensor/tensor.js';
import { assembleBody, BinaryReader, type EncodedBody } from './binary-body.js';
import { isText, kindOf, objectAt, optionalBoolean, optionalObject, parseJsonObject } from './json-values.js';
import { binaryBytes, checkLength, jsonData, readTensor, tensorHead } from './tensor-json.js';

export { BodyAssembler, type EncodedBody } from './binary-body.js';

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
 * How the client sends a request: tensors as binary data (or JSON), outputs asked for as binary (or JSON).
 */
export interface EncodeRequestOptions {
  readonly binaryInputs: boolean;
  readonly binaryOutputs: boolean;
}

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
  return assembleBody(json, chunks);
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
  return assembleBody(json, chunks);
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
