/**
 * The corpus manifest (`manifest.json`): its schema and type, the duplicates it promises (`expectedDuplicates`,
 * `groupOf`), and the folder bookkeeping around it — reading a manifest and telling ours from someone else's,
 * checking that a cached corpus is all there, deleting an old corpus of ours, writing a manifest atomically.
 */
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { FileError, toError } from '../../core/errors.js';

/** The `generator` field of every manifest this module writes; a folder whose manifest lacks it is not ours. */
export const PHOTO_CORPUS_GENERATOR = 'pitlane photo-corpus';
/** The manifest's file name in the corpus folder. */
export const PHOTO_CORPUS_MANIFEST = 'manifest.json';

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

export type OwnManifest =
  | { readonly state: 'missing' }
  | { readonly state: 'foreign'; readonly why: string }
  | { readonly state: 'ours'; readonly manifest: PhotoCorpusManifest };

export async function readOwnManifest(file: string): Promise<OwnManifest> {
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

export async function isCached(dir: string, manifest: PhotoCorpusManifest): Promise<boolean> {
  if (manifest.state !== 'complete') return false;
  for (const image of manifest.images) {
    const s = await stat(join(dir, image.file)).catch(() => null);
    if (s === null || !s.isFile() || s.size !== image.bytes) return false;
  }
  return true;
}

/** Deletes what an old manifest of ours lists, then the manifest. */
export async function removeOldCorpus(dir: string, manifest: PhotoCorpusManifest): Promise<void> {
  for (const image of manifest.images) {
    if (image.file.includes('/') || image.file.includes('\\') || image.file === '..' || image.file === '.')
      continue;
    await unlink(join(dir, image.file)).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
  await unlink(join(dir, PHOTO_CORPUS_MANIFEST));
}

export async function writeManifest(dir: string, manifest: PhotoCorpusManifest): Promise<void> {
  const file = join(dir, PHOTO_CORPUS_MANIFEST);
  await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}
