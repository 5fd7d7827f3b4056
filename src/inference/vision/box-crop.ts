/**
 * Crops for an embedding model beside the centre crop of image-prep.ts: a detection's region of the decoded
 * image squashed to the model's square input (sharp, off the main thread), and the conversion of a prepared
 * crop between the two layouts models take (HWC bytes, CHW floats in 0..1), for a detector and an embedder
 * that disagree.
 */
import sharp from 'sharp';
import type { Box } from './nms.js';
import type { PreparedImage, RawRgb } from './image-prep.js';

/** The pixel layout a model's image input takes. */
export type CropLayout = 'hwc-uint8' | 'chw-float';

/** The prepared image with its crop in the other layout (a detector and an embedder that disagree). */
export function withCropLayout(p: PreparedImage, layout: CropLayout): PreparedImage {
  const { data, size } = p.crop;
  const plane = size * size;
  if (layout === 'hwc-uint8' && data instanceof Float32Array) {
    const out = new Uint8Array(plane * 3);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((data[c * plane + i] ?? 0) * 255);
    }
    return { ...p, crop: { data: out, size } };
  }
  if (layout === 'chw-float' && data instanceof Uint8Array) {
    const out = new Float32Array(plane * 3);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) out[c * plane + i] = (data[i * 3 + c] ?? 0) / 255;
    }
    return { ...p, crop: { data: out, size } };
  }
  return p;
}

/**
 * A box's region of the decoded image (the box in source pixels), squashed to `size` × `size` (null: the size of
 * the prepared centre crop), as a prepared image whose crop is that region in `layout`.
 */
export async function cropBox(
  decoded: RawRgb,
  prepared: PreparedImage,
  box: Box,
  size: number | null,
  layout: CropLayout,
): Promise<PreparedImage> {
  const sx = prepared.decodedWidth / prepared.width;
  const sy = prepared.decodedHeight / prepared.height;
  const left = Math.max(0, Math.min(decoded.width - 1, Math.floor(box[0] * sx)));
  const top = Math.max(0, Math.min(decoded.height - 1, Math.floor(box[1] * sy)));
  const width = Math.max(1, Math.min(decoded.width - left, Math.ceil((box[2] - box[0]) * sx)));
  const height = Math.max(1, Math.min(decoded.height - top, Math.ceil((box[3] - box[1]) * sy)));
  const side = size ?? prepared.crop.size;
  const { data } = await sharp(decoded.data, {
    raw: { width: decoded.width, height: decoded.height, channels: 3 },
  })
    .extract({ left, top, width, height })
    .resize(side, side, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const bytes = {
    ...prepared,
    crop: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), size: side },
  };
  return layout === 'hwc-uint8' ? bytes : withCropLayout(bytes, 'chw-float');
}
