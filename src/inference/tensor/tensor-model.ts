/**
 * A model as the model server sees it: named tensors in, named tensors out, whatever runs it. ONNX models run on
 * onnxruntime-node; TF.js graph models on @tensorflow/tfjs's wasm backend, where a served output may name any
 * inner node of the graph (that is how the MobileNetV2 backbone inside the COCO-SSD detector doubles as an image
 * embedder) and may be global-average-pooled and L2-normalised on the way out (`outputs` in models.yaml).
 *
 * Both run on the calling thread; the server puts each instance on a thread of its own (thread-tensor-model.ts).
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { FileError } from '../../core/errors.js';
import type { ModelSpec, TensorOutputSpec } from './model-repository.js';
import { datatypeOfOrt, loadOnnxModel, ORT_TYPE_OF, type OnnxModel } from '../backends/onnx/session.js';
import {
  allocTensorData,
  InferenceInputError,
  shapeSize,
  type Tensor,
  type TensorData,
  type TensorDataType,
  type TensorMetadata,
} from './tensor.js';
import { readGraphModel, startTfjs } from '../backends/tfjs/use-embedder.js';

export interface TensorModelInfo {
  readonly backend: 'onnx' | 'tfjs';
  /** Triton's platform name: `onnxruntime_onnx` or `tensorflow_graphdef`. */
  readonly platform: string;
  /** Runtime and version, e.g. `onnxruntime-node 1.30.0`. */
  readonly runtime: string;
  readonly modelPath: string;
}

/** A loaded model. */
export interface TensorModel {
  readonly info: TensorModelInfo;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  /** Runs one (possibly batched) request; returns the wanted outputs in the order asked. */
  run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]>;
  /** Releases the model. Never rejects. */
  close(): Promise<void>;
}

/** Loads a model of the repository as a tensor model. Rejects with FileError naming the file. */
export async function loadTensorModel(spec: ModelSpec): Promise<TensorModel> {
  return spec.backend === 'onnx' ? loadOnnxTensorModel(spec) : loadTfjsTensorModel(spec);
}

// ---------------------------------------------------------------------------------------------------------------
// Shared post-processing of served outputs

/**
 * Global average pooling of a feature map to [batch, C]: `channelsLast` for TF.js's NHWC, else NCHW (ONNX).
 * Accumulates in float64.
 */
export function globalAveragePool(
  data: Float32Array,
  shape: readonly number[],
  channelsLast: boolean,
): { data: Float32Array; shape: number[] } {
  if (shape.length !== 4) {
    throw new Error(`global_average pooling needs a 4-d feature map, got shape [${shape.join(', ')}]`);
  }
  const [b = 0, d1 = 0, d2 = 0, d3 = 0] = shape;
  const c = channelsLast ? d3 : d1;
  const hw = channelsLast ? d1 * d2 : d2 * d3;
  const out = new Float32Array(b * c);
  const acc = new Float64Array(c);
  for (let n = 0; n < b; n++) {
    acc.fill(0);
    const base = n * c * hw;
    if (channelsLast) {
      for (let p = 0; p < hw; p++) {
        const at = base + p * c;
        for (let k = 0; k < c; k++) acc[k] = (acc[k] ?? 0) + (data[at + k] ?? 0);
      }
    } else {
      for (let k = 0; k < c; k++) {
        let s = 0;
        const at = base + k * hw;
        for (let p = 0; p < hw; p++) s += data[at + p] ?? 0;
        acc[k] = s;
      }
    }
    for (let k = 0; k < c; k++) out[n * c + k] = (acc[k] ?? 0) / hw;
  }
  return { data: out, shape: [b, c] };
}

/** L2-normalises each row of a [rows, dim] matrix in place (zero rows stay zero). */
export function normalizeRows(data: Float32Array, dim: number): void {
  for (let at = 0; at < data.length; at += dim) {
    let sum = 0;
    for (let i = at; i < at + dim; i++) sum += (data[i] ?? 0) ** 2;
    if (sum === 0) continue;
    const inv = 1 / Math.sqrt(sum);
    for (let i = at; i < at + dim; i++) data[i] = (data[i] ?? 0) * inv;
  }
}

function postProcess(
  spec: TensorOutputSpec | undefined,
  datatype: TensorDataType,
  data: TensorData,
  shape: readonly number[],
  channelsLast: boolean,
): { data: TensorData; shape: readonly number[] } {
  if (spec === undefined || (spec.pool === null && !spec.normalize)) return { data, shape };
  if (datatype !== 'FP32')
    throw new Error(`output '${spec.name}': pooling and normalising need FP32, got ${datatype}`);
  let out = { data: data as Float32Array, shape };
  if (spec.pool === 'global_average') out = globalAveragePool(out.data, shape, channelsLast);
  else if (spec.normalize) out = { data: Float32Array.from(out.data), shape };
  if (spec.normalize) normalizeRows(out.data, out.shape[out.shape.length - 1] ?? 1);
  return out;
}

/** Output metadata after pooling: [b, H, W, C] → [b, C] (NHWC) or [b, C, H, W] → [b, C]. */
function pooledShape(shape: readonly number[], channelsLast: boolean): number[] {
  return [shape[0] ?? -1, (channelsLast ? shape[3] : shape[1]) ?? -1];
}

// ---------------------------------------------------------------------------------------------------------------
// ONNX Runtime

async function loadOnnxTensorModel(spec: ModelSpec): Promise<TensorModel> {
  const model = await loadOnnxModel(spec.modelPath, {
    intraOpThreads: spec.threads.intraOp,
    interOpThreads: spec.threads.interOp,
    allowSpinning: spec.threads.spinning,
    graphOptimizationLevel: spec.session.graphOptimization,
    enableCpuMemArena: spec.session.memoryArena,
  });
  try {
    return onnxTensorModel(model, spec);
  } catch (err) {
    await model.close();
    throw err;
  }
}

function onnxTensorModel(model: OnnxModel, spec: ModelSpec): TensorModel {
  const graphOutputs = new Map(model.outputMetadata.map((m) => [m.name, m]));
  const served = spec.tensorOutputs ?? model.outputMetadata.map((m) => plainOutput(m.name));
  const outputs = served.map((o): TensorMetadata => {
    const m = graphOutputs.get(o.node);
    if (m === undefined) {
      throw new FileError(
        spec.modelPath,
        `model ${spec.id}: output '${o.name}' reads '${o.node}', which is not an output of the graph (its outputs: ${[...graphOutputs.keys()].join(', ')})`,
      );
    }
    return {
      name: o.name,
      datatype: m.datatype,
      shape: o.pool === null ? m.shape : pooledShape(m.shape, false),
    };
  });
  const byName = new Map(served.map((o) => [o.name, o]));
  const version = ort.env.versions.common;
  return {
    info: {
      backend: 'onnx',
      platform: 'onnxruntime_onnx',
      runtime: `onnxruntime-node ${version}`,
      modelPath: spec.modelPath,
    },
    inputs: model.inputMetadata,
    outputs,
    run: async (inputs, wanted) => {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of inputs)
        feeds[t.name] = new ort.Tensor(ORT_TYPE_OF[t.datatype], t.data as ort.Tensor.DataType, [...t.shape]);
      const nodes = [...new Set(wanted.map((w) => byName.get(w)?.node ?? w))];
      const results = await runOnnx(model, feeds, nodes);
      return wanted.map((name) => {
        const o = byName.get(name);
        const r = results[o?.node ?? name];
        if (r === undefined) throw new Error(`model ${spec.id} returned no output '${name}'`);
        const datatype = datatypeOfOrt(r.type);
        if (datatype === null)
          throw new Error(`model ${spec.id}: output '${name}' has type ${r.type}, which is not served`);
        const pp = postProcess(o, datatype, r.data as TensorData, r.dims, false);
        return { name, datatype, shape: [...pp.shape], data: pp.data };
      });
    },
    close: () => model.close(),
  };
}

async function runOnnx(
  model: OnnxModel,
  feeds: Record<string, ort.Tensor>,
  outputs: readonly string[],
): Promise<Record<string, ort.Tensor>> {
  // OnnxModel.run returns every output; fetching only some is a session option we do not need yet.
  const all = await model.run(feeds);
  const out: Record<string, ort.Tensor> = {};
  for (const name of outputs) {
    const t = all[name];
    if (t !== undefined) out[name] = t;
  }
  return out;
}

function plainOutput(name: string): TensorOutputSpec {
  return { name, node: name, pool: null, normalize: false };
}

// ---------------------------------------------------------------------------------------------------------------
// TF.js

const TF_DTYPE_OF: Partial<Record<TensorDataType, tf.DataType>> = {
  FP32: 'float32',
  INT32: 'int32',
  BOOL: 'bool',
};

function datatypeOfTf(dtype: string | undefined): TensorDataType {
  switch (dtype) {
    case 'int32':
      return 'INT32';
    case 'bool':
      return 'BOOL';
    default:
      return 'FP32';
  }
}

async function loadTfjsTensorModel(spec: ModelSpec): Promise<TensorModel> {
  const artifacts = await readGraphModel(spec.modelPath);
  const rt = await startTfjs(spec.threads.intraOp);
  let model: tf.GraphModel;
  try {
    model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new FileError(spec.modelPath, `is not a TF.js graph model @tensorflow/tfjs can load: ${why}`, {
      cause: err,
    });
  }
  const nodeNames = new Set(
    ((artifacts.modelTopology as { node?: { name: string }[] } | undefined)?.node ?? []).map((n) => n.name),
  );
  const inputs = model.inputs.map((i): TensorMetadata => ({
    name: i.name,
    datatype: datatypeOfTf(i.dtype),
    shape: (i.shape ?? []).map((d) => (d >= 0 ? d : -1)),
  }));
  const served = spec.tensorOutputs ?? model.outputs.map((o) => plainOutput(o.name));
  const outputs = served.map((o): TensorMetadata => {
    if (!nodeNames.has(o.node) && !model.outputNodes.includes(o.node)) {
      model.dispose();
      throw new FileError(
        spec.modelPath,
        `model ${spec.id}: output '${o.name}' reads node '${o.node}', which the graph does not have`,
      );
    }
    const declared = model.outputs.find((m) => m.name === o.node);
    const shape = declared?.shape?.map((d) => (d >= 0 ? d : -1)) ?? (o.pool === null ? [] : [-1, -1, -1, -1]);
    return {
      name: o.name,
      datatype: datatypeOfTf(declared?.dtype),
      shape: o.pool === null ? shape : [-1, -1],
    };
  });
  const byName = new Map(served.map((o) => [o.name, o]));
  const tfjsModel: TensorModel = {
    info: {
      backend: 'tfjs',
      platform: 'tensorflow_graphdef',
      runtime: rt.description,
      modelPath: spec.modelPath,
    },
    inputs,
    outputs,
    run: async (ins, wanted) => {
      const feeds: Record<string, tf.Tensor> = {};
      const made: tf.Tensor[] = [];
      try {
        for (const t of ins) {
          const dtype = TF_DTYPE_OF[t.datatype];
          if (dtype === undefined) {
            throw new InferenceInputError(
              `input '${t.name}': TF.js takes FP32, INT32 or BOOL, not ${t.datatype}`,
            );
          }
          const x = tf.tensor(t.data as Float32Array | Int32Array | Uint8Array, [...t.shape], dtype);
          made.push(x);
          feeds[t.name] = x;
        }
        const nodes = wanted.map((w) => byName.get(w)?.node ?? w);
        const result = await model.executeAsync(feeds, nodes);
        const list = Array.isArray(result) ? result : [result];
        made.push(...list);
        const out: Tensor[] = [];
        for (let i = 0; i < wanted.length; i++) {
          const t = list[i];
          const name = wanted[i] ?? '';
          if (t === undefined) throw new Error(`model ${spec.id} returned no output '${name}'`);
          const datatype = datatypeOfTf(t.dtype);
          const raw = (await t.data()) as TensorData;
          const pp = postProcess(byName.get(name), datatype, raw, t.shape, true);
          out.push({ name, datatype, shape: [...pp.shape], data: pp.data });
        }
        return out;
      } finally {
        for (const t of made) t.dispose();
      }
    },
    close: () => {
      model.dispose();
      return Promise.resolve();
    },
  };
  if (outputs.every((m) => m.shape.length > 0 && !m.shape.slice(1).includes(-1))) return tfjsModel;
  // Inner nodes declare no shape: learn them from one run of batch 1 (every variable input dimension 1), the
  // first dimension left variable (the batch one).
  const probe = await tfjsModel.run(
    warmUpInputs(inputs),
    served.map((o) => o.name),
  );
  const learned = outputs.map((m, i) => {
    const shape = probe[i]?.shape;
    return shape === undefined ? m : { ...m, shape: [-1, ...shape.slice(1)] };
  });
  return { ...tfjsModel, outputs: learned };
}

/** Zero-filled inputs of batch 1 (variable dimensions set to `fill`), for warm-up runs. */
export function warmUpInputs(inputs: readonly TensorMetadata[], fill = 1): Tensor[] {
  return inputs.map((m) => {
    const shape = m.shape.map((d) => (d >= 0 ? d : fill));
    return { name: m.name, datatype: m.datatype, shape, data: allocTensorData(m.datatype, shapeSize(shape)) };
  });
}
