/**
 * What image-prep.ts accepts and how it refuses: the three formats (sniffed from their magic bytes, so nothing
 * else ever reaches libvips, and a GIF, TIFF, PDF or SVG is named as such), and ImageError, the one error of a bad
 * image, with a stable reason; whatever sharp throws while decoding an accepted format becomes one.
 */
import { open } from 'node:fs/promises';
import { PitlaneError } from '../../core/errors.js';

/** The image formats prepareImage accepts. */
export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** Why an image was refused; stable values a caller can count or branch on. */
export type ImageErrorReason =
  'empty' | 'unreadable' | 'not-an-image' | 'unsupported-format' | 'corrupt' | 'too-many-pixels';

/**
 * One image that could not be prepared. It names the image (file path or the caller's name) and the reason; one
 * bad image is one ImageError, never a crash. Code PL_ERR_ITEM: a pipeline skips or fails the item per its policy.
 */
export class ImageError extends PitlaneError {
  /** The file path or caller-given name of the image. */
  readonly image: string;
  /** Why it was refused. */
  readonly reason: ImageErrorReason;
  constructor(image: string, reason: ImageErrorReason, message: string, options?: { cause?: unknown }) {
    super('PL_ERR_ITEM', `${image}: ${message}`, options);
    this.image = image;
    this.reason = reason;
    this.name = 'ImageError';
  }
}

/** Bytes of a file's start that sniffFormat looks at. */
export const SNIFF_BYTES = 256;

/** The first `n` bytes of a file (fewer when it is shorter). */
export async function readHead(path: string, n: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const into = Buffer.alloc(n);
    let done = 0;
    for (;;) {
      const { bytesRead } = await handle.read(into, done, n - done, done);
      if (bytesRead === 0 || done + bytesRead === n) return into.subarray(0, done + bytesRead);
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** Recognises JPEG, PNG and WebP by their magic bytes; refuses everything else before libvips sees it. */
export function sniffFormat(name: string, b: Buffer): ImageFormat {
  if (b.length === 0)
    throw new ImageError(name, 'empty', 'is empty (0 bytes); expected a JPEG, PNG or WebP image');
  const ascii = (start: number, end: number): string => b.toString('latin1', start, end);
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  const other = knownOtherFormat(ascii);
  if (other !== undefined) {
    throw new ImageError(
      name,
      'unsupported-format',
      `is ${other}; only JPEG, PNG and WebP images are accepted`,
    );
  }
  throw new ImageError(name, 'not-an-image', 'is not an image (no JPEG, PNG or WebP signature)');
}

/** Names a few formats people send by mistake, so the error can say what the file is. */
function knownOtherFormat(ascii: (start: number, end: number) => string): string | undefined {
  const head = ascii(0, 6);
  if (head === 'GIF87a' || head === 'GIF89a') return 'GIF';
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) return 'TIFF';
  if (head.startsWith('BM')) return 'BMP';
  if (ascii(4, 8) === 'ftyp') return 'HEIF/AVIF (or another ISO media file)';
  if (head.startsWith('%PDF')) return 'PDF';
  const text = ascii(0, 256).trimStart().toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'SVG';
  return undefined;
}

/** Turns whatever sharp threw while reading an accepted format into an ImageError. */
export function decodeError(name: string, format: ImageFormat, err: unknown): ImageError {
  if (err instanceof ImageError) return err;
  // libvips repeats its lines (one per attempt); keep each once.
  const why = [
    ...new Set((err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim())),
  ]
    .filter((l) => l !== '')
    .join('; ');
  if (/pixel limit/i.test(why)) {
    return new ImageError(name, 'too-many-pixels', `is over the pixel limit (maxPixels): ${why}`, {
      cause: err,
    });
  }
  if (/unsupported image format/i.test(why)) {
    return new ImageError(name, 'not-an-image', `is not a readable ${format.toUpperCase()} image (${why})`, {
      cause: err,
    });
  }
  return new ImageError(
    name,
    'corrupt',
    `is a corrupt or truncated ${format.toUpperCase()} image (${why}); the file is damaged or incomplete`,
    { cause: err },
  );
}
