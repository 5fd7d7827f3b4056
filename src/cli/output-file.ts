/**
 * The output of `pitlane run`: one writer that surfaces every write error, so an error is never reported as
 * success and a cut file is never mistaken for a complete one.
 *
 * - Writes go straight to the file descriptor with writeSync, looping over partial writes (a disk that fills up
 *   mid-write returns a short count first, ENOSPC next). Node's process.stdout is synchronous on Linux for files
 *   and pipes anyway; going to the descriptor ourselves means no write error can be lost in a stream's
 *   asynchronous 'error' event after the process decided its exit code.
 * - `-o FILE` (a regular file or a new one) is written as `FILE.partial` and renamed to FILE only when every byte
 *   was written: FILE, when it exists, is complete. After a write error the partial file keeps what was written,
 *   under its `.partial` name, and the message says so. Special files (/dev/null, a FIFO) are written in place.
 * - stdout: a write error (ENOSPC, EIO) stops the run with PL_ERR_OUTPUT (exit 74) naming stdout; a reader that
 *   closed the pipe (EPIPE: `pitlane run ... | head`) stops it quietly with exit 141, as Unix tools killed by
 *   SIGPIPE do. Either way the exit code tells a complete output from a cut one.
 */
import { closeSync, openSync, renameSync, statSync, writeSync, constants as fsConstants } from 'node:fs';
import { OutputError } from '../core/errors.js';
import { describeOpenError } from '../core/user-file.js';
import type { TextSink } from '../pipeline/jsonl.js';

/** How long to wait before retrying a write to a descriptor that is non-blocking and full (EAGAIN). */
const EAGAIN_WAIT_MS = 1;

/** The reader closed the output (EPIPE): not an error of the run, but the end of it. */
export class OutputClosed extends Error {
  constructor() {
    super('the reader closed the output');
    this.name = 'OutputClosed';
  }
}

/** A run's output: stdout (`-`) or a file. */
export class OutputFile implements TextSink {
  /** Bytes written so far. */
  bytes = 0;
  private closed = false;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  private constructor(
    /** The output as the user named it. */
    readonly name: string,
    private readonly fd: number,
    /** The file written until the rename, or null when written in place. */
    readonly partialPath: string | null,
  ) {}

  /** Opens the output named on the command line. Throws OutputError when it cannot be opened. */
  static open(name: string): OutputFile {
    if (name === '-') return new OutputFile(name, 1, null);
    let inPlace = false;
    try {
      const stat = statSync(name);
      if (stat.isDirectory()) throw new OutputError(name, 'is a directory', 'EISDIR');
      inPlace = !stat.isFile();
    } catch (e) {
      if (e instanceof OutputError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        throw new OutputError(name, describeOpenError(e as NodeJS.ErrnoException, 'output'), code ?? null);
    }
    const path = inPlace ? name : `${name}.partial`;
    let fd: number;
    try {
      fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o666);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new OutputError(name, `cannot open: ${describeOpenError(err, 'output')}`, err.code ?? null, {
        cause: e,
      });
    }
    return new OutputFile(name, fd, inPlace ? null : path);
  }

  /** Writes all of `text` (or bytes). Throws OutputClosed on EPIPE and OutputError on any other failure. */
  write(text: string | Uint8Array): void {
    const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    let off = 0;
    while (off < data.length) {
      let n: number;
      try {
        n = writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(this.sleeper, 0, 0, EAGAIN_WAIT_MS);
          continue;
        }
        if (code === 'EPIPE') throw new OutputClosed();
        throw this.failure(e as NodeJS.ErrnoException);
      }
      off += n;
      this.bytes += n;
    }
  }

  /**
   * Writes bytes at a position of a file (a header patched when the sizes are known). Not for stdout or special
   * files, which cannot seek: the caller checks `seekable`.
   */
  writeAt(data: Uint8Array, position: number): void {
    try {
      writeSync(this.fd, data, 0, data.length, position);
    } catch (e) {
      throw this.failure(e as NodeJS.ErrnoException);
    }
  }

  /** Whether writeAt can be used (a regular file written under its partial name). */
  get seekable(): boolean {
    return this.partialPath !== null;
  }

  /**
   * Ends the output: closes a file and publishes it under its name. Throws OutputError when that fails (the
   * close of a file on a full or failing disk can report what the writes did not).
   */
  close(): void {
    if (this.closed || this.fd === 1) return;
    this.closed = true;
    try {
      closeSync(this.fd);
      if (this.partialPath !== null) renameSync(this.partialPath, this.name);
    } catch (e) {
      throw this.failure(e as NodeJS.ErrnoException);
    }
  }

  /** Closes a file after a failure, leaving what was written under its partial name. */
  abandon(): void {
    if (this.closed || this.fd === 1) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // The failure being reported is the one that matters.
    }
  }

  private failure(e: NodeJS.ErrnoException): OutputError {
    const what =
      e.code === 'ENOSPC'
        ? 'no space left on the device'
        : e.code === 'EIO'
          ? 'an I/O error'
          : e.code === 'EDQUOT'
            ? 'the disk quota is exceeded'
            : e.code === 'EFBIG'
              ? 'the file is larger than allowed'
              : e.message;
    const kept =
      this.partialPath !== null
        ? `; the ${this.bytes} bytes written before it are in ${this.partialPath}, ${this.name} was not written`
        : `; the output is cut after ${this.bytes} bytes`;
    return new OutputError(this.name, `write failed: ${what} (${e.code ?? 'error'})${kept}`, e.code ?? null, {
      cause: e,
    });
  }
}
