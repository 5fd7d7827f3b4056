/**
 * Decoded RGB images as the face and OCR models' pre-processing takes them (HWC bytes, no row padding), and
 * the one resize they share: an antialiased bilinear resize of a rectangle (PIL's), written here because it
 * feeds float tensors straight from a rectangle of a decoded image, which sharp does not do without a copy.
 */

/** A decoded RGB image: `width × height` pixels, 3 bytes each, row-major (HWC), no padding between rows. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Resizes the `w`×`h` rectangle at (`x0`, `y0`) of an image to `dstW`×`dstH`, HWC RGB floats in 0..255. The
 * filter is a triangle (bilinear when enlarging) widened by the shrink factor when shrinking, so every source
 * pixel contributes (PIL's antialiased bilinear); at the rectangle's edges the filter is cut to the rectangle
 * and its weights renormalised, so pixels outside it never bleed in.
 * @throws RangeError when the rectangle leaves the image or a size is not a positive integer.
 */
export function resizeRgb(
  image: RgbImage,
  x0: number,
  y0: number,
  w: number,
  h: number,
  dstW: number,
  dstH: number,
): Float32Array {
  for (const [name, v] of Object.entries({ x0, y0 }))
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`resizeRgb: ${name} must be an integer ≥ 0, got ${v}`);
  for (const [name, v] of Object.entries({ w, h, dstW, dstH }))
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`resizeRgb: ${name} must be a positive integer, got ${v}`);
  if (x0 + w > image.width || y0 + h > image.height)
    throw new RangeError(
      `resizeRgb: rectangle ${w}×${h} at (${x0}, ${y0}) leaves the ${image.width}×${image.height} image`,
    );
  const cols = filterTaps(w, dstW);
  const rows = filterTaps(h, dstH);
  // Horizontal pass over the rows of the rectangle, then the vertical pass.
  const mid = new Float32Array(h * dstW * 3);
  const src = image.data;
  for (let y = 0; y < h; y++) {
    const srcRow = ((y0 + y) * image.width + x0) * 3;
    const midRow = y * dstW * 3;
    for (let x = 0; x < dstW; x++) {
      const first = cols.first[x] as number;
      const n = cols.count[x] as number;
      const wAt = cols.offset[x] as number;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = 0; t < n; t++) {
        const wt = cols.weights[wAt + t] as number;
        const p = srcRow + (first + t) * 3;
        r += (src[p] as number) * wt;
        g += (src[p + 1] as number) * wt;
        b += (src[p + 2] as number) * wt;
      }
      const q = midRow + x * 3;
      mid[q] = r;
      mid[q + 1] = g;
      mid[q + 2] = b;
    }
  }
  const out = new Float32Array(dstH * dstW * 3);
  const rowLen = dstW * 3;
  for (let y = 0; y < dstH; y++) {
    const first = rows.first[y] as number;
    const n = rows.count[y] as number;
    const wAt = rows.offset[y] as number;
    const o = y * rowLen;
    for (let t = 0; t < n; t++) {
      const wt = rows.weights[wAt + t] as number;
      const m = (first + t) * rowLen;
      for (let i = 0; i < rowLen; i++) out[o + i] = (out[o + i] as number) + (mid[m + i] as number) * wt;
    }
  }
  return out;
}

/** Per output pixel: the first source pixel, the number of taps and where its normalised weights start. */
function filterTaps(
  srcLen: number,
  dstLen: number,
): { first: Int32Array; count: Int32Array; offset: Int32Array; weights: Float64Array } {
  const scale = srcLen / dstLen;
  const support = Math.max(1, scale);
  const first = new Int32Array(dstLen);
  const count = new Int32Array(dstLen);
  const offset = new Int32Array(dstLen);
  const weights: number[] = [];
  for (let d = 0; d < dstLen; d++) {
    const centre = (d + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.ceil(centre - support));
    const hi = Math.min(srcLen - 1, Math.floor(centre + support));
    let sum = 0;
    const ws: number[] = [];
    for (let s = lo; s <= hi; s++) {
      const wt = Math.max(0, 1 - Math.abs(s - centre) / support);
      ws.push(wt);
      sum += wt;
    }
    // Near an edge the window can hold only zero weights: take the nearest pixel.
    if (sum === 0) {
      const s = Math.min(srcLen - 1, Math.max(0, Math.round(centre)));
      first[d] = s;
      count[d] = 1;
      offset[d] = weights.length;
      weights.push(1);
      continue;
    }
    first[d] = lo;
    count[d] = ws.length;
    offset[d] = weights.length;
    for (const wt of ws) weights.push(wt / sum);
  }
  return { first, count, offset, weights: Float64Array.from(weights) };
}

/** @throws RangeError when an image's sizes are not positive integers or disagree with its data length. */
export function checkImage(fn: string, image: RgbImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0)
    throw new RangeError(`${fn}: image size ${width}×${height} is not two positive integers`);
  if (data.length !== width * height * 3)
    throw new RangeError(
      `${fn}: a ${width}×${height} RGB image needs ${width * height * 3} bytes, ` +
        `but its data has ${data.length}`,
    );
}
