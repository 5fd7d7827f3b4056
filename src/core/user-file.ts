/**
 * Reading a file a user named (a manifest, a suite, a Python module, a body file): only regular files, only up to
 * a stated size, with an error that says which file and what is wrong with it. Without this, `/dev/zero` is read
 * forever, a FIFO blocks, a directory or a symlink loop reports a bare errno. Reads from the opened descriptor and
 * never more than the limit, so a file that grows after the check cannot blow the limit either.
 */
import { closeSync, fstatSync, openSync, readSync, constants as fsConstants } from 'node:fs';
import { FileError } from './errors.js';

/** Largest config document (manifest, suite, model repository) pitlane reads: far above any real one. */
export const MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024;

/** Largest results or report file pitlane reads back (encoded histograms and resource series of a long suite). */
export const MAX_RESULTS_FILE_BYTES = 256 * 1024 * 1024;

/** Reads a user's file as UTF-8 text: a regular file of at most `maxBytes`, or a FileError naming it. */
export function readUserTextFile(path: string, what: string, maxBytes = MAX_CONFIG_FILE_BYTES): string {
  return readUserFile(path, what, maxBytes).toString('utf8');
}

/** Reads a user's file: a regular file of at most `maxBytes`, or a FileError naming it and the problem. */
export function readUserFile(path: string, what: string, maxBytes = MAX_CONFIG_FILE_BYTES): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not a regular file.
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw new FileError(path, describeOpenError(e as NodeJS.ErrnoException, what), { cause: e });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FileError(path, `the ${what} is ${kindOf(stat)}, not a regular file`);
    if (stat.size > maxBytes) {
      throw new FileError(
        path,
        `the ${what} is ${formatBytes(stat.size)}; the limit is ${formatBytes(maxBytes)}`,
      );
    }
    const buffer = Buffer.allocUnsafe(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) {
        throw new FileError(
          path,
          `the ${what} grew past the limit of ${formatBytes(maxBytes)} while being read`,
        );
      }
      if (length === buffer.length) break; // read what stat promised and one byte more: the check above decides
    }
    return buffer.subarray(0, length);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(path, `cannot read the ${what}: ${(e as Error).message}`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

/** A person's words for an errno from opening a file. */
export function describeOpenError(e: NodeJS.ErrnoException, what: string): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'ELOOP':
      return 'a loop of symbolic links (too many levels of symbolic links)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied: the ${what} cannot be read`;
    case 'EISDIR':
      return `the ${what} is a directory, not a regular file`;
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return `cannot open the ${what}: ${e.message}`;
  }
}

function kindOf(stat: import('node:fs').Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}
