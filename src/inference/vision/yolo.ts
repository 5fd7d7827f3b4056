/**
 * Decoding the output of YOLOv8 / YOLO11 style detectors exported to ONNX into detections, with no runtime
 * dependencies. Two output layouts exist:
 *
 * - raw, `[1, 4 + numClasses, N]` (e.g. `[1, 84, 8400]` for COCO at 640 px), channel-major: rows 0..3 hold
 *   each anchor's box centre and size (cx, cy, w, h) in input pixels, the other rows its per-class scores,
 *   already through a sigmoid. Decoding takes each anchor's best class, drops scores at or below the
 *   confidence threshold and runs non-maximum suppression (class-aware unless asked otherwise), as Ultralytics'
 *   `non_max_suppression` does with `multi_label=False`.
 * - end-to-end, `[1, N, 6]` (YOLOv10, YOLO26, or YOLO11 exported with `nms=True`): NMS already ran in the graph
 *   and each row is `x1, y1, x2, y2, score, classId` in input pixels, padded with zero-score rows.
 *
 * Boxes come out in model-input pixels; `unletterboxDetections` maps them to the source image (letterbox.ts).
 */
import { unletterboxBox, type LetterboxGeometry } from './letterbox.js';
import { nonMaxSuppression, type Box } from './nms.js';

/** One detected object. */
export interface Detection {
  /** `[x1, y1, x2, y2]` in model-input pixels, or source pixels after `unletterboxDetections`. */
  readonly box: Box;
  /** Confidence in [0, 1]: the best class score. */
  readonly score: number;
  /** Index of the class in the model's class list (COCO_CLASSES for COCO-trained models). */
  readonly classId: number;
}

/** How to turn candidates into detections (defaults in DEFAULT_YOLO_DECODE_OPTIONS). */
export interface YoloDecodeOptions {
  /** Candidates whose score is at or below this are dropped (Ultralytics keeps `score > conf`). */
  readonly confThreshold?: number;
  /** Raw format only: a candidate overlapping a better one by an IoU above this is suppressed. */
  readonly iouThreshold?: number;
  /** The most detections returned. */
  readonly maxDetections?: number;
  /** Raw format only: let boxes of different classes suppress each other. */
  readonly classAgnostic?: boolean;
}

/** The defaults of YoloDecodeOptions: Ultralytics' `predict` defaults except IoU (0.45, as its ONNX examples use). */
export const DEFAULT_YOLO_DECODE_OPTIONS: Required<YoloDecodeOptions> = Object.freeze({
  confThreshold: 0.25,
  iouThreshold: 0.45,
  maxDetections: 300,
  classAgnostic: false,
});

/** The two output layouts; see the module header. */
export type YoloOutputFormat = 'raw' | 'end-to-end';

/** Columns of an end-to-end output row. */
const END_TO_END_COLUMNS = 6;

/**
 * Which layout an output of shape `dims` has. The rule, for a batch of one:
 * - `[1, N, 6]` is end-to-end. A raw output never has 6 anchors (a 32 px input already has 21), so a last
 *   dimension of 6 is unambiguous, including `[1, 6, 6]`.
 * - `[1, C, N]` with `5 ≤ C < N` is raw: one or more classes, and fewer channels than anchors (8400 anchors at
 *   640 px). This refuses the anchor-major `[1, 8400, 84]` some converters produce instead of misreading it.
 * @throws RangeError naming the dims when neither fits.
 */
export function yoloOutputFormat(dims: readonly number[]): YoloOutputFormat {
  const [batch, rows, cols] = dims;
  const valid = dims.length === 3 && dims.every((d) => Number.isInteger(d) && d > 0) && batch === 1;
  if (valid && cols === END_TO_END_COLUMNS) return 'end-to-end';
  if (valid && rows !== undefined && cols !== undefined && rows >= 5 && rows < cols) return 'raw';
  throw new RangeError(
    `YOLO output dims [${dims.join(', ')}] fit neither layout: expected raw [1, 4 + classes, anchors] ` +
      `(e.g. [1, 84, 8400]) or end-to-end [1, detections, 6] (e.g. [1, 300, 6]); anchor-major ` +
      `[1, anchors, 4 + classes] must be transposed first, and batches must be split`,
  );
}

/**
 * Decodes either layout, chosen from the dims by yoloOutputFormat. The end-to-end layout uses only
 * `confThreshold` and `maxDetections`.
 * @returns detections by descending score, in model-input pixels.
 * @throws RangeError when the dims fit neither layout or disagree with the data length.
 */
export function decodeYolo(
  data: ArrayLike<number>,
  dims: readonly number[],
  options: YoloDecodeOptions = {},
): Detection[] {
  const format = yoloOutputFormat(dims);
  switch (format) {
    case 'raw':
      return decodeYoloRaw(data, dims, options);
    case 'end-to-end':
      return decodeYoloEndToEnd(data, dims, options);
  }
}

/**
 * Decodes a raw `[1, 4 + numClasses, N]` output: best class per anchor, confidence filter, NMS.
 * @returns at most `maxDetections` detections by descending score, in model-input pixels.
 * @throws RangeError when the dims are not `[1, C ≥ 5, N]` or disagree with the data length.
 */
export function decodeYoloRaw(
  data: ArrayLike<number>,
  dims: readonly number[],
  options: YoloDecodeOptions = {},
): Detection[] {
  const o = { ...DEFAULT_YOLO_DECODE_OPTIONS, ...options };
  const [batch, channels, anchors] = dims;
  if (dims.length !== 3 || batch !== 1 || channels === undefined || channels < 5 || anchors === undefined)
    throw new RangeError(
      `decodeYoloRaw: dims [${dims.join(', ')}] are not [1, 4 + classes, anchors] with at least one class`,
    );
  checkLength('decodeYoloRaw', data, dims);

  // Best class per anchor, walking the class rows in memory order.
  const best = new Float32Array(anchors).fill(-Infinity);
  const bestClass = new Int32Array(anchors);
  for (let c = 4; c < channels; c++) {
    const row = c * anchors;
    for (let i = 0; i < anchors; i++) {
      const s = data[row + i] as number;
      if (s > (best[i] as number)) {
        best[i] = s;
        bestClass[i] = c - 4;
      }
    }
  }

  const keep: number[] = [];
  for (let i = 0; i < anchors; i++) if ((best[i] as number) > o.confThreshold) keep.push(i);
  const boxes = new Float32Array(4 * keep.length);
  const scores = new Float32Array(keep.length);
  const classes = new Int32Array(keep.length);
  keep.forEach((i, k) => {
    const cx = data[i] as number;
    const cy = data[anchors + i] as number;
    const hw = (data[2 * anchors + i] as number) / 2;
    const hh = (data[3 * anchors + i] as number) / 2;
    boxes[4 * k] = cx - hw;
    boxes[4 * k + 1] = cy - hh;
    boxes[4 * k + 2] = cx + hw;
    boxes[4 * k + 3] = cy + hh;
    scores[k] = best[i] as number;
    classes[k] = bestClass[i] as number;
  });

  const kept = o.classAgnostic
    ? nonMaxSuppression(boxes, scores, o.iouThreshold, o.maxDetections)
    : nonMaxSuppression(boxes, scores, o.iouThreshold, o.maxDetections, classes);
  return kept.map((k) => ({
    box: [
      boxes[4 * k] as number,
      boxes[4 * k + 1] as number,
      boxes[4 * k + 2] as number,
      boxes[4 * k + 3] as number,
    ] as const,
    score: scores[k] as number,
    classId: classes[k] as number,
  }));
}

/**
 * Decodes an end-to-end `[1, N, 6]` output (NMS done in the graph): keeps rows scoring above `confThreshold`
 * (the zero-score padding rows go), at most `maxDetections` of them.
 * @returns detections by descending score (ties in row order), in model-input pixels.
 * @throws RangeError when the dims are not `[1, N, 6]` or disagree with the data length.
 */
export function decodeYoloEndToEnd(
  data: ArrayLike<number>,
  dims: readonly number[],
  options: Pick<YoloDecodeOptions, 'confThreshold' | 'maxDetections'> = {},
): Detection[] {
  const { confThreshold, maxDetections } = { ...DEFAULT_YOLO_DECODE_OPTIONS, ...options };
  const [batch, rows, cols] = dims;
  if (dims.length !== 3 || batch !== 1 || rows === undefined || cols !== END_TO_END_COLUMNS)
    throw new RangeError(`decodeYoloEndToEnd: dims [${dims.join(', ')}] are not [1, detections, 6]`);
  checkLength('decodeYoloEndToEnd', data, dims);

  const detections: Detection[] = [];
  for (let r = 0; r < rows; r++) {
    const at = r * END_TO_END_COLUMNS;
    const score = data[at + 4] as number;
    if (!(score > confThreshold)) continue;
    detections.push({
      box: [data[at] as number, data[at + 1] as number, data[at + 2] as number, data[at + 3] as number],
      score,
      classId: Math.round(data[at + 5] as number),
    });
  }
  // Array.prototype.sort is stable: equal scores keep row order.
  return detections.sort((a, b) => b.score - a.score).slice(0, maxDetections);
}

/**
 * Maps detections from letterboxed model-input pixels to pixels of the `srcW`×`srcH` source image, clipping
 * each box to the image. Scores, classes and order are unchanged.
 */
export function unletterboxDetections(
  detections: readonly Detection[],
  geometry: LetterboxGeometry,
  srcW: number,
  srcH: number,
): Detection[] {
  return detections.map((d) => ({ ...d, box: unletterboxBox(d.box, geometry, srcW, srcH) }));
}

function checkLength(fn: string, data: ArrayLike<number>, dims: readonly number[]): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected)
    throw new RangeError(
      `${fn}: dims [${dims.join(', ')}] need ${expected} values, but the data has ${data.length}`,
    );
}
