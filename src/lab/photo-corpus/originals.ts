/**
 * The plan of one original: its camera size and orientation, format and quality, the crop of a source photo it is
 * made of (the least overlapping of several candidates, sources taken in turn), its colour grade and grain, its
 * file name, and the recipe that the manifest records.
 */
import type { Dice } from './dice.js';
import type { FileNames } from './file-names.js';
import type { PhotoFormat } from './manifest.js';
import {
  GRAIN_SIZE,
  WEBP_QUALITY,
  type Box,
  type CropPlan,
  type Grade,
  type OriginalPlan,
  type QuarterTurn,
} from './plan-types.js';
import type { SourcePhoto } from './sources.js';

/** Camera and phone output sizes (landscape; a share are turned portrait), with how often each is drawn. */
const CAMERA_SIZES: readonly { width: number; height: number; weight: number }[] = [
  { width: 4032, height: 3024, weight: 0.2 }, // 12 MP phone
  { width: 4000, height: 3000, weight: 0.08 }, // 12 MP compact camera
  { width: 3264, height: 2448, weight: 0.2 }, // 8 MP
  { width: 2592, height: 1944, weight: 0.18 }, // 5 MP
  { width: 1920, height: 1080, weight: 0.17 }, // 2 MP, 16:9
  { width: 1600, height: 1200, weight: 0.17 }, // 1.9 MP
];
/** PNGs are screenshots and WebPs downloads: smaller (a 5 MP PNG of a photo is 12 MB). */
const PNG_SIZES = CAMERA_SIZES.filter((s) => s.width <= 1920);
const WEBP_SIZES = CAMERA_SIZES.filter((s) => s.width <= 2592);
const PORTRAIT_SHARE = 0.3;
const JPEG_QUALITY: readonly [number, number] = [70, 95];

/** Sensor grain, standard deviation in 8-bit levels, drawn per image (JPEG and WebP). */
const GRAIN_LEVELS: readonly [number, number] = [3, 8];

/**
 * Intersection over union of two boxes. A crop that nearly repeats another scores near 1; a small crop inside a
 * large one scores their area ratio, which suits the embedder: a 2× zoom into a photo is about 0.97 to the photo.
 */
function overlapShare(a: Box, b: Box): number {
  const w = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
  const h = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Sources in turn, each round in a fresh order, so every source is used about equally. */
export class SourceOrder {
  private round: number[] = [];
  constructor(
    private readonly dice: Dice,
    private readonly size: number,
  ) {}
  next(): number {
    if (this.round.length === 0)
      this.round = this.dice.shuffle(Array.from({ length: this.size }, (_, i) => i));
    return this.round.pop() ?? 0;
  }
}

/** Area of the crop, as a share of its source: drawn log-uniform in this range. */
const CROP_AREA: readonly [number, number] = [0.06, 0.6];
const QUARTER_TURNS: readonly { turn: QuarterTurn; weight: number }[] = [
  { turn: 0, weight: 0.55 },
  { turn: 90, weight: 0.2 },
  { turn: 270, weight: 0.2 },
  { turn: 180, weight: 0.05 },
];
const TILT_SHARE = 0.35;
/** Candidate crops drawn for each original; the least overlapping one is taken. */
const CROP_CANDIDATES = 16;
const MAX_TILT = 7;

export function planOriginal(
  dice: Dice,
  format: PhotoFormat,
  sources: readonly SourcePhoto[],
  order: SourceOrder,
  taken: Box[][],
  names: FileNames,
): OriginalPlan {
  const size = dice.weighted(format === 'jpeg' ? CAMERA_SIZES : format === 'png' ? PNG_SIZES : WEBP_SIZES);
  const portrait = dice.chance(PORTRAIT_SHARE);
  const width = portrait ? size.height : size.width;
  const height = portrait ? size.width : size.height;
  const quality =
    format === 'png'
      ? null
      : format === 'webp'
        ? dice.int(WEBP_QUALITY[0], WEBP_QUALITY[1])
        : dice.int(JPEG_QUALITY[0], JPEG_QUALITY[1]);

  const source = order.next();
  const photo = sources[source];
  if (photo === undefined) throw new Error('internal: no source');
  const turn = dice.weighted(QUARTER_TURNS).turn;
  const tilt = dice.chance(TILT_SHARE) ? dice.uniform(-MAX_TILT, MAX_TILT) : 0;
  const flip = dice.chance(0.5);
  // Best of a few candidate crops: the one that overlaps least the crops taken from this source so far, so that
  // originals share as little of a source as it allows (overlapping crops look alike to an image embedder).
  const prior = taken[source] ?? [];
  taken[source] = prior;
  let best: { crop: CropPlan; area: number; cx: number; cy: number; overlap: number } | null = null;
  for (let c = 0; c < CROP_CANDIDATES && (best === null || best.overlap > 0); c++) {
    const area = Math.exp(dice.uniform(Math.log(CROP_AREA[0]), Math.log(CROP_AREA[1])));
    const cx = dice.unit();
    const cy = dice.unit();
    const crop = cropPlan(photo, source, width / height, area, turn, tilt, flip, cx, cy);
    const overlap = Math.max(0, ...prior.map((p) => overlapShare(crop.region, p)));
    if (best === null || overlap < best.overlap) best = { crop, area, cx, cy, overlap };
  }
  if (best === null) throw new Error('internal: no crop candidate');
  prior.push(best.crop.region);
  const grade: Grade = {
    brightness: dice.uniform(0.85, 1.15),
    saturation: dice.chance(0.06) ? 0 : dice.uniform(0.75, 1.3),
    hue: dice.int(-12, 12),
    gains: (() => {
      const wb = dice.uniform(-0.06, 0.06);
      return [1 + wb, 1, 1 - wb] as const;
    })(),
  };
  // Grain is what makes an upscaled crop compress like a camera's photo (≈ 1–2 MB for 12 MP); screenshots have none.
  const grain = format === 'png' ? 0 : dice.uniform(GRAIN_LEVELS[0], GRAIN_LEVELS[1]);
  const grainOffset = dice.int(0, GRAIN_SIZE - 1);
  const name = names.next(format);
  return {
    kind: 'original',
    file: name.file,
    format,
    width,
    height,
    quality,
    crop: best.crop,
    grade,
    camera: format === 'jpeg' ? name.camera : null,
    taken: name.taken,
    grain,
    grainOffset,
    recipe:
      `${photo.name}: ${Math.round(best.area * 100)}% crop at (${best.cx.toFixed(2)}, ${best.cy.toFixed(2)})` +
      (turn !== 0 ? `, rot ${turn}` : '') +
      (tilt !== 0 ? `, tilt ${tilt.toFixed(1)}` : '') +
      (flip ? ', flip' : '') +
      (grade.saturation === 0 ? ', black and white' : ''),
  };
}

/** The source region for a crop of `area` (share of the source) of the given aspect after turning and tilting. */
function cropPlan(
  photo: SourcePhoto,
  source: number,
  outputAspect: number,
  area: number,
  turn: QuarterTurn,
  tilt: number,
  flip: boolean,
  cx: number,
  cy: number,
): CropPlan {
  const sideways = turn === 90 || turn === 270;
  const aspect = sideways ? 1 / outputAspect : outputAspect; // of the crop, in source orientation
  let cw = Math.sqrt(area * photo.width * photo.height * aspect);
  let ch = cw / aspect;
  const t = (Math.abs(tilt) * Math.PI) / 180;
  // The region that holds the crop tilted by t, shrunk (with the crop) until it fits the source.
  let rw = cw * Math.cos(t) + ch * Math.sin(t);
  let rh = cw * Math.sin(t) + ch * Math.cos(t);
  const fit = Math.min(1, photo.width / rw, photo.height / rh);
  cw *= fit;
  ch *= fit;
  rw = Math.min(photo.width, Math.ceil(rw * fit));
  rh = Math.min(photo.height, Math.ceil(rh * fit));
  const left = Math.round(Math.min(photo.width - rw, Math.max(0, cx * photo.width - rw / 2)));
  const top = Math.round(Math.min(photo.height - rh, Math.max(0, cy * photo.height - rh / 2)));
  return {
    source,
    region: { left, top, width: rw, height: rh },
    cropWidth: Math.max(2, Math.floor(cw)),
    cropHeight: Math.max(2, Math.floor(ch)),
    angle: turn + tilt,
    flip,
  };
}
