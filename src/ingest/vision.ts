/**
 * The vision models of photo ingest, behind any InferenceEngine (in-process, pitlane's `serve models`, or a real
 * Triton): a COCO detector and an image embedder, chosen by name and understood from their KServe metadata.
 *
 * Detectors:
 * - `ssd` (TF.js / TensorFlow object-detection graphs such as COCO-SSD): one INT32 input [batch, H, W, 3] of RGB
 *   bytes (the letterboxed photo; the graph resizes it itself), outputs `detection_boxes` [batch, anchors, 1, 4]
 *   (y1, x1, y2, x2 in 0..1) and `detection_scores` [batch, anchors, 90] (sigmoid; column i is COCO category i+1).
 *   Class-agnostic NMS, as the TF.js COCO-SSD package does.
 * - `yolo` (Ultralytics exports): one FP32 input [batch, 3, S, S] (letterboxed, 0..1), one output, raw
 *   [batch, 84, anchors] (NMS here) or end-to-end [batch, N, 6] (NMS in the graph); decode picks by shape.
 *
 * Embedders: `bytes` (INT32 [batch, H, W, 3], e.g. the COCO-SSD backbone) or `float` (FP32 [batch, 3, S, S], e.g.
 * MobileCLIP; 0..1, optional mean/std), fed the centre crop; the vector is L2-normalised here whatever the
 * model did.
 */
import type { PreparedImage } from '../inference/vision/image-prep.js';
import { COCO_CLASSES, COCO_SSD_LABELS, cocoCategoryIdToClassIndex } from '../inference/vision/coco.js';
import type { LetterboxGeometry } from '../inference/vision/letterbox.js';
import { nonMaxSuppression, type Box } from '../inference/vision/nms.js';
import { decodeYolo, unletterboxDetections } from '../inference/vision/yolo.js';
import type { InferenceEngine, ModelMetadata, Tensor, TensorMetadata } from '../inference/tensor/tensor.js';
import { detectFaces } from '../inference/vision/faces.js';
import { OCR_REC_HEIGHT, recognizeText } from '../inference/vision/ocr.js';
import type { FaceFinder, TextReader } from './ingest-pipeline.js';

/** A detection in source pixels, with its COCO label. */
export interface ObjectDetection {
  readonly label: string;
  /** Index in the 80 COCO classes (COCO_CLASSES). */
  readonly classId: number;
  readonly score: number;
  /** [x1, y1, x2, y2] in source pixels (upright). */
  readonly box: Box;
}

export interface DetectorOptions {
  /** Detections at or below this score are dropped. */
  readonly scoreThreshold: number;
  readonly iouThreshold: number;
  readonly maxDetections: number;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = Object.freeze({
  scoreThreshold: 0.5,
  iouThreshold: 0.5,
  maxDetections: 20,
});

export interface Detector {
  readonly model: string;
  readonly kind: 'ssd' | 'yolo';
  /** What prepareImage must produce for it. */
  readonly layout: 'hwc-uint8' | 'chw-float';
  readonly inputSize: number | null;
  detect(image: PreparedImage, signal?: AbortSignal): Promise<ObjectDetection[]>;
}

export interface ImageEmbedder {
  readonly model: string;
  readonly layout: 'hwc-uint8' | 'chw-float';
  readonly inputSize: number | null;
  readonly dimension: number;
  /** The L2-normalised embedding of the image's centre crop. */
  embed(image: PreparedImage, signal?: AbortSignal): Promise<Float32Array>;
}

/** A model that does not fit what it is asked to do; names the model and what was found. */
export class VisionModelError extends Error {
  constructor(model: string, message: string) {
    super(`model '${model}': ${message}`);
    this.name = 'VisionModelError';
  }
}

function isBytesImage(m: TensorMetadata | undefined): boolean {
  return (
    m !== undefined &&
    (m.datatype === 'INT32' || m.datatype === 'UINT8') &&
    m.shape.length === 4 &&
    m.shape[3] === 3
  );
}

function isFloatImage(m: TensorMetadata | undefined): boolean {
  return m !== undefined && m.datatype === 'FP32' && m.shape.length === 4 && m.shape[1] === 3;
}

function side(m: TensorMetadata, axis: number): number | null {
  const d = m.shape[axis];
  return d !== undefined && d > 0 ? d : null;
}

/** Builds the detector for a model, from its metadata. */
export async function openDetector(
  engine: InferenceEngine,
  model: string,
  options: DetectorOptions = DEFAULT_DETECTOR_OPTIONS,
): Promise<Detector> {
  const meta = await engine.modelMetadata(model);
  const input = meta.inputs[0];
  if (meta.inputs.length === 1 && isBytesImage(input) && input !== undefined) {
    const names = meta.outputs.map((o) => o.name);
    if (!names.includes('detection_boxes') || !names.includes('detection_scores')) {
      throw new VisionModelError(
        model,
        `an SSD detector needs outputs detection_boxes and detection_scores, it has ${names.join(', ')}`,
      );
    }
    return ssdDetector(engine, meta, input, options);
  }
  if (meta.inputs.length === 1 && isFloatImage(input) && input !== undefined && meta.outputs.length === 1) {
    const size = side(input, 2);
    if (size === null || side(input, 3) !== size) {
      throw new VisionModelError(
        model,
        `a YOLO detector needs a square input of fixed size, got [${input.shape.join(', ')}]`,
      );
    }
    return yoloDetector(engine, meta, input, size, options);
  }
  throw new VisionModelError(
    model,
    `not a detector pitlane understands: inputs ${describe(meta.inputs)}, outputs ${describe(meta.outputs)} ` +
      '(expected an SSD graph: INT32 [batch, H, W, 3] → detection_boxes, detection_scores; or a YOLO export: FP32 [batch, 3, S, S] → one output)',
  );
}

function describe(list: readonly TensorMetadata[]): string {
  return list.map((m) => `${m.name} ${m.datatype} [${m.shape.join(', ')}]`).join('; ');
}

function geometryOf(image: PreparedImage): LetterboxGeometry {
  const l = image.letterbox;
  return {
    scale: l.scale,
    newW: l.contentWidth,
    newH: l.contentHeight,
    padX: l.padX,
    padY: l.padY,
    target: l.size,
  };
}

/** An image tensor of batch 1 from prepared pixels, converted to what the input takes. */
function imageTensor(input: TensorMetadata, data: Float32Array | Uint8Array, size: number): Tensor {
  if (input.datatype === 'FP32') {
    if (!(data instanceof Float32Array)) throw new Error('internal: a float model got byte pixels');
    return { name: input.name, datatype: 'FP32', shape: [1, 3, size, size], data };
  }
  if (!(data instanceof Uint8Array)) throw new Error('internal: a byte model got float pixels');
  return input.datatype === 'UINT8'
    ? { name: input.name, datatype: 'UINT8', shape: [1, size, size, 3], data }
    : { name: input.name, datatype: 'INT32', shape: [1, size, size, 3], data: Int32Array.from(data) };
}

function ssdDetector(
  engine: InferenceEngine,
  meta: ModelMetadata,
  input: TensorMetadata,
  o: DetectorOptions,
): Detector {
  return {
    model: meta.name,
    kind: 'ssd',
    layout: 'hwc-uint8',
    inputSize: null,
    detect: async (image, signal) => {
      // SSD graphs were trained on photos squashed to their square input (no letterbox), and resize whatever
      // they get: so they get the photo without the letterbox's padding, and boxes are fractions of it.
      const l = image.letterbox;
      const content = contentOf(
        l.data as Uint8Array,
        l.size,
        l.padX,
        l.padY,
        l.contentWidth,
        l.contentHeight,
      );
      const data = input.datatype === 'UINT8' ? content : Int32Array.from(content);
      const shape = [1, l.contentHeight, l.contentWidth, 3];
      const r = await engine.infer(meta.name, {
        inputs: [{ name: input.name, datatype: input.datatype, shape, data }],
        outputs: ['detection_boxes', 'detection_scores'],
        ...(signal !== undefined ? { signal } : {}),
      });
      const boxes = r.outputs.find((t) => t.name === 'detection_boxes');
      const scores = r.outputs.find((t) => t.name === 'detection_scores');
      if (boxes === undefined || scores === undefined)
        throw new VisionModelError(meta.name, 'returned no boxes or scores');
      const detections = decodeSsd(
        boxes.data as Float32Array,
        scores.data as Float32Array,
        scores.shape[2] ?? 90,
        o,
      );
      return detections.map((d) => ({
        label: COCO_CLASSES[d.classId] ?? String(d.classId),
        classId: d.classId,
        score: d.score,
        box: clipBox(
          [d.box[0] * image.width, d.box[1] * image.height, d.box[2] * image.width, d.box[3] * image.height],
          image.width,
          image.height,
        ),
      }));
    },
  };
}

/** The content rectangle of a letterboxed HWC image, as its own HWC buffer. */
function contentOf(
  data: Uint8Array,
  size: number,
  left: number,
  top: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * size + left) * 3;
    out.set(data.subarray(from, from + width * 3), y * width * 3);
  }
  return out;
}

function clipBox(b: Box, w: number, h: number): Box {
  const cx = (v: number): number => Math.min(w, Math.max(0, v));
  const cy = (v: number): number => Math.min(h, Math.max(0, v));
  return [cx(b[0]), cy(b[1]), cx(b[2]), cy(b[3])];
}

/**
 * Decodes SSD outputs of one image: best class per anchor (category = column + 1, the 10 unused COCO ids
 * dropped), score filter, class-agnostic NMS. Boxes come back as fractions of the input ([x1, y1, x2, y2]), classes as
 * indices of the 80 COCO classes.
 */
export function decodeSsd(
  boxes: Float32Array,
  scores: Float32Array,
  columns: number,
  o: DetectorOptions,
): { box: Box; score: number; classId: number }[] {
  const anchors = scores.length / columns;
  const keptBoxes: number[] = [];
  const keptScores: number[] = [];
  const keptClasses: number[] = [];
  for (let a = 0; a < anchors; a++) {
    let best = -1;
    let bestScore = o.scoreThreshold;
    for (let c = 0; c < columns; c++) {
      const s = scores[a * columns + c] ?? 0;
      if (s > bestScore && COCO_SSD_LABELS.has(c + 1)) {
        best = c;
        bestScore = s;
      }
    }
    if (best < 0) continue;
    const [y1 = 0, x1 = 0, y2 = 0, x2 = 0] = boxes.subarray(a * 4, a * 4 + 4);
    keptBoxes.push(x1, y1, x2, y2);
    keptScores.push(bestScore);
    keptClasses.push(cocoCategoryIdToClassIndex(best + 1) ?? 0);
  }
  return nonMaxSuppression(keptBoxes, keptScores, o.iouThreshold, o.maxDetections).map((i) => ({
    box: [
      keptBoxes[4 * i] ?? 0,
      keptBoxes[4 * i + 1] ?? 0,
      keptBoxes[4 * i + 2] ?? 0,
      keptBoxes[4 * i + 3] ?? 0,
    ],
    score: keptScores[i] ?? 0,
    classId: keptClasses[i] ?? 0,
  }));
}

function yoloDetector(
  engine: InferenceEngine,
  meta: ModelMetadata,
  input: TensorMetadata,
  size: number,
  o: DetectorOptions,
): Detector {
  const output = meta.outputs[0]?.name ?? '';
  return {
    model: meta.name,
    kind: 'yolo',
    layout: 'chw-float',
    inputSize: size,
    detect: async (image, signal) => {
      if (image.letterbox.size !== size) {
        throw new Error(
          `internal: ${meta.name} takes ${size}x${size}, the image was letterboxed to ${image.letterbox.size}`,
        );
      }
      const r = await engine.infer(meta.name, {
        inputs: [imageTensor(input, image.letterbox.data, size)],
        outputs: [output],
        ...(signal !== undefined ? { signal } : {}),
      });
      const out = r.outputs[0];
      if (out === undefined) throw new VisionModelError(meta.name, 'returned no output');
      const detections = decodeYolo(out.data as Float32Array, out.shape, {
        confThreshold: o.scoreThreshold,
        iouThreshold: o.iouThreshold,
        maxDetections: o.maxDetections,
      });
      return unletterboxDetections(detections, geometryOf(image), image.width, image.height).map((d) => ({
        label: COCO_CLASSES[d.classId] ?? String(d.classId),
        classId: d.classId,
        score: d.score,
        box: d.box,
      }));
    },
  };
}

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

/** Cosine similarity of two L2-normalised vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

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
