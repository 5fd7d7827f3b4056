/**
 * The photo corpus of the ingest benchmark: N images of realistic camera sizes, JPEG qualities and file names,
 * derived from a few real photos, with a known share of exact copies (the same bytes under another name) and near
 * copies (the same photo re-encoded, resized or slightly cropped), and a manifest (`manifest.json`) that says which
 * file is which, so that the load tool can check what a service reports (`expectedDuplicates`, `groupOf`).
 *
 * How an original is made: a crop of a source photo (6–60% of it), quarter-turned, mirrored and tilted at random,
 * colour-graded, grained, upscaled to a camera size (4032×3024 down to 1600×1200, landscape
 * or portrait) and encoded as JPEG (quality 70–95, 4:2:0, with a camera's EXIF make and model), or, for a few, PNG
 * or WebP. Sources are used in turn and each crop is the best of several candidates, the one that overlaps least
 * the crops already taken from its source, so that originals share as little content as the sources allow: see docs/photo-corpus.md for how distinct
 * they are to the image embedder (bench/photo-corpus-check.mjs measures it).
 *
 * Deterministic: every choice is drawn up front from a seeded PRNG (stats.ts `seededRandom`) in a fixed order,
 * before any pixel work, so the corpus depends only on (source files and sizes, count, seed, shares), not on
 * concurrency. Cached: a folder whose manifest records the same parameters and source fingerprint, and whose files
 * are all there with their recorded sizes, is returned as is. A rebuild deletes only the files the old manifest
 * lists; a non-empty folder without a manifest of ours is refused. The manifest is written first as `building` (so
 * an interrupted run is still ours to clean up) and last as `complete`.
 *
 * Images go through sharp; file names, EXIF and the plan are pitlane's.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import sharp, { type Sharp } from 'sharp';
import { BenchError, FileError, toError } from '../../core/errors.js';
import { seededRandom } from '../stats.js';

/** Defaults of PhotoCorpusOptions (concurrency defaults to the machine's available parallelism). */
export const PHOTO_CORPUS_DEFAULTS = Object.freeze({
  sources: Object.freeze<string[]>(['/usr/share/darknet/data']),
  seed: 42,
  exactShare: 0.1,
  nearShare: 0.1,
});

/** The `generator` field of every manifest this module writes; a folder whose manifest lacks it is not ours. */
export const PHOTO_CORPUS_GENERATOR = 'pitlane photo-corpus';
export const PHOTO_CORPUS_MANIFEST = 'manifest.json';

export interface PhotoCorpusOptions {
  /** Folder the corpus is written to, flat; created if missing. */
  readonly out: string;
  /** Number of images, copies included. */
  readonly count: number;
  /** Folders of source photos (the JPEG, PNG and WebP files in each, not in sub-folders). Default: darknet's photos. */
  readonly sources?: readonly string[];
  /** PRNG seed (default 42). */
  readonly seed?: number;
  /** Share of `count` that are byte-identical copies of an original (default 0.1). */
  readonly exactShare?: number;
  /** Share of `count` that are near copies (re-encoded, resized, slightly cropped) of an original (default 0.1). */
  readonly nearShare?: number;
  /** Images made at once (default: available parallelism). Does not change the output. */
  readonly concurrency?: number;
  /** Called for what is skipped, not fatal: a source photo that does not decode. */
  readonly onWarning?: (message: string) => void;
}

/** Progress of a build: `done` of `total` images written. */
export interface PhotoCorpusProgress {
  readonly done: number;
  readonly total: number;
}

export interface PhotoCorpusResult {
  /** The corpus folder (absolute). */
  readonly dir: string;
  readonly manifest: PhotoCorpusManifest;
  /** True when the folder already held this corpus and nothing was written. */
  readonly cached: boolean;
  /** What was skipped (also passed to `onWarning`). */
  readonly warnings: readonly string[];
}

const PhotoFormatSchema = Type.Union([Type.Literal('jpeg'), Type.Literal('png'), Type.Literal('webp')]);

export const PhotoCorpusImageSchema = Type.Object({
  /** File name in the corpus folder (no folders). */
  file: Type.String({ pattern: '^[^/\\\\]+$' }),
  /** `original`, or a copy of one: `exact` (same bytes) or `near` (an edit of it). */
  kind: Type.Union([Type.Literal('original'), Type.Literal('exact'), Type.Literal('near')]),
  /** For a copy, the file of its original; null for an original. */
  of: Type.Union([Type.String(), Type.Null()]),
  /** For a near copy, what was done, e.g. `q62 re-encode, 60% resize`; null otherwise. */
  edit: Type.Union([Type.String(), Type.Null()]),
  /** For an original, how it was made from the sources (for diagnosis); null for a copy. */
  recipe: Type.Union([Type.String(), Type.Null()]),
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  format: PhotoFormatSchema,
  /** Encoder quality (JPEG, WebP); null for PNG. */
  quality: Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Null()]),
  /** File size. */
  bytes: Type.Integer({ minimum: 0 }),
});

export const PhotoCorpusManifestSchema = Type.Object({
  version: Type.Literal(1),
  generator: Type.Literal(PHOTO_CORPUS_GENERATOR),
  /** `building` while files are written; `complete` once they all are. */
  state: Type.Union([Type.Literal('building'), Type.Literal('complete')]),
  /** What the corpus was made from: a cached corpus is reused only when these (and the fingerprint) match. */
  params: Type.Object({
    count: Type.Integer({ minimum: 1 }),
    seed: Type.Number(),
    exact_share: Type.Number(),
    near_share: Type.Number(),
    /** Source folders, absolute. */
    sources: Type.Array(Type.String()),
  }),
  /** sha256 of the source files' names and sizes. */
  sources_fingerprint: Type.String(),
  /** Number of images. */
  count: Type.Integer({ minimum: 0 }),
  /** Sum of the images' sizes. */
  total_bytes: Type.Integer({ minimum: 0 }),
  /** Number of originals, i.e. of groups (an original with its copies). */
  groups: Type.Integer({ minimum: 0 }),
  /** Every image, sorted by file name. */
  images: Type.Array(PhotoCorpusImageSchema),
});

export type PhotoFormat = Static<typeof PhotoFormatSchema>;
export type PhotoCorpusImage = Static<typeof PhotoCorpusImageSchema>;
export type PhotoCorpusManifest = Static<typeof PhotoCorpusManifestSchema>;

/**
 * The duplicates a service must report for the whole corpus, whatever the upload order: a group of an original, its
 * e exact copies and n near copies (all distinct bytes, all near one another) yields e exact and n near duplicates,
 * whichever of them arrives first.
 */
export function expectedDuplicates(manifest: PhotoCorpusManifest): { exact: number; near: number } {
  let exact = 0;
  let near = 0;
  for (const image of manifest.images) {
    if (image.kind === 'exact') exact++;
    else if (image.kind === 'near') near++;
  }
  return { exact, near };
}

/** File → the file of its group's original (an original maps to itself). */
export function groupOf(manifest: PhotoCorpusManifest): Map<string, string> {
  return new Map(manifest.images.map((image) => [image.file, image.of ?? image.file]));
}

/** Reads and checks a complete corpus manifest. Throws FileError if it is missing, not ours, invalid or unfinished. */
export async function readPhotoCorpusManifest(dir: string): Promise<PhotoCorpusManifest> {
  const file = join(resolve(dir), PHOTO_CORPUS_MANIFEST);
  const found = await readOwnManifest(file);
  if (found.state === 'missing') throw new FileError(file, 'no photo corpus here (no manifest.json)');
  if (found.state === 'foreign')
    throw new FileError(file, `not a ${PHOTO_CORPUS_GENERATOR} manifest: ${found.why}`);
  if (found.manifest.state !== 'complete') {
    throw new FileError(file, 'the corpus was not finished (its build was interrupted); make it again');
  }
  return found.manifest;
}

type OwnManifest =
  | { readonly state: 'missing' }
  | { readonly state: 'foreign'; readonly why: string }
  | { readonly state: 'ours'; readonly manifest: PhotoCorpusManifest };

async function readOwnManifest(file: string): Promise<OwnManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw new FileError(file, `cannot read: ${toError(err).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { state: 'foreign', why: `not JSON (${toError(err).message})` };
  }
  if (!Value.Check(PhotoCorpusManifestSchema, doc)) {
    const first = [...Value.Errors(PhotoCorpusManifestSchema, doc)].slice(0, 3);
    return { state: 'foreign', why: first.map((e) => `${e.path || '/'} ${e.message}`).join('; ') };
  }
  return { state: 'ours', manifest: doc };
}

// ---------------------------------------------------------------------------------------------------------------
// Sources

const SOURCE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
/** Sources are decoded once, at most this long a side: an original is a crop of one, upscaled, so more would not show. */
const SOURCE_LONG_SIDE = 1600;
/** Decoded sources kept in memory at once (the rest are decoded again when used). */
const SOURCE_CACHE_ENTRIES = 48;

interface SourceFile {
  readonly path: string;
  /** File name in its source folder, for recipes. */
  readonly name: string;
  readonly size: number;
}

interface SourcePhoto extends SourceFile {
  /** Size of the decoded raster (upright, at most SOURCE_LONG_SIDE). */
  readonly width: number;
  readonly height: number;
}

interface Raster {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

async function listSources(
  folders: readonly string[],
  exclude: string,
): Promise<{ files: SourceFile[]; fingerprint: string }> {
  const files: SourceFile[] = [];
  const hash = createHash('sha256');
  for (const [i, folder] of folders.entries()) {
    let entries: string[];
    try {
      if (!(await stat(folder)).isDirectory()) throw new FileError(folder, 'source is not a folder');
      entries = await readdir(folder);
    } catch (err) {
      if (err instanceof FileError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new FileError(
        folder,
        code === 'ENOENT'
          ? 'source folder does not exist'
          : `cannot read source folder: ${toError(err).message}`,
        { cause: err },
      );
    }
    const found: SourceFile[] = [];
    for (const name of entries.sort(byCodePoint)) {
      if (!SOURCE_EXTENSIONS.has(extname(name).toLowerCase())) continue;
      const path = join(folder, name);
      if (path === exclude || path.startsWith(exclude + sep)) continue; // the corpus itself, inside a source
      const s = await stat(path).catch(() => null);
      if (s === null || !s.isFile()) continue;
      found.push({ path, name, size: s.size });
      hash.update(`${i}\t${name}\t${s.size}\n`);
    }
    if (found.length === 0) throw new FileError(folder, 'source folder has no JPEG, PNG or WebP photos');
    files.push(...found);
  }
  return { files, fingerprint: hash.digest('hex') };
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function decodeSource(path: string): Promise<Raster> {
  const { data, info } = await sharp(path, { failOn: 'error' })
    .autoOrient()
    .resize({ width: SOURCE_LONG_SIDE, height: SOURCE_LONG_SIDE, fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

/** Decoded sources, least recently used dropped first. */
class SourceRasters {
  private readonly cache = new Map<number, Promise<Raster>>();
  constructor(private readonly photos: readonly SourcePhoto[]) {}

  remember(i: number, raster: Raster): void {
    this.put(i, Promise.resolve(raster));
  }

  get(i: number): Promise<Raster> {
    const hit = this.cache.get(i);
    if (hit !== undefined) {
      this.cache.delete(i);
      this.cache.set(i, hit);
      return hit;
    }
    const photo = this.photos[i];
    if (photo === undefined) throw new Error(`internal: no source ${i}`);
    const p = decodeSource(photo.path);
    this.put(i, p);
    return p;
  }

  private put(i: number, p: Promise<Raster>): void {
    this.cache.set(i, p);
    while (this.cache.size > SOURCE_CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The plan: every random choice, drawn in a fixed order

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
const WEBP_QUALITY: readonly [number, number] = [70, 90];
/** Share of the originals encoded as PNG and as WebP; a corpus of at least 30 originals gets at least 3 of each. */
const PNG_SHARE = 0.02;
const WEBP_SHARE = 0.02;
/** Sensor grain, standard deviation in 8-bit levels, drawn per image (JPEG and WebP). */
const GRAIN_LEVELS: readonly [number, number] = [3, 8];
/** Entries in the grain table (a power of two). */
const GRAIN_SIZE = 1 << 20;

type QuarterTurn = 0 | 90 | 180 | 270;

interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

interface CropPlan {
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

interface Grade {
  readonly brightness: number;
  readonly saturation: number;
  readonly hue: number;
  /** Per-channel gains (white balance). */
  readonly gains: readonly [number, number, number];
}

interface Camera {
  readonly make: string;
  readonly model: string;
}

interface OriginalPlan {
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

interface EditPlan {
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

interface CopyPlan {
  readonly kind: 'exact' | 'near';
  readonly file: string;
  /** Index of the original in the plan's originals. */
  readonly of: number;
  /** For a near copy. */
  readonly edit: EditPlan | null;
}

interface CorpusPlan {
  readonly originals: readonly OriginalPlan[];
  readonly copies: readonly CopyPlan[];
}

/** The PRNG with the draws the plan needs. */
class Dice {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  unit(): number {
    return this.next();
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('internal: pick from an empty list');
    return item;
  }
  weighted<T extends { readonly weight: number }>(items: readonly T[]): T {
    const total = items.reduce((s, x) => s + x.weight, 0);
    let r = this.next() * total;
    for (const item of items) {
      r -= item.weight;
      if (r < 0) return item;
    }
    return this.pick(items);
  }
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  }
}

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

/** Counts of each kind for a corpus of `count` images. */
export function photoCorpusCounts(
  count: number,
  exactShare: number,
  nearShare: number,
): { originals: number; exact: number; near: number } {
  const exact = Math.round(count * exactShare);
  const near = Math.round(count * nearShare);
  return { originals: count - exact - near, exact, near };
}

function planCorpus(
  count: number,
  exactShare: number,
  nearShare: number,
  seed: number,
  sources: readonly SourcePhoto[],
): CorpusPlan {
  const dice = new Dice(seed);
  const counts = photoCorpusCounts(count, exactShare, nearShare);
  const names = new FileNames(dice);

  const nPng = Math.max(
    Math.round(counts.originals * PNG_SHARE),
    Math.min(3, Math.floor(counts.originals / 10)),
  );
  const nWebp = Math.max(
    Math.round(counts.originals * WEBP_SHARE),
    Math.min(3, Math.floor(counts.originals / 10)),
  );
  const formats = dice.shuffle(
    Array.from({ length: counts.originals }, (_, i): PhotoFormat =>
      i < nPng ? 'png' : i < nPng + nWebp ? 'webp' : 'jpeg',
    ),
  );

  const sourceOrder = new SourceOrder(dice, sources.length);
  const taken = sources.map((): Box[] => []);
  const originals = formats.map((format) => planOriginal(dice, format, sources, sourceOrder, taken, names));

  const copies: CopyPlan[] = [];
  const exactOf = cycleOfShuffles(dice, counts.originals, counts.exact);
  for (const of of exactOf)
    copies.push({ kind: 'exact', file: names.next(originals[of]?.format ?? 'jpeg').file, of, edit: null });
  const nearOf = cycleOfShuffles(dice, counts.originals, counts.near);
  const editsOf = new Map<number, Set<string>>();
  for (const of of nearOf) {
    const original = originals[of];
    if (original === undefined) throw new Error('internal: near copy of a missing original');
    const seen = editsOf.get(of) ?? new Set<string>();
    editsOf.set(of, seen);
    let edit = planEdit(dice, original);
    for (let tries = 0; seen.has(edit.description) && tries < 50; tries++) edit = planEdit(dice, original);
    seen.add(edit.description);
    copies.push({ kind: 'near', file: names.next(edit.format).file, of, edit });
  }
  return { originals, copies };
}

/** `n` indices in [0, size), each cycle a fresh shuffle, so copies go to distinct originals while they last. */
function cycleOfShuffles(dice: Dice, size: number, n: number): number[] {
  const out: number[] = [];
  const all = Array.from({ length: size }, (_, i) => i);
  while (out.length < n && size > 0) out.push(...dice.shuffle(all).slice(0, n - out.length));
  return out;
}

/** Sources in turn, each round in a fresh order, so every source is used about equally. */
class SourceOrder {
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

function planOriginal(
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

/** Near-copy edits: what a photo goes through when it is shared, exported or touched up again. */
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

function planEdit(dice: Dice, original: OriginalPlan): EditPlan {
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

// ---------------------------------------------------------------------------------------------------------------
// File names: a camera roll's mix

const CAMERAS: readonly {
  weight: number;
  camera: Camera | null;
  name: (d: Dice, t: Date) => string;
}[] = [
  {
    weight: 0.3,
    camera: { make: 'Apple', model: 'iPhone 13' },
    name: (d) => `IMG_${pad(d.int(1, 9999), 4)}.JPG`,
  },
  {
    weight: 0.2,
    camera: { make: 'Google', model: 'Pixel 7' },
    name: (d, t) => `PXL_${ymd(t)}_${hms(t)}${pad(d.int(0, 999), 3)}.jpg`,
  },
  {
    weight: 0.15,
    camera: { make: 'samsung', model: 'SM-S911B' },
    name: (_d, t) => `${ymd(t)}_${hms(t)}.jpg`,
  },
  {
    weight: 0.15,
    camera: { make: 'SONY', model: 'ILCE-7M3' },
    name: (d) => `DSC${pad(d.int(1, 99999), 5)}.JPG`,
  },
  {
    weight: 0.1,
    camera: { make: 'NIKON CORPORATION', model: 'NIKON D750' },
    name: (d) => `DSC_${pad(d.int(1, 9999), 4)}.JPG`,
  },
  { weight: 0.1, camera: null, name: (d, t) => `IMG-${ymd(t)}-WA${pad(d.int(0, 999), 4)}.jpg` },
];

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
function ymd(t: Date): string {
  return `${t.getUTCFullYear()}${pad(t.getUTCMonth() + 1, 2)}${pad(t.getUTCDate(), 2)}`;
}
function hms(t: Date): string {
  return `${pad(t.getUTCHours(), 2)}${pad(t.getUTCMinutes(), 2)}${pad(t.getUTCSeconds(), 2)}`;
}
function exifDate(t: Date): string {
  return `${t.getUTCFullYear()}:${pad(t.getUTCMonth() + 1, 2)}:${pad(t.getUTCDate(), 2)} ${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}`;
}

const FIRST_DAY = Date.UTC(2024, 0, 1);
const DAYS = 900;

/** Unique (case-insensitively) camera-like names, drawn from the plan's PRNG. */
class FileNames {
  private readonly taken = new Set<string>([PHOTO_CORPUS_MANIFEST]);
  constructor(private readonly dice: Dice) {}
  next(format: PhotoFormat): { file: string; camera: Camera | null; taken: string } {
    for (;;) {
      const t = new Date(FIRST_DAY + Math.floor(this.dice.unit() * DAYS * 86_400) * 1000);
      let file: string;
      let camera: Camera | null = null;
      if (format === 'png') file = `Screenshot_${ymd(t)}-${hms(t)}.png`;
      else if (format === 'webp') file = `IMG_${ymd(t)}_${hms(t)}.webp`;
      else {
        const style = this.dice.weighted(CAMERAS);
        file = style.name(this.dice, t);
        camera = style.camera;
      }
      if (this.taken.has(file.toLowerCase())) continue;
      this.taken.add(file.toLowerCase());
      return { file, camera, taken: exifDate(t) };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

/** The graded crop, at the crop's own size (a fraction of the source's). */
async function renderCrop(rasters: SourceRasters, crop: CropPlan, grade: Grade): Promise<Sharp> {
  const src = await rasters.get(crop.source);
  const rotated = await sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } })
    .extract(crop.region)
    .rotate(crop.angle, { background: '#000000' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const sideways = Math.abs(Math.round(crop.angle / 90)) % 2 === 1;
  const w = Math.min(rotated.info.width, sideways ? crop.cropHeight : crop.cropWidth);
  const h = Math.min(rotated.info.height, sideways ? crop.cropWidth : crop.cropHeight);
  let p = sharp(rotated.data, {
    raw: { width: rotated.info.width, height: rotated.info.height, channels: 3 },
  }).extract({
    left: Math.floor((rotated.info.width - w) / 2),
    top: Math.floor((rotated.info.height - h) / 2),
    width: w,
    height: h,
  });
  if (crop.flip) p = p.flop();
  const graded = await p
    .modulate({ brightness: grade.brightness, saturation: grade.saturation, hue: grade.hue })
    .linear([...grade.gains], [0, 0, 0])
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(graded.data, { raw: { width: graded.info.width, height: graded.info.height, channels: 3 } });
}

/** A table of Gaussian-ish noise (sum of four uniforms) in 1/16 levels, from the plan's seed. */
function grainTable(seed: number): Int8Array {
  const next = seededRandom(seed ^ 0x5bd1e995);
  const table = new Int8Array(GRAIN_SIZE);
  for (let i = 0; i < GRAIN_SIZE; i++) {
    const g = (next() + next() + next() + next() - 2) * Math.sqrt(3); // unit variance
    table[i] = Math.max(-127, Math.min(127, Math.round(g * 16)));
  }
  return table;
}

/** Adds luminance grain of `sigma` levels to RGB bytes in place (about 50 ms for 12 MP). */
function addGrain(rgb: Buffer, table: Int8Array, sigma: number, offset: number): void {
  const k = Math.round(sigma * 16);
  const mask = GRAIN_SIZE - 1;
  let j = offset;
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    j = (j + 1) & mask;
    const g = ((table[j] ?? 0) * k) >> 8;
    rgb[i] = clampByte((rgb[i] ?? 0) + g);
    rgb[i + 1] = clampByte((rgb[i + 1] ?? 0) + g);
    rgb[i + 2] = clampByte((rgb[i + 2] ?? 0) + g);
  }
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

async function renderOriginal(rasters: SourceRasters, plan: OriginalPlan, grain: Int8Array): Promise<Buffer> {
  const crop = await renderCrop(rasters, plan.crop, plan.grade);
  // Bilinear is enough to upscale (grain comes after) and twice as fast as lanczos3 at 12 MP.
  let p = crop.resize(plan.width, plan.height, { fit: 'fill', kernel: 'linear' });
  if (plan.grain > 0) {
    const full = await p.raw().toBuffer();
    addGrain(full, grain, plan.grain, plan.grainOffset);
    p = sharp(full, { raw: { width: plan.width, height: plan.height, channels: 3 } });
  }
  if (plan.format === 'png') return p.png({ compressionLevel: 6 }).toBuffer();
  if (plan.format === 'webp') return p.webp({ quality: plan.quality ?? 80, effort: 3 }).toBuffer();
  const withExif =
    plan.camera === null
      ? p
      : p.withExif({
          IFD0: {
            Make: plan.camera.make,
            Model: plan.camera.model,
            DateTime: plan.taken,
            Software: 'pitlane photo-corpus',
          },
        });
  return withExif.jpeg({ quality: plan.quality ?? 90, chromaSubsampling: '4:2:0' }).toBuffer();
}

async function renderNear(
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

// ---------------------------------------------------------------------------------------------------------------
// The build

interface NormalizedOptions {
  readonly out: string;
  readonly count: number;
  readonly sources: readonly string[];
  readonly seed: number;
  readonly exactShare: number;
  readonly nearShare: number;
  readonly concurrency: number;
}

function normalize(options: PhotoCorpusOptions): NormalizedOptions {
  const o = {
    out: resolve(options.out),
    count: options.count,
    sources: (options.sources ?? PHOTO_CORPUS_DEFAULTS.sources).map((s) => resolve(s)),
    seed: options.seed ?? PHOTO_CORPUS_DEFAULTS.seed,
    exactShare: options.exactShare ?? PHOTO_CORPUS_DEFAULTS.exactShare,
    nearShare: options.nearShare ?? PHOTO_CORPUS_DEFAULTS.nearShare,
    concurrency: options.concurrency ?? availableParallelism(),
  };
  const problems: string[] = [];
  if (!Number.isInteger(o.count) || o.count < 1)
    problems.push(`count must be a whole number ≥ 1, got ${o.count}`);
  if (!Number.isFinite(o.seed)) problems.push(`seed must be a number, got ${o.seed}`);
  for (const [k, v] of [
    ['exactShare', o.exactShare],
    ['nearShare', o.nearShare],
  ] as const) {
    if (!(v >= 0 && v < 1)) problems.push(`${k} must be in [0, 1), got ${v}`);
  }
  if (o.sources.length === 0) problems.push('sources must name at least one folder');
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
    problems.push(`concurrency must be a whole number ≥ 1, got ${o.concurrency}`);
  const counts = photoCorpusCounts(o.count, o.exactShare, o.nearShare);
  if (problems.length === 0 && counts.originals < 1) {
    problems.push(`exactShare + nearShare leave no originals in ${o.count} images`);
  }
  if (problems.length > 0) throw new BenchError(`photo corpus: ${problems.join('; ')}`);
  return o;
}

function paramsOf(o: NormalizedOptions): PhotoCorpusManifest['params'] {
  return {
    count: o.count,
    seed: o.seed,
    exact_share: o.exactShare,
    near_share: o.nearShare,
    sources: [...o.sources],
  };
}

async function isCached(dir: string, manifest: PhotoCorpusManifest): Promise<boolean> {
  if (manifest.state !== 'complete') return false;
  for (const image of manifest.images) {
    const s = await stat(join(dir, image.file)).catch(() => null);
    if (s === null || !s.isFile() || s.size !== image.bytes) return false;
  }
  return true;
}

/** Deletes what an old manifest of ours lists, then the manifest. */
async function removeOldCorpus(dir: string, manifest: PhotoCorpusManifest): Promise<void> {
  for (const image of manifest.images) {
    if (image.file.includes('/') || image.file.includes('\\') || image.file === '..' || image.file === '.')
      continue;
    await unlink(join(dir, image.file)).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
  await unlink(join(dir, PHOTO_CORPUS_MANIFEST));
}

async function writeManifest(dir: string, manifest: PhotoCorpusManifest): Promise<void> {
  const file = join(dir, PHOTO_CORPUS_MANIFEST);
  await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Makes (or finds cached) the photo corpus in `options.out`. Throws FileError for a missing or empty source folder
 * or an output folder that is not ours, BenchError for bad options or sources none of which decode.
 */
export async function makePhotoCorpus(
  options: PhotoCorpusOptions,
  onProgress?: (progress: PhotoCorpusProgress) => void,
): Promise<PhotoCorpusResult> {
  const o = normalize(options);
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const { files, fingerprint } = await listSources(o.sources, o.out);
  const params = paramsOf(o);
  const manifestFile = join(o.out, PHOTO_CORPUS_MANIFEST);

  // The folder: ours and current (cached), ours and stale (cleaned), empty or new, or someone else's (refused).
  const existing = await readOwnManifest(manifestFile);
  if (existing.state === 'ours') {
    const m = existing.manifest;
    if (
      m.sources_fingerprint === fingerprint &&
      JSON.stringify(m.params) === JSON.stringify(params) &&
      (await isCached(o.out, m))
    ) {
      onProgress?.({ done: m.count, total: m.count });
      return { dir: o.out, manifest: m, cached: true, warnings };
    }
    await removeOldCorpus(o.out, m);
  } else {
    const entries = await readdir(o.out).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new FileError(o.out, `cannot read the output folder: ${toError(err).message}`, { cause: err });
    });
    if (entries.length > 0) {
      throw new FileError(
        o.out,
        existing.state === 'foreign'
          ? `its manifest.json was not written by ${PHOTO_CORPUS_GENERATOR} (${existing.why}); refusing to delete anything here: give an empty or new folder`
          : `is not empty and has no ${PHOTO_CORPUS_GENERATOR} manifest.json; refusing to delete anything here: give an empty or new folder`,
      );
    }
  }
  await mkdir(o.out, { recursive: true });

  // Sources: decode each once (a photo that does not decode is skipped with a warning).
  const decoded: (Raster | null)[] = new Array<Raster | null>(files.length).fill(null);
  await runPool(
    files.map((f, i) => ({ f, i })),
    o.concurrency,
    async ({ f, i }) => {
      try {
        decoded[i] = await decodeSource(f.path);
      } catch (err) {
        warn(`skipped source photo ${f.path}: ${toError(err).message}`);
      }
    },
  );
  const photos: SourcePhoto[] = [];
  const rasters = new SourceRasters(photos);
  files.forEach((f, i) => {
    const r = decoded[i];
    if (r === null || r === undefined) return;
    rasters.remember(photos.length, r);
    photos.push({ ...f, width: r.width, height: r.height });
  });
  decoded.length = 0;
  if (photos.length === 0) {
    throw new BenchError(
      `photo corpus: none of the ${files.length} photos in ${o.sources.join(', ')} could be decoded`,
    );
  }

  const plan = planCorpus(o.count, o.exactShare, o.nearShare, o.seed, photos);
  const entries = new Map<string, PhotoCorpusImage>();
  const planned = (): PhotoCorpusImage[] => {
    const all: PhotoCorpusImage[] = [
      ...plan.originals.map((p) => entries.get(p.file) ?? entryOfOriginal(p, 0)),
      ...plan.copies.map((c) => entries.get(c.file) ?? entryOfCopy(c, plan, 0, null)),
    ];
    return all.sort((a, b) => byCodePoint(a.file, b.file));
  };
  const manifestOf = (state: 'building' | 'complete'): PhotoCorpusManifest => {
    const images = planned();
    return {
      version: 1,
      generator: PHOTO_CORPUS_GENERATOR,
      state,
      params,
      sources_fingerprint: fingerprint,
      count: images.length,
      total_bytes: images.reduce((s, x) => s + x.bytes, 0),
      groups: plan.originals.length,
      images,
    };
  };
  // A file of someone else's that happens to bear a planned name is never overwritten, nor later deleted as ours.
  for (const image of planned()) {
    if ((await stat(join(o.out, image.file)).catch(() => null)) !== null) {
      throw new FileError(
        join(o.out, image.file),
        'is in the way of the corpus (not written by it): move it away',
      );
    }
  }
  await writeManifest(o.out, manifestOf('building'));

  let done = 0;
  const total = o.count;
  onProgress?.({ done, total });
  const tick = (): void => {
    done++;
    onProgress?.({ done, total });
  };
  const grain = grainTable(o.seed);
  await runPool(plan.originals, o.concurrency, async (p) => {
    const data = await renderOriginal(rasters, p, grain);
    await writeFile(join(o.out, p.file), data, { flag: 'wx' }).catch((err: unknown) => {
      throw new FileError(join(o.out, p.file), `cannot write: ${toError(err).message}`, { cause: err });
    });
    entries.set(p.file, entryOfOriginal(p, data.byteLength));
    tick();
  });
  await runPool(plan.copies, o.concurrency, async (c) => {
    const original = plan.originals[c.of];
    if (original === undefined) throw new Error('internal: copy of a missing original');
    const from = join(o.out, original.file);
    const to = join(o.out, c.file);
    try {
      if (c.kind === 'exact' || c.edit === null) {
        await copyFile(from, to, fsConstants.COPYFILE_EXCL);
        entries.set(c.file, entryOfCopy(c, plan, (await stat(to)).size, null));
      } else {
        const near = await renderNear(await readFile(from), original, c.edit);
        await writeFile(to, near.data, { flag: 'wx' });
        entries.set(c.file, entryOfCopy(c, plan, near.data.byteLength, near));
      }
    } catch (err) {
      if (err instanceof FileError) throw err;
      throw new FileError(to, `cannot write: ${toError(err).message}`, { cause: err });
    }
    tick();
  });
  const manifest = manifestOf('complete');
  await writeManifest(o.out, manifest);
  return { dir: o.out, manifest, cached: false, warnings };
}

function entryOfOriginal(p: OriginalPlan, bytes: number): PhotoCorpusImage {
  return {
    file: p.file,
    kind: 'original',
    of: null,
    edit: null,
    recipe: p.recipe,
    width: p.width,
    height: p.height,
    format: p.format,
    quality: p.quality,
    bytes,
  };
}

function entryOfCopy(
  c: CopyPlan,
  plan: CorpusPlan,
  bytes: number,
  size: { width: number; height: number } | null,
): PhotoCorpusImage {
  const original = plan.originals[c.of];
  if (original === undefined) throw new Error('internal: copy of a missing original');
  const edit = c.edit;
  if (c.kind === 'exact' || edit === null) {
    return {
      ...entryOfOriginal(original, bytes),
      file: c.file,
      kind: 'exact',
      of: original.file,
      recipe: null,
    };
  }
  return {
    file: c.file,
    kind: 'near',
    of: original.file,
    edit: edit.description,
    recipe: null,
    width: size?.width ?? original.width,
    height: size?.height ?? original.height,
    format: edit.format,
    quality: edit.format === 'png' ? null : edit.quality,
    bytes,
  };
}
