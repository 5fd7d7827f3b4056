/**
 * The plan of a corpus: every image described before any pixel work (which crop of which source, how it is
 * graded, grained, sized and encoded; which original each copy is of and how a near copy is edited), and the
 * encoder settings the plans for originals and near copies share.
 */
import type { PhotoFormat } from './manifest.js';

/** WebP quality range, of originals and of the near copies of a WebP original. */
export const WEBP_QUALITY: readonly [number, number] = [70, 90];
/** Entries in the grain table (a power of two). */
export const GRAIN_SIZE = 1 << 20;

export type QuarterTurn = 0 | 90 | 180 | 270;

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface CropPlan {
  readonly source: number;
  /** Region of the source raster to take (before rotation), large enough to hold the tilted crop. */
  readonly region: Box;
  /** Size of the crop in the middle of the rotated region. */
  readonly cropWidth: number;
  readonly cropHeight: number;
  /** Total rotation: a quarter turn plus a small tilt, in degrees. */
  readonly angle: number;
  readonly flip: boolean;
}

export interface Grade {
  readonly brightness: number;
  readonly saturation: number;
  readonly hue: number;
  /** Per-channel gains (white balance). */
  readonly gains: readonly [number, number, number];
}

export interface Camera {
  readonly make: string;
  readonly model: string;
}

export interface OriginalPlan {
  readonly kind: 'original';
  readonly file: string;
  readonly format: PhotoFormat;
  readonly width: number;
  readonly height: number;
  readonly quality: number | null;
  /** The crop of a source photo the original is made of. */
  readonly crop: CropPlan;
  readonly grade: Grade;
  readonly camera: Camera | null;
  readonly taken: string;
  /** Sensor grain added at full size: standard deviation in levels (0 for none) and where in GRAIN it starts. */
  readonly grain: number;
  readonly grainOffset: number;
  readonly recipe: string;
}

export interface EditPlan {
  /** Fractions cut from each side, or null. */
  readonly crop: {
    readonly left: number;
    readonly top: number;
    readonly right: number;
    readonly bottom: number;
  } | null;
  /** Scale factor, or null. */
  readonly scale: number | null;
  readonly format: PhotoFormat;
  readonly quality: number | null;
  readonly description: string;
}

export interface CopyPlan {
  readonly kind: 'exact' | 'near';
  readonly file: string;
  /** Index of the original in the plan's originals. */
  readonly of: number;
  /** For a near copy. */
  readonly edit: EditPlan | null;
}

export interface CorpusPlan {
  readonly originals: readonly OriginalPlan[];
  readonly copies: readonly CopyPlan[];
}
