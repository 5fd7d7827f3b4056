/**
 * The image front end of photo ingest: turns one encoded photo (JPEG, PNG or WebP; a file path or a buffer) into
 * the two tensors the vision models take, decoding it only once:
 *
 * - a letterboxed square RGB float32 CHW tensor for a YOLO detector (Ultralytics' `LetterBox`: scale =
 *   min(S/w, S/h), resize keeping the aspect, pad with 114 centred, values / 255), with the geometry needed to map
 *   detections back to source pixels;
 * - a centre-cropped square RGB float32 CHW tensor for an image-embedding model (torchvision's `Resize(n)` on the
 *   shorter side then `CenterCrop(n)`), optionally mean/std normalised.
 *
 * How: the header is read first (sharp `metadata()`, no pixel decode) to check format and size, then sharp decodes
 * once, straight to the larger of the two resized images the outputs need (JPEG and WebP shrink-on-load make a
 * 12 MP JPEG decode at 1/4 scale, never below what both outputs need). That raw HWC buffer becomes one tensor by a
 * plain copy; the other comes from a second, small sharp resize of the same raw pixels (about 2 ms for 640×480 →
 * 341×256), which runs on libuv's pool while this thread converts the first tensor. Two full decodes cost a
 * second decode of the file (≈ 25 ms for a 12 MP JPEG); resizing in JavaScript would save at most the 2 ms.
 *
 * Choices a caller should know:
 * - EXIF orientation is applied; `width`/`height` are the upright size, the frame detections map back to.
 * - Alpha is flattened onto white (what a viewer shows for a transparent logo or product shot; OpenCV and PIL
 *   instead drop alpha and expose whatever colour sits under transparent pixels, often black).
 * - Embedded ICC profiles are ignored by default (`applyIccProfile: false`): OpenCV and PIL, which the models were
 *   trained with, ignore them too, and sharp's colour transform costs ≈ 12 ms on a 0.4 MP photo. CMYK is still
 *   converted to sRGB.
 * - sharp's `failOn: 'error'`: truncated files and decode errors are refused, while libjpeg's warnings (such as
 *   "extraneous bytes before marker", common in real camera files that decode fine) are tolerated. `'warning'`
 *   would refuse those too; `'truncated'` would accept files that fail to decode part-way.
 * - Only JPEG, PNG and WebP reach libvips: the format is sniffed from the magic bytes first, so SVG, PDF, TIFF and
 *   the rest never get parsed.
 *
 * Letterbox and crop arithmetic is private here for now (the detector's own letterbox module can take it over).
 * Accepted formats and ImageError: image-format.ts (re-exported here).
 */
import { performance } from 'node:perf_hooks';
import sharp, { type Metadata } from 'sharp';
import {
  decodeError,
  ImageError,
  readHead,
  sniffFormat,
  SNIFF_BYTES,
  type ImageFormat,
} from './image-format.js';
import { roundHalfEven } from './letterbox.js';

export { ImageError, type ImageErrorReason, type ImageFormat } from './image-format.js';

/** Options of prepareImage (defaults in DEFAULT_IMAGE_PREP_OPTIONS). */
export interface ImagePrepOptions {
  /** Name used in errors and in the result; defaults to the file path, or `<buffer>` for a buffer. */
  readonly name?: string;
  /** Side of the square detector input, in pixels. */
  readonly letterboxSize?: number;
  /** Side of the square embedding-model input; the shorter side is resized to it, then the centre is cropped. */
  readonly cropSize?: number;
  /** Per-channel (R, G, B) mean subtracted from the crop's 0..1 values; none by default. */
  readonly mean?: readonly [number, number, number];
  /** Per-channel (R, G, B) standard deviation the crop's values are divided by, after the mean; none by default. */
  readonly std?: readonly [number, number, number];
  /** Largest source image, in pixels (width × height), that is decoded at all: the decompression-bomb guard. */
  readonly maxPixels?: number;
  /** Convert through the embedded ICC profile to sRGB (slower; training pipelines usually ignore profiles). */
  readonly applyIccProfile?: boolean;
  /**
   * Tensor layout: `chw-float` (planes, value / 255, mean/std applied: PyTorch-exported models such as YOLO and
   * CLIP) or `hwc-uint8` (interleaved RGB bytes, as TF.js and TensorFlow graphs such as COCO-SSD take them; mean and
   * std are not applied).
   */
  readonly layout?: 'chw-float' | 'hwc-uint8';
  /** Also return the decoded (shrunk) RGB buffer, for models that take their own view of the photo (faces, OCR). */
  readonly keepDecoded?: boolean;
}

/** The defaults of ImagePrepOptions. */
export const DEFAULT_IMAGE_PREP_OPTIONS = Object.freeze({
  letterboxSize: 640,
  cropSize: 256,
  maxPixels: 100_000_000,
  applyIccProfile: false,
  layout: 'chw-float' satisfies 'chw-float' | 'hwc-uint8',
  keepDecoded: false,
});

/** The detector input and the geometry to map its coordinates back to the source image. */
export interface LetterboxTensor {
  /**
   * chw-float: RGB planes, 3 × size × size, values in 0..1, padding exactly 114 / 255.
   * hwc-uint8: size × size × 3 RGB bytes, padding 114.
   */
  readonly data: Float32Array | Uint8Array;
  /** Side of the square tensor. */
  readonly size: number;
  /** Source pixels → tensor pixels: x_tensor = x_source × scale + padX. */
  readonly scale: number;
  /** Columns of padding on the left. */
  readonly padX: number;
  /** Rows of padding on the top. */
  readonly padY: number;
  /** Width of the image inside the padding. */
  readonly contentWidth: number;
  /** Height of the image inside the padding. */
  readonly contentHeight: number;
}

/** The embedding-model input. */
export interface CropTensor {
  /** chw-float: RGB planes, 3 × size × size: value / 255, then (value − mean) / std when given. hwc-uint8: bytes. */
  readonly data: Float32Array | Uint8Array;
  /** Side of the square tensor. */
  readonly size: number;
}

/** One prepared image. */
export interface PreparedImage {
  /** The file path or caller-given name. */
  readonly name: string;
  /** Upright source width (after EXIF orientation), in pixels: the frame detections map back to. */
  readonly width: number;
  /** Upright source height (after EXIF orientation), in pixels. */
  readonly height: number;
  readonly format: ImageFormat;
  /** EXIF orientation tag of the source (1 to 8; 1 when absent). */
  readonly orientation: number;
  /** Width of the one decoded (and shrunk) buffer both tensors were made from. */
  readonly decodedWidth: number;
  /** Height of the one decoded (and shrunk) buffer. */
  readonly decodedHeight: number;
  readonly layout: 'chw-float' | 'hwc-uint8';
  readonly letterbox: LetterboxTensor;
  readonly crop: CropTensor;
  /** The decoded RGB buffer (decodedWidth × decodedHeight × 3), when `keepDecoded` was asked. */
  readonly decoded: RawRgb | null;
  /** Milliseconds to read the header and decode to the shrunk RGB buffer (includes reading a file). */
  readonly decodeMs: number;
  /** Milliseconds to build both tensors from the decoded buffer. */
  readonly tensorMs: number;
}

/** Value the Ultralytics letterbox pads with, before / 255. */
const PAD_VALUE = 114;
/** What sharp's `failOn` is set to; see the module header. */
const FAIL_ON = 'error';

/** A rectangle in pixels. */
interface Rect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** An RGB image as sharp's `raw()` gives it: HWC, uint8, 3 channels. */
export interface RawRgb {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Decodes an image once and builds the letterboxed detector tensor and the centre-cropped embedding tensor from
 * it. Rejects with ImageError (naming the image and the reason) when the input is empty, unreadable, not an image,
 * not JPEG/PNG/WebP, corrupt or truncated, or larger than `maxPixels`.
 */
export async function prepareImage(
  input: Buffer | string,
  options: ImagePrepOptions = {},
): Promise<PreparedImage> {
  const o = { ...DEFAULT_IMAGE_PREP_OPTIONS, ...options };
  const name = options.name ?? (typeof input === 'string' ? input : '<buffer>');
  checkSize('letterboxSize', o.letterboxSize);
  checkSize('cropSize', o.cropSize);
  if (!(o.maxPixels > 0)) throw new RangeError(`maxPixels must be a positive number, got ${o.maxPixels}`);
  const t0 = performance.now();

  // A file is not read into memory: its first bytes are sniffed, and libvips reads it itself (JPEG and PNG a
  // strip at a time with shrink-on-load), so a large file costs native memory only while it decodes.
  let bytes: Buffer | string;
  let head: Buffer;
  if (typeof input === 'string') {
    try {
      head = await readHead(input, SNIFF_BYTES);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ImageError(name, 'unreadable', `cannot read the image file (${why})`, { cause: err });
    }
    bytes = input;
  } else {
    head = input;
    bytes = input;
  }
  const format = sniffFormat(name, head);

  // The header only: format, size and orientation, before any pixel is decoded.
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeError(name, format, err);
  }
  if (meta.format !== format) {
    throw new ImageError(
      name,
      'corrupt',
      `starts like ${format.toUpperCase()} but its header is not readable`,
    );
  }
  const pixels = meta.width * meta.height;
  if (pixels > o.maxPixels) {
    throw new ImageError(
      name,
      'too-many-pixels',
      `${meta.width}×${meta.height} is ${formatPixels(pixels)}, over the limit of ${formatPixels(o.maxPixels)} ` +
        '(maxPixels); refused without decoding (possible decompression bomb)',
    );
  }
  const orientation = meta.orientation ?? 1;
  const width = meta.autoOrient.width;
  const height = meta.autoOrient.height;

  const box = letterboxGeometry(width, height, o.letterboxSize);
  const crop = cropGeometry(width, height, o.cropSize);
  // Decode straight to the larger of the two resized images; the other is made from it.
  const boxIsLarger = box.contentWidth * box.contentHeight >= crop.resizedWidth * crop.resizedHeight;
  const decodeWidth = boxIsLarger ? box.contentWidth : crop.resizedWidth;
  const decodeHeight = boxIsLarger ? box.contentHeight : crop.resizedHeight;

  let decoded: RawRgb;
  try {
    const { data, info } = await sharp(bytes, {
      failOn: FAIL_ON,
      limitInputPixels: Number.isFinite(o.maxPixels) ? Math.floor(o.maxPixels) : false,
      ignoreIcc: !o.applyIccProfile,
    })
      .autoOrient()
      .resize(decodeWidth, decodeHeight, { fit: 'fill', fastShrinkOnLoad: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== decodeWidth || info.height !== decodeHeight) {
      throw new Error(
        `decoded to ${info.width}×${info.height}×${info.channels}, expected ${decodeWidth}×${decodeHeight}×3`,
      );
    }
    decoded = { data, width: info.width, height: info.height };
  } catch (err) {
    throw decodeError(name, format, err);
  }
  const t1 = performance.now();

  const unit = channelTables(undefined, undefined);
  const cropTables = channelTables(o.mean, o.std);
  const hwc = o.layout === 'hwc-uint8';
  const boxData = hwc
    ? new Uint8Array(3 * o.letterboxSize * o.letterboxSize)
    : new Float32Array(3 * o.letterboxSize * o.letterboxSize);
  const cropData = hwc
    ? new Uint8Array(3 * o.cropSize * o.cropSize)
    : new Float32Array(3 * o.cropSize * o.cropSize);
  const write = (
    src: RawRgb,
    rect: Rect,
    dst: Float32Array | Uint8Array,
    size: number,
    left: number,
    top: number,
    tables: readonly [Float32Array, Float32Array, Float32Array],
  ): void => {
    if (dst instanceof Uint8Array) writeHwc(src, rect, dst, size, left, top);
    else writeChw(src, rect, dst, size, left, top, tables);
  };
  const padValue = hwc ? PAD_VALUE : (unit[0][PAD_VALUE] ?? 0);
  const cropRect = { left: crop.left, top: crop.top, width: o.cropSize, height: o.cropSize };
  const whole = { left: 0, top: 0, width: decoded.width, height: decoded.height };
  try {
    if (boxIsLarger) {
      // Start the crop's resize on the pool, then fill the letterbox here while it runs.
      const small =
        decoded.width === crop.resizedWidth && decoded.height === crop.resizedHeight
          ? Promise.resolve(decoded)
          : resizeRaw(decoded, crop.resizedWidth, crop.resizedHeight, cropRect);
      boxData.fill(padValue);
      write(decoded, whole, boxData, o.letterboxSize, box.padX, box.padY, unit);
      const cropped = await small;
      const rect =
        cropped === decoded ? cropRect : { left: 0, top: 0, width: o.cropSize, height: o.cropSize };
      write(cropped, rect, cropData, o.cropSize, 0, 0, cropTables);
    } else {
      const content = resizeRaw(decoded, box.contentWidth, box.contentHeight, undefined);
      write(decoded, cropRect, cropData, o.cropSize, 0, 0, cropTables);
      const boxed = await content;
      boxData.fill(padValue);
      write(
        boxed,
        { left: 0, top: 0, width: boxed.width, height: boxed.height },
        boxData,
        o.letterboxSize,
        box.padX,
        box.padY,
        unit,
      );
    }
  } catch (err) {
    throw decodeError(name, format, err);
  }
  const t2 = performance.now();

  return {
    name,
    width,
    height,
    format,
    orientation,
    decodedWidth: decoded.width,
    decodedHeight: decoded.height,
    letterbox: {
      data: boxData,
      size: o.letterboxSize,
      scale: box.scale,
      padX: box.padX,
      padY: box.padY,
      contentWidth: box.contentWidth,
      contentHeight: box.contentHeight,
    },
    layout: o.layout,
    crop: { data: cropData, size: o.cropSize },
    decoded: o.keepDecoded ? decoded : null,
    decodeMs: t1 - t0,
    tensorMs: t2 - t1,
  };
}

/** Ultralytics `LetterBox` (centre, scale-up allowed) arithmetic for a w×h image into a size×size square. */
function letterboxGeometry(width: number, height: number, size: number) {
  const scale = Math.min(size / width, size / height);
  const contentWidth = Math.max(1, Math.min(size, Math.round(width * scale)));
  const contentHeight = Math.max(1, Math.min(size, Math.round(height * scale)));
  // Ultralytics: top = round(dh - 0.1), left = round(dw - 0.1), the odd pixel going to the bottom / right.
  // Math.max turns round(-0.1) = -0 into 0.
  const padX = Math.max(0, Math.round((size - contentWidth) / 2 - 0.1));
  const padY = Math.max(0, Math.round((size - contentHeight) / 2 - 0.1));
  return { scale, contentWidth, contentHeight, padX, padY };
}

/** torchvision `Resize(size)` (shorter side, longer side truncated) then `CenterCrop(size)` arithmetic. */
function cropGeometry(width: number, height: number, size: number) {
  const resizedWidth = width <= height ? size : Math.max(size, Math.trunc((size * width) / height));
  const resizedHeight = width <= height ? Math.max(size, Math.trunc((size * height) / width)) : size;
  return {
    resizedWidth,
    resizedHeight,
    left: roundHalfEven((resizedWidth - size) / 2),
    top: roundHalfEven((resizedHeight - size) / 2),
  };
}

/** Resizes a raw RGB buffer with sharp (off this thread), optionally extracting a rectangle of the result. */
async function resizeRaw(
  src: RawRgb,
  width: number,
  height: number,
  extract: Rect | undefined,
): Promise<RawRgb> {
  let pipeline = sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } }).resize(
    width,
    height,
    { fit: 'fill' },
  );
  if (extract !== undefined) pipeline = pipeline.extract(extract);
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Per-channel lookup tables byte → float32: value / 255, then (value − mean) / std. */
function channelTables(
  mean: readonly [number, number, number] | undefined,
  std: readonly [number, number, number] | undefined,
): readonly [Float32Array, Float32Array, Float32Array] {
  const table = (c: 0 | 1 | 2): Float32Array => {
    const m = mean?.[c] ?? 0;
    const s = std?.[c] ?? 1;
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - m) / s;
    return t;
  };
  return [table(0), table(1), table(2)];
}

/**
 * Converts a rectangle of an HWC uint8 RGB image into the three planes of a CHW float32 square tensor of side
 * `size`, at (dstLeft, dstTop), through per-channel lookup tables. One pass over the pixels, no allocation.
 */
function writeChw(
  src: RawRgb,
  rect: Rect,
  dst: Float32Array,
  size: number,
  dstLeft: number,
  dstTop: number,
  tables: readonly [Float32Array, Float32Array, Float32Array],
): void {
  const [tr, tg, tb] = tables;
  const plane = size * size;
  const s = src.data;
  for (let y = 0; y < rect.height; y++) {
    let i = ((rect.top + y) * src.width + rect.left) * 3;
    let o = (dstTop + y) * size + dstLeft;
    const end = o + rect.width;
    for (; o < end; o++, i += 3) {
      // Indices are in range by construction; `?? 0` only satisfies noUncheckedIndexedAccess.
      dst[o] = tr[s[i] ?? 0] ?? 0;
      dst[o + plane] = tg[s[i + 1] ?? 0] ?? 0;
      dst[o + 2 * plane] = tb[s[i + 2] ?? 0] ?? 0;
    }
  }
}

/** Copies a rectangle of an HWC uint8 RGB image into a size × size × 3 one at (dstLeft, dstTop), row by row. */
function writeHwc(
  src: RawRgb,
  rect: Rect,
  dst: Uint8Array,
  size: number,
  dstLeft: number,
  dstTop: number,
): void {
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.top + y) * src.width + rect.left) * 3;
    dst.set(src.data.subarray(from, from + rect.width * 3), ((dstTop + y) * size + dstLeft) * 3);
  }
}

function checkSize(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${option} must be a positive integer, got ${value}`);
}

function formatPixels(pixels: number): string {
  return pixels >= 1e6 ? `${(pixels / 1e6).toFixed(1)} megapixels` : `${pixels} pixels`;
}
