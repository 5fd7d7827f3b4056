/**
 * Box overlap and non-maximum suppression for object detection: the step that turns thousands of overlapping
 * candidate boxes from a detector into one box per object. Written here rather than taken from a library because
 * it is forty lines, has no good dependency-free package, and sits on the hot path of every detection: it works
 * on packed typed arrays, sorts the candidate indices once, and compares each candidate only with the boxes
 * already kept (at most `maxDetections`), so ~8400 YOLO candidates cost well under a millisecond.
 *
 * Boxes are xyxy, `[x1, y1, x2, y2]` with x1 ≤ x2 and y1 ≤ y2, in any consistent unit (pixels here).
 */

/** An axis-aligned box `[x1, y1, x2, y2]`: top-left and bottom-right corners. */
export type Box = readonly [x1: number, y1: number, x2: number, y2: number];

/**
 * Intersection over union of two xyxy boxes, in [0, 1]. A box with negative width or height counts as empty;
 * two empty boxes have an IoU of 0.
 */
export function iou(a: Box, b: Box): number {
  return iouAt(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
}

function area(x1: number, y1: number, x2: number, y2: number): number {
  return Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
}

function iouAt(
  ax1: number,
  ay1: number,
  ax2: number,
  ay2: number,
  bx1: number,
  by1: number,
  bx2: number,
  by2: number,
): number {
  const inter = area(Math.max(ax1, bx1), Math.max(ay1, by1), Math.min(ax2, bx2), Math.min(ay2, by2));
  if (inter === 0) return 0;
  return inter / (area(ax1, ay1, ax2, ay2) + area(bx1, by1, bx2, by2) - inter);
}

/**
 * Greedy non-maximum suppression. Candidates are visited by descending score (equal scores in index order, so
 * the result is deterministic); a candidate is kept unless its IoU with an already kept box is strictly greater
 * than `iouThreshold` (torchvision's and Ultralytics' rule). With `classes`, suppression is class-aware: boxes of
 * different classes never suppress each other. Candidates whose score is NaN are skipped.
 *
 * @param boxes packed xyxy boxes, 4 numbers per candidate (`boxes.length === 4 * scores.length`).
 * @param scores one score per candidate.
 * @param iouThreshold in [0, 1].
 * @param maxDetections the most boxes to keep (a non-negative integer).
 * @param classes one class id per candidate, for class-aware suppression.
 * @returns the indices of the kept candidates, best score first.
 * @throws RangeError when the lengths disagree or a parameter is out of range.
 */
export function nonMaxSuppression(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  iouThreshold: number,
  maxDetections: number,
  classes?: ArrayLike<number>,
): number[] {
  const n = scores.length;
  if (boxes.length !== 4 * n)
    throw new RangeError(
      `nonMaxSuppression: ${boxes.length} box coordinates for ${n} scores; expected ${4 * n}`,
    );
  if (classes !== undefined && classes.length !== n)
    throw new RangeError(
      `nonMaxSuppression: ${classes.length} classes for ${n} scores; expected one per box`,
    );
  if (!(iouThreshold >= 0 && iouThreshold <= 1))
    throw new RangeError(`nonMaxSuppression: iouThreshold must be in [0, 1], got ${iouThreshold}`);
  if (!Number.isInteger(maxDetections) || maxDetections < 0)
    throw new RangeError(
      `nonMaxSuppression: maxDetections must be a non-negative integer, got ${maxDetections}`,
    );

  const order = sortedByScore(scores);
  const kept: number[] = [];
  // The kept boxes, packed, so the inner loop reads one contiguous array.
  const keptBoxes = new Float64Array(4 * Math.min(maxDetections, order.length));
  for (let o = 0; o < order.length && kept.length < maxDetections; o++) {
    const i = order[o] as number;
    const x1 = boxes[4 * i] as number;
    const y1 = boxes[4 * i + 1] as number;
    const x2 = boxes[4 * i + 2] as number;
    const y2 = boxes[4 * i + 3] as number;
    const cls = classes?.[i];
    let suppressed = false;
    for (let k = 0; k < kept.length; k++) {
      if (classes !== undefined && classes[kept[k] as number] !== cls) continue;
      const overlap = iouAt(
        x1,
        y1,
        x2,
        y2,
        keptBoxes[4 * k] as number,
        keptBoxes[4 * k + 1] as number,
        keptBoxes[4 * k + 2] as number,
        keptBoxes[4 * k + 3] as number,
      );
      if (overlap > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    const k = 4 * kept.length;
    keptBoxes[k] = x1;
    keptBoxes[k + 1] = y1;
    keptBoxes[k + 2] = x2;
    keptBoxes[k + 3] = y2;
    kept.push(i);
  }
  return kept;
}

/** Candidate indices by descending score, ties by index; NaN scores left out. */
function sortedByScore(scores: ArrayLike<number>): Uint32Array {
  const n = scores.length;
  const order = new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(scores[i])) order[m++] = i;
  return order.subarray(0, m).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
}
