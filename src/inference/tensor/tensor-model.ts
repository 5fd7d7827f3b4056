/**
 * A model as the model server sees it: named tensors in, named tensors out, whatever runs it. The backends
 * (backends/registry.ts) load one from a model spec: ONNX models on onnxruntime-node, TF.js graph models on
 * @tensorflow/tfjs's wasm backend, where a served output may name any inner node of the graph (that is how the
 * MobileNetV2 backbone inside the COCO-SSD detector doubles as an image embedder) and may be
 * global-average-pooled and L2-normalised on the way out (`outputs` in models.yaml, output-processing.ts).
 *
 * Both run on the calling thread; the server puts each instance on a thread of its own (thread-tensor-model.ts).
 */
import { allocTensorData, shapeSize, type Tensor, type TensorMetadata } from './tensor.js';

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

/**
 * A run's outputs and where its time went (ms): `inferMs` is the model run itself, `inputHandOverMs` and
 * `outputHandOverMs` the time the inputs and outputs took to reach the model's thread and come back (0 when the
 * model runs on the calling thread).
 */
export interface TimedRun {
  readonly outputs: Tensor[];
  readonly inferMs: number;
  readonly inputHandOverMs: number;
  readonly outputHandOverMs: number;
}

/** A model that says where the time of each run went. */
export interface TimedTensorModel extends TensorModel {
  runTimed(inputs: readonly Tensor[], outputs: readonly string[]): Promise<TimedRun>;
}

/** A model on the calling thread, timed around its runs. */
export function timedTensorModel(model: TensorModel): TimedTensorModel {
  return {
    info: model.info,
    inputs: model.inputs,
    outputs: model.outputs,
    run: (inputs, outputs) => model.run(inputs, outputs),
    runTimed: async (inputs, outputs) => {
      const t0 = performance.now();
      const result = await model.run(inputs, outputs);
      return { outputs: result, inferMs: performance.now() - t0, inputHandOverMs: 0, outputHandOverMs: 0 };
    },
    close: () => model.close(),
  };
}

/** Zero-filled inputs of batch 1 (variable dimensions set to `fill`), for warm-up runs. */
export function warmUpInputs(inputs: readonly TensorMetadata[], fill = 1): Tensor[] {
  return inputs.map((m) => {
    const shape = m.shape.map((d) => (d >= 0 ? d : fill));
    return { name: m.name, datatype: m.datatype, shape, data: allocTensorData(m.datatype, shapeSize(shape)) };
  });
}
