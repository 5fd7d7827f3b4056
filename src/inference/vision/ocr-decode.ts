/**
 * The post-processing of PaddleOCR's two models, as pure functions (see ocr.ts for the pipeline and its
 * simplifications): DB text boxes from the detector's probability map, greedy CTC decoding of the recogniser's
 * output, and reading order.
 */
import type { Box } from './nms.js';

/**
 * The recogniser's classes, by CTC output index: `''` (the blank) at 0, then the dictionary's characters,
 * then `' '` (PaddleOCR's `use_space_char`).
 */
export type OcrCharset = readonly string[];

/** How DB boxes are taken from a probability map (defaults in DEFAULT_DB_OPTIONS). */
export interface DbBoxOptions {
  /** Pixels with a probability above this are text. */
  readonly binaryThreshold?: number;
  /** Regions whose mean probability is below this are dropped. */
  readonly boxThreshold?: number;
  /** How far regions are grown back: by `area × unclipRatio / perimeter` on each side. */
  readonly unclipRatio?: number;
  /** Regions whose shorter side is below this (or, grown, below this + 2) are dropped, in map pixels. */
  readonly minSize?: number;
  /** The most regions considered, in scan order (top-left first). */
  readonly maxCandidates?: number;
}

/**
 * The defaults of DbBoxOptions: PaddleOCR's `DBPostProcess` settings for PP-OCRv4 (threshold 0.3, box
 * threshold 0.6, at most 1000 regions) except the unclip ratio: 2.0, the value DB's authors and OpenCV's
 * `TextDetectionModel_DB` recommend, instead of PaddleOCR 2's 1.5. At 1.5 the boxes hug the glyphs, and the
 * recogniser, seeing no margin, drops the gaps between words: rendered "Hello world" reads "Helloworld" at
 * 1.5 and 1.6, "Hello world" at 1.8 and 2.0.
 */
export const DEFAULT_DB_OPTIONS: Required<DbBoxOptions> = Object.freeze({
  binaryThreshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 2,
  minSize: 3,
  maxCandidates: 1000,
});

/**
 * Text boxes from a DB probability map (`width × height`, row-major), in map pixels: threshold, 8-connected
 * regions, score filter, unclip (see the module header: axis-aligned boxes). Box edges are pixel edges: a
 * region covering columns 10 to 19 spans x 10 to 20 before growing.
 * @returns boxes in scan order of their regions' first pixel (top to bottom, then left to right), with
 * scores.
 * @throws RangeError when the map's length is not `width × height`.
 */
export function dbTextBoxes(
  prob: ArrayLike<number>,
  width: number,
  height: number,
  options: DbBoxOptions = {},
): { box: Box; score: number }[] {
  const o = { ...DEFAULT_DB_OPTIONS, ...options };
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0)
    throw new RangeError(`dbTextBoxes: map size ${width}×${height} is not two positive integers`);
  if (prob.length !== width * height)
    throw new RangeError(
      `dbTextBoxes: a ${width}×${height} map needs ${width * height} values, but there are ${prob.length}`,
    );
  const n = width * height;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const out: { box: Box; score: number }[] = [];
  let candidates = 0;
  for (let start = 0; start < n && candidates < o.maxCandidates; start++) {
    if (seen[start] !== 0 || !((prob[start] as number) > o.binaryThreshold)) continue;
    candidates++;
    // Flood fill of the region holding `start`.
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let minX = width;
    let minY = height;
    let maxX = -1;
    let maxY = -1;
    let sum = 0;
    let count = 0;
    while (top > 0) {
      const p = stack[--top] as number;
      const x = p % width;
      const y = (p - x) / width;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      sum += prob[p] as number;
      count++;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (seen[q] !== 0 || !((prob[q] as number) > o.binaryThreshold)) continue;
          seen[q] = 1;
          stack[top++] = q;
        }
      }
    }
    const w = maxX + 1 - minX;
    const h = maxY + 1 - minY;
    if (Math.min(w, h) < o.minSize) continue;
    const score = sum / count;
    if (score < o.boxThreshold) continue;
    const d = (w * h * o.unclipRatio) / (2 * (w + h));
    if (Math.min(w, h) + 2 * d < o.minSize + 2) continue;
    out.push({ box: [minX - d, minY - d, maxX + 1 + d, maxY + 1 + d], score });
  }
  return out;
}

/**
 * Greedy CTC decoding of one sequence of class probabilities (`steps × charset.length`, row-major): the best
 * class at each step, repeats collapsed, blanks (class 0) dropped. The score is the mean probability of the
 * kept steps, 0 when none is kept.
 * @throws RangeError when the data is not `steps × charset.length` values.
 */
export function ctcGreedyDecode(
  probs: ArrayLike<number>,
  steps: number,
  charset: OcrCharset,
): { text: string; score: number } {
  const classes = charset.length;
  if (probs.length !== steps * classes)
    throw new RangeError(
      `ctcGreedyDecode: ${steps} steps of ${classes} classes need ${steps * classes} values, ` +
        `got ${probs.length}`,
    );
  let text = '';
  let total = 0;
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    const row = t * classes;
    let best = 0;
    let bestP = probs[row] as number;
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c] as number;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += charset[best] as string;
      total += bestP;
      kept++;
    }
    previous = best;
  }
  return { text, score: kept === 0 ? 0 : total / kept };
}

/**
 * Sorts boxes into reading order as PaddleOCR's `sorted_boxes` does: by top edge then left edge, then
 * neighbours whose tops are within 10 pixels are put left to right.
 */
export function readingOrder<T extends { readonly box: Box }>(items: readonly T[]): T[] {
  const sorted = [...items].sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  for (let i = 0; i < sorted.length - 1; i++)
    for (let j = i; j >= 0; j--) {
      const a = sorted[j] as T;
      const b = sorted[j + 1] as T;
      if (Math.abs(b.box[1] - a.box[1]) < 10 && b.box[0] < a.box[0]) {
        sorted[j] = b;
        sorted[j + 1] = a;
      } else break;
    }
  return sorted;
}
