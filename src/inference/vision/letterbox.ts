/**
 * Image geometry for vision models, kept apart from the pixels: where a source image lands inside a square model
 * input and how to map boxes back. Two conventions live here:
 *
 * - Letterbox (YOLO): scale the image to fit a `target`×`target` square keeping its aspect ratio, then pad the
 *   short side with grey (LETTERBOX_PAD_VALUE). This follows Ultralytics' `LetterBox` for a fixed square input
 *   (scale-up allowed, centred): sizes round half to even as Python's `round` does, and an odd padding puts the
 *   extra pixel on the right or bottom.
 * - Centre crop (CLIP and other embedding models): resize the shorter side to `size`, then crop the centred
 *   `size`×`size` square.
 *
 * Resizing and padding the pixels is the caller's business (sharp); this module only says where.
 */
import type { Box } from './nms.js';

/** The grey Ultralytics pads letterboxed images with, on every channel (0..255). */
export const LETTERBOX_PAD_VALUE = 114;

/** Where a source image sits inside a letterboxed square model input. */
export interface LetterboxGeometry {
  /** Source pixels to input pixels: `min(target / srcW, target / srcH)`. */
  readonly scale: number;
  /** Width of the resized image inside the input, in pixels. */
  readonly newW: number;
  /** Height of the resized image inside the input, in pixels. */
  readonly newH: number;
  /** Padding columns on the left; the right gets `target - newW - padX` (the same or one more). */
  readonly padX: number;
  /** Padding rows at the top; the bottom gets `target - newH - padY` (the same or one more). */
  readonly padY: number;
  /** Side of the square model input, in pixels. */
  readonly target: number;
}

/** The centred square a centre-crop takes from a source image. */
export interface CenterCropGeometry {
  /** Left edge of the crop in source pixels. */
  readonly left: number;
  /** Top edge of the crop in source pixels. */
  readonly top: number;
  /** Side of the crop in source pixels: the shorter side of the image. */
  readonly side: number;
  /** Source pixels to model pixels: `size / side` (above 1 when the image is smaller than the input). */
  readonly scale: number;
  /** Side of the square model input, in pixels. */
  readonly size: number;
}

/**
 * The letterbox of a `srcW`×`srcH` image into a `target`×`target` input (Ultralytics convention; see the module
 * header). Small images are scaled up.
 * @throws RangeError when a size is not a positive integer.
 */
export function letterboxGeometry(srcW: number, srcH: number, target = 640): LetterboxGeometry {
  checkSize('letterboxGeometry', { srcW, srcH, target });
  const scale = Math.min(target / srcW, target / srcH);
  // At least one pixel, and never past the input when rounding a near-edge size up.
  const newW = Math.min(target, Math.max(1, roundHalfEven(srcW * scale)));
  const newH = Math.min(target, Math.max(1, roundHalfEven(srcH * scale)));
  return {
    scale,
    newW,
    newH,
    padX: Math.floor((target - newW) / 2),
    padY: Math.floor((target - newH) / 2),
    target,
  };
}

/**
 * Maps an xyxy box in model-input pixels back to source pixels: removes the padding, undoes the scale and clips
 * to the `srcW`×`srcH` image (a box entirely in the padding collapses to a zero-area box on the image edge).
 */
export function unletterboxBox(box: Box, geometry: LetterboxGeometry, srcW: number, srcH: number): Box {
  const { scale, padX, padY } = geometry;
  return [
    clamp((box[0] - padX) / scale, srcW),
    clamp((box[1] - padY) / scale, srcH),
    clamp((box[2] - padX) / scale, srcW),
    clamp((box[3] - padY) / scale, srcH),
  ];
}

/**
 * The crop CLIP-style preprocessing takes from a `srcW`×`srcH` image for a `size`×`size` input: resize the shorter
 * side to `size`, then crop the centred square. Returned in source pixels: crop the square (`left`, `top`,
 * `side`) from the source, then resize it by `scale` to `size`×`size`; that is the same picture up to sub-pixel
 * rounding, and resizes fewer pixels. An odd leftover puts the extra pixel on the right or bottom.
 * @throws RangeError when a size is not a positive integer.
 */
export function centerCropGeometry(srcW: number, srcH: number, size: number): CenterCropGeometry {
  checkSize('centerCropGeometry', { srcW, srcH, size });
  const side = Math.min(srcW, srcH);
  return {
    left: Math.floor((srcW - side) / 2),
    top: Math.floor((srcH - side) / 2),
    side,
    scale: size / side,
    size,
  };
}

/**
 * Python's `round` (ties to even), which Ultralytics uses for the resized size and torchvision's centre crop for
 * its offsets.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function clamp(v: number, max: number): number {
  return Math.min(max, Math.max(0, v));
}

function checkSize(fn: string, sizes: Readonly<Record<string, number>>): void {
  for (const [name, v] of Object.entries(sizes))
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`${fn}: ${name} must be a positive integer, got ${v}`);
}
