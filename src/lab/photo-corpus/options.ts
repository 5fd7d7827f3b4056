/**
 * What a caller asks of a photo corpus (PhotoCorpusOptions, with their defaults), what it gets back, and the
 * options normalised and checked once, every problem listed in one BenchError.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { BenchError } from '../../core/errors.js';
import type { PhotoCorpusManifest } from './manifest.js';
import { photoCorpusCounts } from './plan.js';

/** Defaults of PhotoCorpusOptions (concurrency defaults to the machine's available parallelism). */
export const PHOTO_CORPUS_DEFAULTS = Object.freeze({
  sources: Object.freeze<string[]>(['/usr/share/darknet/data']),
  seed: 42,
  exactShare: 0.1,
  nearShare: 0.1,
});

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

export interface NormalizedOptions {
  readonly out: string;
  readonly count: number;
  readonly sources: readonly string[];
  readonly seed: number;
  readonly exactShare: number;
  readonly nearShare: number;
  readonly concurrency: number;
}

export function normalize(options: PhotoCorpusOptions): NormalizedOptions {
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

export function paramsOf(o: NormalizedOptions): PhotoCorpusManifest['params'] {
  return {
    count: o.count,
    seed: o.seed,
    exact_share: o.exactShare,
    near_share: o.nearShare,
    sources: [...o.sources],
  };
}
