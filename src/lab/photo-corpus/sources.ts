/**
 * The source photos a corpus is made from: listing them (with a fingerprint of their names and sizes, so that a
 * cached corpus is rebuilt when they change), decoding each once to an upright sRGB raster of bounded size, and
 * keeping the most recently used rasters in memory.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import sharp from 'sharp';
import { FileError, toError } from '../../core/errors.js';

const SOURCE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
/** Sources are decoded once, at most this long a side: an original is a crop of one, upscaled, so more would not show. */
const SOURCE_LONG_SIDE = 1600;
/** Decoded sources kept in memory at once (the rest are decoded again when used). */
const SOURCE_CACHE_ENTRIES = 48;

export interface SourceFile {
  readonly path: string;
  /** File name in its source folder, for recipes. */
  readonly name: string;
  readonly size: number;
}

export interface SourcePhoto extends SourceFile {
  /** Size of the decoded raster (upright, at most SOURCE_LONG_SIDE). */
  readonly width: number;
  readonly height: number;
}

export interface Raster {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

export async function listSources(
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

export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function decodeSource(path: string): Promise<Raster> {
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
export class SourceRasters {
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
