/**
 * ONNX Runtime's tensor models: a served model (backends/registry.ts → `loadTensorModel`) as an ONNX session,
 * its served outputs (models.yaml `outputs`, each reading a graph output) checked at load and post-processed on
 * the way out (output-processing.ts; ONNX feature maps are NCHW).
 */
import * as ort from 'onnxruntime-node';
import { FileError } from '../../../core/errors.js';
import type { ModelSpec } from '../../tensor/model-repository.js';
import { plainOutput, pooledShape, postProcessOutput } from '../../tensor/output-processing.js';
import type { TensorData, TensorMetadata } from '../../tensor/tensor.js';
import type { TensorModel } from '../../tensor/tensor-model.js';
import { datatypeOfOrt, loadOnnxModel, onnxOptionsOf, ORT_TYPE_OF, type OnnxModel } from './session.js';

/** Loads a model of the repository as a tensor model on ONNX Runtime. Rejects with FileError naming the file. */
export async function loadOnnxTensorModel(spec: ModelSpec): Promise<TensorModel> {
  const model = await loadOnnxModel(spec.modelPath, onnxOptionsOf(spec));
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
        const pp = postProcessOutput(o, datatype, r.data as TensorData, r.dims, false);
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
