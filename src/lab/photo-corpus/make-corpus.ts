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
 *
 * This module runs the build (folder checks, decoding the sources, writing every image, the manifest before and
 * after). The rest of the folder: options.ts (options, defaults, result), manifest.ts (the manifest and the
 * folder's bookkeeping), sources.ts (source photos), plan.ts with originals.ts, near-copies.ts, file-names.ts,
 * dice.ts and plan-types.ts (every choice, drawn up front), render-original.ts (an original's pixels).
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchError, FileError, toError } from '../../core/errors.js';
import {
  PHOTO_CORPUS_GENERATOR,
  PHOTO_CORPUS_MANIFEST,
  isCached,
  readOwnManifest,
  removeOldCorpus,
  writeManifest,
  type PhotoCorpusImage,
  type PhotoCorpusManifest,
} from './manifest.js';
import { renderNear } from './near-copies.js';
import {
  normalize,
  paramsOf,
  type PhotoCorpusOptions,
  type PhotoCorpusProgress,
  type PhotoCorpusResult,
} from './options.js';
import { planCorpus } from './plan.js';
import type { CopyPlan, CorpusPlan, OriginalPlan } from './plan-types.js';
import { grainTable, renderOriginal } from './render-original.js';
import {
  SourceRasters,
  byCodePoint,
  decodeSource,
  listSources,
  type Raster,
  type SourcePhoto,
} from './sources.js';

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
