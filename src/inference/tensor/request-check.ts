/**
 * The checks of an inference request against a served model's metadata, before it is queued: every input
 * present, known, given once, of the right datatype, rank and fixed dimensions, its data as long as its shape
 * says; one batch size across inputs, within max_batch_size; only known outputs. Each message names the input
 * (or output) and what is wrong (InferenceInputError, HTTP 400).
 */
import { InferenceInputError } from '../../core/errors.js';
import {
  shapeSize,
  type InferenceRequest,
  type ModelMetadata,
  type Tensor,
  type TensorMetadata,
} from './tensor.js';

/** A request that passed the checks. */
export interface CheckedRequest {
  /** Inputs in the model's input order. */
  readonly inputs: Tensor[];
  /** The outputs asked for (all of the model's when the request names none). */
  readonly outputs: string[];
  /** Batch elements (first dimension), 1 when the model does not batch. */
  readonly size: number;
  /** Requests with the same key can share a batch. */
  readonly key: string;
}

/** Validates a request against the metadata (`maxBatchSize` 0: the model does not batch). */
export function checkRequest(
  request: InferenceRequest,
  meta: ModelMetadata,
  maxBatchSize: number,
): CheckedRequest {
  const model = meta.name;
  const byName = new Map<string, Tensor>();
  for (const t of request.inputs) {
    if (byName.has(t.name)) throw new InferenceInputError(`input '${t.name}' is given twice`);
    if (!meta.inputs.some((m) => m.name === t.name)) {
      throw new InferenceInputError(
        `model '${model}' has no input '${t.name}' (its inputs: ${meta.inputs.map((m) => m.name).join(', ')})`,
      );
    }
    byName.set(t.name, t);
  }
  const batching = maxBatchSize > 0;
  let size = 1;
  const inputs = meta.inputs.map((m, i) => {
    const t = byName.get(m.name);
    if (t === undefined)
      throw new InferenceInputError(`model '${model}' needs input '${m.name}' (${describe(m)})`);
    checkTensor(t, m, model);
    if (batching) {
      const b = t.shape[0] ?? 0;
      if (i === 0) size = b;
      else if (b !== size) {
        throw new InferenceInputError(
          `input '${t.name}' has batch size ${b}, but '${meta.inputs[0]?.name ?? ''}' has ${size}; every input has the same first dimension`,
        );
      }
    }
    return t;
  });
  if (batching && (size < 1 || size > maxBatchSize)) {
    throw new InferenceInputError(
      `batch size ${size} of model '${model}' is outside 1..${maxBatchSize} (its max_batch_size)`,
    );
  }
  const known = new Set(meta.outputs.map((o) => o.name));
  const outputs =
    request.outputs === undefined || request.outputs.length === 0 ? [...known] : [...request.outputs];
  for (const o of outputs) {
    if (!known.has(o)) {
      throw new InferenceInputError(
        `model '${model}' has no output '${o}' (its outputs: ${[...known].join(', ')})`,
      );
    }
  }
  const key = batching
    ? JSON.stringify([inputs.map((t) => [t.datatype, t.shape.slice(1)]), outputs])
    : `solo:${Math.random()}`;
  return { inputs, outputs, size, key };
}

function describe(m: TensorMetadata): string {
  return `${m.datatype} [${m.shape.join(', ')}]`;
}

function checkTensor(t: Tensor, m: TensorMetadata, model: string): void {
  if (t.datatype !== m.datatype) {
    throw new InferenceInputError(
      `input '${t.name}' of model '${model}' is ${m.datatype}, got ${t.datatype}`,
    );
  }
  const wrongShape =
    m.shape.length > 0 &&
    (t.shape.length !== m.shape.length || m.shape.some((d, i) => d >= 0 && t.shape[i] !== d));
  if (wrongShape || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new InferenceInputError(
      `input '${t.name}' of model '${model}' has shape [${t.shape.join(', ')}]; the model takes [${m.shape.join(', ')}] (-1: any size)`,
    );
  }
  const n = shapeSize(t.shape);
  if (t.data.length !== n) {
    throw new InferenceInputError(
      `input '${t.name}': shape [${t.shape.join(', ')}] holds ${n} elements, its data has ${t.data.length}`,
    );
  }
}
