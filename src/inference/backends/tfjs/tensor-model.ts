/**
 * TF.js's tensor models: a TF.js graph model served by name (backends/registry.ts → `loadTensorModel`). A served
 * output may read any inner node of the graph (models.yaml `outputs`), pooled and normalised on the way out
 * (output-processing.ts; TF.js feature maps are NHWC). Inner nodes declare no shape: the served shapes are then
 * learned from one run of batch 1 at load.
 */
import * as tf from '@tensorflow/tfjs';
import { FileError, InferenceInputError } from '../../../core/errors.js';
import type { ModelSpec } from '../../tensor/model-repository.js';
import { plainOutput, postProcessOutput } from '../../tensor/output-processing.js';
import {
  type Tensor,
  type TensorData,
  type TensorDataType,
  type TensorMetadata,
} from '../../tensor/tensor.js';
import { warmUpInputs, type TensorModel } from '../../tensor/tensor-model.js';
import { loadGraphModelFile } from './runtime.js';

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

/**
 * Loads a model of the repository as a tensor model on TF.js. Rejects with FileError naming the file, or when a
 * served output reads a node the graph does not have.
 */
export async function loadTfjsTensorModel(spec: ModelSpec): Promise<TensorModel> {
  const { model, artifacts, runtime: rt } = await loadGraphModelFile(spec.modelPath, spec.threads.intraOp);
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
          const pp = postProcessOutput(byName.get(name), datatype, raw, t.shape, true);
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
