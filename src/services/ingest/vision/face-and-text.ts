/**
 * The face and OCR adapters of the FaceFinder and TextReader ports: BlazeFace, and PaddleOCR's detector and
 * recogniser, served by any InferenceEngine; the work on pixels is in inference/vision/ (faces.ts, ocr.ts).
 */
import { VisionModelError } from '../../../core/errors.js';
import type { InferenceEngine, Tensor } from '../../../inference/tensor/tensor.js';
import { detectFaces } from '../../../inference/vision/faces.js';
import { OCR_REC_HEIGHT, recognizeText } from '../../../inference/vision/ocr.js';
import type { FaceFinder, TextReader } from '../ports.js';
import { describe } from './model-metadata.js';

/** Faces through a BlazeFace model served by the engine (input size read from its metadata). */
export async function openFaceFinder(engine: InferenceEngine, model: string): Promise<FaceFinder> {
  const meta = await engine.modelMetadata(model);
  const size = meta.inputs[0]?.shape[1];
  if (meta.inputs.length !== 1 || (size !== 128 && size !== 256) || meta.outputs.length !== 4) {
    throw new VisionModelError(
      model,
      `a BlazeFace model takes FP32 [1, 128|256, 128|256, 3] and has 4 outputs; it has inputs ${describe(meta.inputs)}, outputs ${describe(meta.outputs)}`,
    );
  }
  return {
    find: async (image, signal) => {
      const run = async (inputs: Tensor[]): Promise<Tensor[]> => [
        ...(await engine.infer(model, { inputs, ...(signal !== undefined ? { signal } : {}) })).outputs,
      ];
      const faces = await detectFaces(run, image, { size });
      return faces.map((f) => ({ score: f.score, box: f.box }));
    },
  };
}

/** OCR through PaddleOCR detector and recogniser models served by the engine. */
export async function openTextReader(
  engine: InferenceEngine,
  detModel: string,
  recModel: string,
): Promise<TextReader> {
  const [det, rec] = await Promise.all([engine.modelMetadata(detModel), engine.modelMetadata(recModel)]);
  if (det.inputs[0]?.shape[1] !== 3 || rec.inputs[0]?.shape[2] !== OCR_REC_HEIGHT) {
    throw new VisionModelError(
      `${detModel}/${recModel}`,
      `expected a PaddleOCR detector FP32 [batch, 3, H, W] and recogniser FP32 [batch, 3, ${OCR_REC_HEIGHT}, W]`,
    );
  }
  const runner =
    (model: string, signal: AbortSignal | undefined) =>
    async (inputs: Tensor[]): Promise<Tensor[]> => [
      ...(await engine.infer(model, { inputs, ...(signal !== undefined ? { signal } : {}) })).outputs,
    ];
  return {
    read: async (image, signal) => {
      const lines = await recognizeText(runner(detModel, signal), runner(recModel, signal), image);
      return lines.map((l) => ({ text: l.text, score: l.score, box: l.box }));
    },
  };
}
