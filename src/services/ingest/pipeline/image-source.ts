/**
 * Step 1 of a batch: where an image's bytes come from and what they hash to, without reading a file whole. It
 * owns the server-side path rules (only under the configured roots, symlinks followed, no probing of the file
 * system outside them), the per-file size limit, and the imohash (three samples of a file).
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { imohashFile, imohashHex } from '../hashing/imohash.js';
import type { IngestConfig, IngestItem, LoadedImage } from './ingest-types.js';

/** An item refused before it was read: a path outside the roots, not a file, too large, or refused upstream. */
export class ItemRefused extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the size and imohash of items, under the path rules of one config. */
export class ImageSource {
  private rootsReal: Promise<string[]> | null = null;

  constructor(private readonly config: Pick<IngestConfig, 'roots' | 'maxFileBytes'>) {}

  /** Size, imohash and a reader of one item, without reading a file whole. Rejects with ItemRefused. */
  async load(item: IngestItem): Promise<Omit<LoadedImage, 'index' | 'name'>> {
    if ('refused' in item) throw new ItemRefused(item.refused.reason, item.refused.message);
    if ('bytes' in item) {
      const { bytes } = item;
      return { size: bytes.byteLength, hash: imohashHex(bytes), source: bytes };
    }
    const file = 'path' in item ? await this.resolvePath(item.path) : item.spooled;
    const s = await stat(file);
    if (!s.isFile()) throw new ItemRefused('unreadable', 'is not a file');
    if (s.size > this.config.maxFileBytes) throw new ItemRefused('too-large', this.tooLarge(s.size));
    const hash = await imohashFile(file);
    return { size: s.size, hash, source: file };
  }

  private tooLarge(size: number): string {
    const mib = (n: number): string => `${Math.round((n / 1048576) * 10) / 10} MiB`;
    return `is ${mib(size)}, over the per-file limit of ${mib(this.config.maxFileBytes)} (--max-file-mb)`;
  }

  /** Resolves a server-side path, refusing anything that does not resolve inside a configured root. */
  private async resolvePath(path: string): Promise<string> {
    this.rootsReal ??= Promise.all(
      this.config.roots.map(async (r) => realpath(resolve(r)).catch(() => resolve(r))),
    );
    const roots = await this.rootsReal;
    if (roots.length === 0) {
      throw new ItemRefused(
        'outside-roots',
        'server-side paths are not enabled (start the service with --root DIR)',
      );
    }
    if (!isAbsolute(path)) {
      throw new ItemRefused(
        'outside-roots',
        `is not an absolute path; give a path under ${roots.join(', ')}`,
      );
    }
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      // Say "outside" for paths outside the roots even when they do not exist: no probing of the file system.
      const inside = roots.some((r) => isInside(r, resolve(path)));
      throw new ItemRefused(
        inside ? 'unreadable' : 'outside-roots',
        inside ? 'no such file' : outsideMessage(roots),
      );
    }
    if (!roots.some((r) => isInside(r, real))) throw new ItemRefused('outside-roots', outsideMessage(roots));
    return real;
  }
}

function outsideMessage(roots: readonly string[]): string {
  return `is outside the allowed roots (${roots.join(', ')}); refused`;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`));
}
