/**
 * Near copies: what a photo goes through when it is shared, exported or touched up again (re-encoded, resized,
 * slightly cropped). Planning an edit of an original, and rendering it from the original's bytes.
 */
import sharp from 'sharp';
import type { Dice } from './dice.js';
import { WEBP_QUALITY, type EditPlan, type OriginalPlan } from './plan-types.js';

const EDITS: readonly { weight: number; crop: boolean; resize: boolean; requality: boolean }[] = [
  { weight: 0.25, crop: false, resize: false, requality: true },
  { weight: 0.22, crop: false, resize: true, requality: false },
  { weight: 0.18, crop: true, resize: false, requality: false },
  { weight: 0.15, crop: false, resize: true, requality: true },
  { weight: 0.12, crop: true, resize: true, requality: false },
  { weight: 0.08, crop: true, resize: false, requality: true },
];
const MAX_CROP_PER_SIDE = 0.03;
/**
 * JPEG re-encode qualities. Not below 70: at q60 the blocking of smooth skies and water is enough to move the
 * embedding of a few photos to cosine ≈ 0.9 of the original (bench/photo-corpus-check.mjs).
 */
const REENCODE_QUALITY: readonly [number, number] = [70, 92];
const RESIZE_RANGE: readonly [number, number] = [0.5, 0.75];

export function planEdit(dice: Dice, original: OriginalPlan): EditPlan {
  const e = dice.weighted(EDITS);
  const parts: string[] = [];
  const crop = e.crop
    ? {
        left: dice.uniform(0.005, MAX_CROP_PER_SIDE),
        top: dice.uniform(0.005, MAX_CROP_PER_SIDE),
        right: dice.uniform(0.005, MAX_CROP_PER_SIDE),
        bottom: dice.uniform(0.005, MAX_CROP_PER_SIDE),
      }
    : null;
  const scale = e.resize ? dice.int(RESIZE_RANGE[0] * 100, RESIZE_RANGE[1] * 100) / 100 : null;
  let format = original.format;
  let quality = original.quality;
  if (original.format === 'png') {
    // A lossless screenshot "re-encoded" is a screenshot saved as JPEG.
    if (e.requality) {
      format = 'jpeg';
      quality = dice.int(80, 92);
      parts.push(`saved as JPEG q${quality}`);
    }
  } else if (e.requality || quality === null) {
    const [lo, hi] = original.format === 'webp' ? WEBP_QUALITY : REENCODE_QUALITY;
    const q = original.quality ?? 85;
    let next = dice.int(lo, hi);
    for (let tries = 0; Math.abs(next - q) < 6 && tries < 20; tries++) next = dice.int(lo, hi);
    quality = next;
    parts.push(`q${quality} re-encode`);
  }
  if (crop !== null) {
    const pct = (v: number): string => (v * 100).toFixed(1);
    parts.push(`crop ${pct(crop.left)}/${pct(crop.top)}/${pct(crop.right)}/${pct(crop.bottom)}% (l/t/r/b)`);
  }
  if (scale !== null) parts.push(`${Math.round(scale * 100)}% resize`);
  return { crop, scale, format, quality, description: parts.join(', ') };
}

export async function renderNear(
  originalBytes: Buffer,
  original: OriginalPlan,
  edit: EditPlan,
): Promise<{ data: Buffer; width: number; height: number }> {
  let p = sharp(originalBytes);
  let w = original.width;
  let h = original.height;
  if (edit.crop !== null) {
    const left = Math.round(w * edit.crop.left);
    const top = Math.round(h * edit.crop.top);
    const width = w - left - Math.round(w * edit.crop.right);
    const height = h - top - Math.round(h * edit.crop.bottom);
    p = p.extract({ left, top, width, height });
    w = width;
    h = height;
  }
  if (edit.scale !== null) {
    w = Math.round(w * edit.scale);
    h = Math.round(h * edit.scale);
    p = p.resize(w, h, { fit: 'fill' });
  }
  if (edit.format === 'png') p = p.png({ compressionLevel: 6 });
  else if (edit.format === 'webp') p = p.webp({ quality: edit.quality ?? 80, effort: 3 });
  else {
    if (original.format === 'jpeg') p = p.keepExif();
    p = p.jpeg({ quality: edit.quality ?? original.quality ?? 90, chromaSubsampling: '4:2:0' });
  }
  const { data, info } = await p.toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
