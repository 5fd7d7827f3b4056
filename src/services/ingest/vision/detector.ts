/**
 * The detector adapter of the Detector port: a COCO detector behind any InferenceEngine (in-process, pitlane's
 * `serve models`, or a real Triton), understood from its KServe metadata.
 *
 * - `ssd` (TF.js / TensorFlow object-detection graphs such as COCO-SSD): one INT32 input [batch, H, W, 3] of RGB
 *   bytes (the letterboxed photo; the graph resizes it itself), outputs `detection_boxes` [batch, anchors, 1, 4]
 *   (y1, x1, y2, x2 in 0..1) and `detection_scores` [batch, anchors, 90] (sigmoid; column i is COCO category i+1).
 *   Class-agnostic NMS, as the TF.js COCO-SSD package does.
 * - `yolo` (Ultralytics exports): one FP32 input [batch, 3, S, S] (letterboxed, 0..1), one output, raw
 *   [batch, 84, anchors] (NMS here) or end-to-end [batch, N, 6] (NMS in the graph); decode picks by shape.
 */
import { VisionModelError } from '../../../core/errors.js';
import type { InferenceEngine, ModelMetadata, TensorMetadata } from '../../../inference/tensor/tensor.js';
import { COCO_CLASSES, COCO_SSD_LABELS, cocoCategoryIdToClassIndex } from '../../../inference/vision/coco.js';
import type { PreparedImage } from '../../../inference/vision/image-prep.js';
import type { LetterboxGeometry } from '../../../inference/vision/letterbox.js';
import { nonMaxSuppression, type Box } from '../../../inference/vision/nms.js';
import { decodeYolo, unletterboxDetections } from '../../../inference/vision/yolo.js';
import type { Detector } from '../ports.js';
import { describe, imageTensor, isBytesImage, isFloatImage, side } from './model-metadata.js';

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
