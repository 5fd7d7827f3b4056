/**
 * The image-embedder adapter of the ImageEmbedder port: a model behind any InferenceEngine, `bytes` (INT32
 * [batch, H, W, 3], e.g. the COCO-SSD backbone) or `float` (FP32 [batch, 3, S, S], e.g. MobileCLIP; 0..1,
 * optional mean/std), fed the centre crop; the vector is L2-normalised here whatever the model did.
 */
import { VisionModelError } from '../../../core/errors.js';
import type { InferenceEngine } from '../../../inference/tensor/tensor.js';
import type { ImageEmbedder } from '../ports.js';
import { describe, imageTensor, isBytesImage, isFloatImage, side } from './model-metadata.js';

/** Builds the image embedder for a model, from its metadata. */
export async function openImageEmbedder(engine: InferenceEngine, model: string): Promise<ImageEmbedder> {
  const meta = await engine.modelMetadata(model);
  const input = meta.inputs[0];
  const output = meta.outputs[0];
  const dimension = output?.shape.at(-1) ?? -1;
  if (
    meta.inputs.length !== 1 ||
    input === undefined ||
    output === undefined ||
    output.shape.length !== 2 ||
    dimension < 1
  ) {
    throw new VisionModelError(
      model,
      `an image embedder takes one image and returns [batch, dimension]; it has inputs ${describe(meta.inputs)}, outputs ${describe(meta.outputs)}`,
    );
  }
  const bytes = isBytesImage(input);
  if (!bytes && !isFloatImage(input)) {
    throw new VisionModelError(
      model,
      `its input ${describe([input])} is neither [batch, H, W, 3] bytes nor FP32 [batch, 3, S, S]`,
    );
  }
  const inputSize = bytes ? null : side(input, 2);
  return {
    model,
    layout: bytes ? 'hwc-uint8' : 'chw-float',
    inputSize,
    dimension,
    embed: async (image, signal) => {
      const r = await engine.infer(model, {
        inputs: [imageTensor(input, image.crop.data, image.crop.size)],
        outputs: [output.name],
        ...(signal !== undefined ? { signal } : {}),
      });
      const v = r.outputs[0]?.data;
      if (!(v instanceof Float32Array) || v.length !== dimension) {
        throw new VisionModelError(
          model,
          `returned ${v?.length ?? 0} values, expected a ${dimension}-d FP32 vector`,
        );
      }
      return normalized(v);
    },
  };
}

function normalized(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const out = Float32Array.from(v);
  if (sum > 0) {
    const inv = 1 / Math.sqrt(sum);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) * inv;
  }
  return out;
}
