/**
 * Triton's model configuration (model_config.proto's ModelConfig, the fields pitlane fills) of a loaded model,
 * from its models.yaml entry and the metadata its backend read from the model file.
 */
import type { ConfigTensor, TritonModelConfig } from './model-control.js';
import type { ServedModel } from './model-entry.js';
import type { TensorMetadata } from './tensor.js';

/** Triton's backend name for each of pitlane's (Triton has no TF.js backend: pitlane names it `tfjs`). */
const BACKEND_NAMES = { onnx: 'onnxruntime', tfjs: 'tfjs' } as const;

/** Triton's DataType name of a KServe datatype: `TYPE_` and the same name, except BYTES which is TYPE_STRING. */
export function tritonDataType(datatype: string): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

export function tritonModelConfig(served: ServedModel): TritonModelConfig {
  const { spec, metadata, maxBatchSize } = served;
  const tensor = (t: TensorMetadata): ConfigTensor => ({
    name: t.name,
    data_type: tritonDataType(t.datatype),
    dims: maxBatchSize > 0 ? t.shape.slice(1) : [...t.shape],
  });
  const { maxQueueDelayUs, preferredBatchSizes } = spec.dynamicBatching;
  return {
    name: spec.id,
    platform: metadata.platform,
    backend: BACKEND_NAMES[spec.backend],
    max_batch_size: maxBatchSize,
    input: metadata.inputs.map(tensor),
    output: metadata.outputs.map(tensor),
    ...(maxBatchSize > 0 && {
      dynamic_batching: {
        preferred_batch_size: [...preferredBatchSizes],
        max_queue_delay_microseconds: maxQueueDelayUs,
      },
    }),
    instance_group: [{ name: `${spec.id}_0`, kind: 'KIND_CPU', count: spec.instances }],
  };
}
