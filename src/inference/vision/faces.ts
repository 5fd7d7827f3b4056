/**
 * Face detection with MediaPipe BlazeFace (the ONNX conversions in models/blazeface/, NHWC float32 input),
 * with no runtime dependencies: the pre-processing, the anchor decode and MediaPipe's weighted non-maximum
 * suppression, plus a thin runner that takes the model as a `run` callback (an ONNX Runtime session, a KServe
 * client, a fake).
 *
 * The two models, as their ONNX files say and MediaPipe's graphs configure them:
 * - `face_detection_front_128.onnx` (short range, selfie distance): input `[1, 128, 128, 3]`;
 * - `face_detection_back_256.onnx` (back camera, smaller faces): input `[1, 256, 256, 3]`.
 *
 * Both have the same 896 anchors and four outputs: scores `[1, 512, 1]` and `[1, 384, 1]`, regressors `[1,
 * 512, 16]` and `[1, 384, 16]`. The first layer is a 16×16 grid with 2 anchors per cell, the second an 8×8
 * grid with 6 (strides 8 and 16 at 128 px, 16 and 32 at 256 px: the grids do not grow with the input, only
 * the stride does). Anchors are row-major (row, then column, then anchor in the cell), centred at `((col +
 * 0.5) / cells, (row + 0.5) / cells)` in the unit square, all of size 1 (MediaPipe's `fixed_anchor_size`).
 * Each 16-value regressor row is `x, y, w, h` of the box then `x, y` of six keypoints, all in input pixels
 * relative to the anchor centre; scores are logits (clipped to ±100, then a sigmoid).
 *
 * Input: MediaPipe's `ImageToTensorCalculator` as its face detection graphs set it up: keep the aspect ratio
 * (letterbox, centred), black borders (`BORDER_ZERO`), RGB scaled to [-1, 1]. (keijiro's Unity package
 * stretches the image to the square instead, which squeezes faces in wide photos.)
 *
 * Overlapping detections are merged the way MediaPipe's `NonMaxSuppressionCalculator` does with `algorithm:
 * WEIGHTED` (which BlazeFace uses): take the best remaining detection, gather every remaining one whose IoU
 * with it exceeds the threshold (0.3), and replace them with their score-weighted mean box and keypoints,
 * keeping the best score.
 */
import { fileURLToPath } from 'node:url';
import { letterboxGeometry } from './letterbox.js';
import { iou, type Box } from './nms.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkImage, resizeRgb, type RgbImage } from './rgb-image.js';

/** The two BlazeFace input sizes: 128 (short range, front camera) and 256 (back camera). */
export type FaceModelSize = 128 | 256;

/** A keypoint `[x, y]` in source pixels. */
export type FaceKeypoint = readonly [x: number, y: number];

/** One detected face. */
export interface Face {
  /** `[x1, y1, x2, y2]` in source pixels, clipped to the image. */
  readonly box: Box;
  /** Confidence in [0, 1]. */
  readonly score: number;
  /** Six keypoints in source pixels, in the order of FACE_KEYPOINT_NAMES. */
  readonly keypoints: readonly FaceKeypoint[];
}

/** What each of the six keypoints is. "Right" is the subject's right: the eye on the left of the photo. */
export const FACE_KEYPOINT_NAMES = Object.freeze([
  'rightEye',
  'leftEye',
  'noseTip',
  'mouthCenter',
  'rightEarTragion',
  'leftEarTragion',
] as const);

/** Where the source image sits inside the square model input (all in input pixels but the source size). */
export interface FaceInputGeometry {
  /** Side of the square model input. */
  readonly size: FaceModelSize;
  /** Width of the source image, in its own pixels. */
  readonly srcWidth: number;
  /** Height of the source image, in its own pixels. */
  readonly srcHeight: number;
  /** First column of the resized image inside the input (black columns before it). */
  readonly left: number;
  /** First row of the resized image inside the input (black rows above it). */
  readonly top: number;
  /** Width of the resized image inside the input. */
  readonly width: number;
  /** Height of the resized image inside the input. */
  readonly height: number;
}

/** How to turn the raw outputs into faces (defaults in DEFAULT_FACE_DECODE_OPTIONS). */
export interface FaceDecodeOptions {
  /**
   * Anchors scoring below this are dropped before merging (MediaPipe's `min_score_thresh`); by default
   * DEFAULT_FACE_SCORE_THRESHOLDS for the model's input size.
   */
  readonly scoreThreshold?: number;
  /** Detections overlapping the best remaining one by an IoU above this are merged into it. */
  readonly iouThreshold?: number;
  /** The most faces returned. */
  readonly maxFaces?: number;
}

/** Options of detectFaces: the decode options and which model (its input size). */
export interface FaceDetectOptions extends FaceDecodeOptions {
  /** Input side of the model `run` wraps: 128 for the front model, 256 for the back one. */
  readonly size?: FaceModelSize;
}

/** The defaults of FaceDecodeOptions but the score threshold: MediaPipe's weighted NMS at IoU 0.3. */
export const DEFAULT_FACE_DECODE_OPTIONS: Required<Omit<FaceDecodeOptions, 'scoreThreshold'>> = Object.freeze(
  {
    iouThreshold: 0.3,
    maxFaces: 100,
  },
);

/**
 * The default score threshold of each model, as MediaPipe's graphs set it: 0.5 for the short-range front
 * model (face_detection_short_range.pbtxt), 0.65 for the back model (its face_detection_back graphs). The
 * back model fires more readily on non-faces (0.63 on a dog's muzzle in the darknet test photo dog.jpg),
 * hence its higher bar.
 */
export const DEFAULT_FACE_SCORE_THRESHOLDS: Readonly<Record<FaceModelSize, number>> = Object.freeze({
  128: 0.5,
  256: 0.65,
});

/** The anchor layers of both models, finest first: grid side and anchors per cell. */
export const FACE_ANCHOR_LAYERS = Object.freeze([
  Object.freeze({ cells: 16, anchorsPerCell: 2 }),
  Object.freeze({ cells: 8, anchorsPerCell: 6 }),
]);

/** Values per regressor row: box x, y, w, h and six keypoints (x, y). */
const REGRESSOR_VALUES = 16;
const KEYPOINTS = 6;
/** MediaPipe's `score_clipping_thresh`: logits are clipped to ±100 before the sigmoid. */
const SCORE_CLIP = 100;

/** Paths of the two models, relative to the package root (fetched by scripts/fetch-models.mjs). */
export const DEFAULT_FACE_MODEL_PATHS: Readonly<Record<FaceModelSize, string>> = Object.freeze({
  128: fileURLToPath(new URL('../../../models/blazeface/face_detection_front_128.onnx', import.meta.url)),
  256: fileURLToPath(new URL('../../../models/blazeface/face_detection_back_256.onnx', import.meta.url)),
});

/**
 * The model input for an image: letterboxed (centred, black borders) into a `size`×`size` square, RGB in
 * [-1, 1], NHWC `[1, size, size, 3]` FP32, named `input:0` as in both models. The resize is antialiased
 * (triangle filter widened by the shrink factor), so a large photo does not alias into the 128 px input.
 * @throws RangeError when the image's size and data disagree or the size is not 128 or 256.
 */
export function prepareFaceInput(
  image: RgbImage,
  size: FaceModelSize,
): { tensor: Tensor; geometry: FaceInputGeometry } {
  checkImage('prepareFaceInput', image);
  if (![128, 256].includes(size))
    throw new RangeError(`prepareFaceInput: size must be 128 or 256, got ${String(size)}`);
  const lb = letterboxGeometry(image.width, image.height, size);
  const geometry: FaceInputGeometry = {
    size,
    srcWidth: image.width,
    srcHeight: image.height,
    left: lb.padX,
    top: lb.padY,
    width: lb.newW,
    height: lb.newH,
  };
  const resized = resizeRgb(image, 0, 0, image.width, image.height, lb.newW, lb.newH);
  // Black borders are -1 after scaling to [-1, 1].
  const data = new Float32Array(size * size * 3).fill(-1);
  for (let y = 0; y < lb.newH; y++) {
    const from = y * lb.newW * 3;
    const to = ((y + lb.padY) * size + lb.padX) * 3;
    for (let i = 0; i < lb.newW * 3; i++) data[to + i] = (resized[from + i] as number) / 127.5 - 1;
  }
  return { tensor: { name: 'input:0', datatype: 'FP32', shape: [1, size, size, 3], data }, geometry };
}

/** Anchor centres in the unit square, two numbers per anchor, in output order. */
function anchorCentres(): Float32Array {
  const total = FACE_ANCHOR_LAYERS.reduce((n, l) => n + l.cells * l.cells * l.anchorsPerCell, 0);
  const out = new Float32Array(2 * total);
  let k = 0;
  for (const { cells, anchorsPerCell } of FACE_ANCHOR_LAYERS)
    for (let row = 0; row < cells; row++)
      for (let col = 0; col < cells; col++)
        for (let a = 0; a < anchorsPerCell; a++) {
          out[k++] = (col + 0.5) / cells;
          out[k++] = (row + 0.5) / cells;
        }
  return out;
}

const ANCHORS = anchorCentres();
const ANCHOR_COUNT = ANCHORS.length / 2;

/** One candidate in unit-square input coordinates. */
interface Candidate {
  readonly score: number;
  /** x1, y1, x2, y2, then six keypoints (x, y): 16 numbers. */
  readonly coords: Float64Array;
}

/**
 * Decodes the model's outputs into faces in source pixels. `outputs` holds the score tensors (last dimension
 * 1) and the regressor tensors (last dimension 16), in any order: either one of each for all 896 anchors, or
 * one per anchor layer (512 and 384 anchors, as both ONNX models give them); per-layer tensors are put back
 * in layer order by their anchor count.
 * @returns faces by descending score.
 * @throws RangeError when the outputs do not add up to 896 anchors of scores and of regressors.
 */
export function decodeFaces(
  outputs: readonly Tensor[],
  geometry: FaceInputGeometry,
  options: FaceDecodeOptions = {},
): Face[] {
  const o = {
    ...DEFAULT_FACE_DECODE_OPTIONS,
    scoreThreshold: DEFAULT_FACE_SCORE_THRESHOLDS[geometry.size],
    ...options,
  };
  const scores = concatByLayer(outputs, 1, 'scores');
  const regressors = concatByLayer(outputs, REGRESSOR_VALUES, 'regressors');
  const size = geometry.size;

  const candidates: Candidate[] = [];
  for (let i = 0; i < ANCHOR_COUNT; i++) {
    const logit = Math.min(SCORE_CLIP, Math.max(-SCORE_CLIP, scores[i] as number));
    const score = 1 / (1 + Math.exp(-logit));
    if (!(score >= o.scoreThreshold)) continue;
    const ax = ANCHORS[2 * i] as number;
    const ay = ANCHORS[2 * i + 1] as number;
    const r = i * REGRESSOR_VALUES;
    const cx = ax + (regressors[r] as number) / size;
    const cy = ay + (regressors[r + 1] as number) / size;
    const hw = (regressors[r + 2] as number) / size / 2;
    const hh = (regressors[r + 3] as number) / size / 2;
    const coords = new Float64Array(REGRESSOR_VALUES);
    coords[0] = cx - hw;
    coords[1] = cy - hh;
    coords[2] = cx + hw;
    coords[3] = cy + hh;
    for (let k = 0; k < KEYPOINTS; k++) {
      coords[4 + 2 * k] = ax + (regressors[r + 4 + 2 * k] as number) / size;
      coords[5 + 2 * k] = ay + (regressors[r + 5 + 2 * k] as number) / size;
    }
    candidates.push({ score, coords });
  }

  const faces: Face[] = [];
  for (const merged of weightedNonMaxSuppression(candidates, o.iouThreshold, o.maxFaces)) {
    const face = toSourcePixels(merged, geometry);
    if (face.box[2] > face.box[0] && face.box[3] > face.box[1]) faces.push(face);
  }
  return faces;
}

/** A detection for weightedNonMaxSuppression: a score and coordinates starting with an xyxy box. */
export interface WeightedCandidate {
  readonly score: number;
  /** `x1, y1, x2, y2`, then any further coordinates (keypoints) to blend the same way. */
  readonly coords: ArrayLike<number>;
}

/**
 * MediaPipe's weighted non-maximum suppression on candidates whose `coords` start with an xyxy box: the best
 * remaining candidate absorbs every remaining one whose IoU with it is above `iouThreshold` (itself
 * included); the result has the score-weighted mean of their coords and the best score. Ties in score keep
 * input order.
 * @returns at most `maxDetections` merged candidates, by descending score.
 */
export function weightedNonMaxSuppression(
  candidates: readonly WeightedCandidate[],
  iouThreshold: number,
  maxDetections: number,
): { score: number; coords: Float64Array }[] {
  let remaining = candidates
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => !Number.isNaN(c.score))
    .sort((a, b) => b.c.score - a.c.score || a.i - b.i)
    .map(({ c }) => c);
  const out: { score: number; coords: Float64Array }[] = [];
  while (remaining.length > 0 && out.length < maxDetections) {
    const best = remaining[0] as WeightedCandidate;
    const bestBox = boxOf(best.coords);
    const absorbed: WeightedCandidate[] = [];
    const rest: WeightedCandidate[] = [];
    for (const c of remaining)
      (iou(bestBox, boxOf(c.coords)) > iouThreshold || c === best ? absorbed : rest).push(c);
    const n = best.coords.length;
    const coords = new Float64Array(n);
    let total = 0;
    for (const c of absorbed) {
      total += c.score;
      for (let j = 0; j < n; j++) coords[j] = (coords[j] as number) + (c.coords[j] as number) * c.score;
    }
    if (total > 0) for (let j = 0; j < n; j++) coords[j] = (coords[j] as number) / total;
    else coords.set(Array.from(best.coords));
    out.push({ score: best.score, coords });
    remaining = rest;
  }
  return out;
}

function boxOf(coords: ArrayLike<number>): Box {
  return [coords[0] as number, coords[1] as number, coords[2] as number, coords[3] as number];
}

/** A merged candidate (unit-square input coordinates) in source pixels, clipped to the image. */
function toSourcePixels(c: { score: number; coords: Float64Array }, g: FaceInputGeometry): Face {
  const sx = g.srcWidth / g.width;
  const sy = g.srcHeight / g.height;
  const x = (v: number) => Math.min(g.srcWidth, Math.max(0, (v * g.size - g.left) * sx));
  const y = (v: number) => Math.min(g.srcHeight, Math.max(0, (v * g.size - g.top) * sy));
  const k = c.coords;
  const keypoints: FaceKeypoint[] = [];
  for (let i = 0; i < KEYPOINTS; i++) keypoints.push([x(k[4 + 2 * i] as number), y(k[5 + 2 * i] as number)]);
  return {
    box: [x(k[0] as number), y(k[1] as number), x(k[2] as number), y(k[3] as number)],
    score: c.score,
    keypoints,
  };
}

/** The values of the tensors whose last dimension is `width`, finest layer (most anchors) first. */
function concatByLayer(outputs: readonly Tensor[], width: number, what: string): Float32Array {
  const parts = outputs
    .filter((t) => t.shape.length >= 2 && t.shape[t.shape.length - 1] === width)
    .sort((a, b) => b.data.length - a.data.length);
  const total = parts.reduce((n, t) => n + t.data.length, 0);
  if (parts.length === 0 || total !== ANCHOR_COUNT * width)
    throw new RangeError(
      `decodeFaces: expected ${what} for ${ANCHOR_COUNT} anchors (tensors [1, anchors, ${width}]), got ` +
        `${parts.length === 0 ? 'none' : parts.map((t) => `[${t.shape.join(', ')}]`).join(' and ')} among ` +
        `outputs ${outputs.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ')}`,
    );
  const out = new Float32Array(total);
  let at = 0;
  for (const t of parts) {
    if (t.datatype !== 'FP32' && t.datatype !== 'FP64')
      throw new RangeError(`decodeFaces: ${t.name} is ${t.datatype}; expected FP32`);
    out.set(t.data as Float32Array | Float64Array, at);
    at += t.data.length;
  }
  return out;
}

/**
 * Detects faces: prepares the input, runs the model once through `run` (which takes and returns Tensors; the
 * outputs in any order) and decodes. `options.size` must match the model `run` wraps (128 by default).
 * @returns faces in source pixels, by descending score.
 */
export async function detectFaces(
  run: (inputs: Tensor[]) => Promise<Tensor[]>,
  image: RgbImage,
  options: FaceDetectOptions = {},
): Promise<Face[]> {
  const { size = 128, ...decode } = options;
  const { tensor, geometry } = prepareFaceInput(image, size);
  return decodeFaces(await run([tensor]), geometry, decode);
}
