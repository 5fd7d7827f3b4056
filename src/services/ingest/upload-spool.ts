/**
 * The multipart upload of an ingest (or search) request, spooled to disk: each file part streams to its own
 * file in a per-request folder under os.tmpdir(), a chunk at a time, never whole in memory, so a batch of
 * 256 × 50 MB costs disk, not RSS; the pipeline reads each file back when its turn to be decoded comes.
 *
 * It enforces the request's limits while reading: the whole body (from Content-Length before a byte is read,
 * and by counting the bytes of a body without one), the number of files, and the size of each file (busboy
 * stops storing a file at the limit and skips the rest of its part: that file alone fails, reason `too-large`).
 * A body that cannot be parsed (no boundary, cut mid-part, malformed part headers) is a 400 naming the problem.
 * The folder is removed by `UploadSpool.remove()`, which the route calls when the request ends, whatever the
 * outcome (success, failure, client abort); `removeStaleSpools()` removes the folders of a service that was
 * killed before it could.
 *
 * Multipart parsing is @fastify/multipart's (busboy); this module only decides where the bytes go and when to stop.
 * The plugin must be registered with `throwFileSizeLimit: false` (a file over the limit is then truncated, not an
 * error of the whole request).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from '../http/problem.js';
import { discardRest, overLimit, type RequestLimit } from '../http/request-limits.js';

/** Prefix of the per-request spool folders under os.tmpdir(); the service's pid follows it. */
export const SPOOL_PREFIX = 'pitlane-ingest-upload-';

/** Fields of a multipart request: at most this many, each at most FIELD_BYTES (fixed; options are short). */
export const MAX_FIELDS = 32;
export const MAX_FIELD_BYTES = 64 * 1024;

/** The limits a multipart request is read under. */
export interface UploadLimits {
  /** The whole request body, in bytes (--max-request-mb). */
  readonly request: RequestLimit;
  /** Files in one request (--max-batch). */
  readonly files: RequestLimit;
  /** One file, in bytes (--max-file-mb): a larger file fails alone. */
  readonly file: RequestLimit;
}

/** One file part of the request, in request order. */
export type SpooledFile =
  | {
      readonly index: number;
      readonly name: string;
      /** The spooled copy (deleted with the spool). */
      readonly path: string;
      readonly size: number;
    }
  | {
      readonly index: number;
      readonly name: string;
      readonly reason: 'too-large';
      readonly message: string;
    };

/** What was read: the form fields (last value wins) and the file parts. */
export interface MultipartUpload {
  readonly fields: Record<string, unknown>;
  readonly files: SpooledFile[];
}

/** The temp folder of one request; created at its first file, removed by remove(). */
export class UploadSpool {
  private dir: Promise<string> | null = null;
  private removed = false;
  private count = 0;

  /** A fresh path for the next file (the folder is created on first use). */
  async nextPath(): Promise<string> {
    if (this.removed) throw new Error('the upload spool was removed');
    this.dir ??= mkdtemp(join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
    return join(await this.dir, String(this.count++));
  }

  /** Deletes the folder and everything in it; safe to call more than once. */
  async remove(): Promise<void> {
    this.removed = true;
    const dir = await this.dir?.catch(() => null);
    if (dir !== null && dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes spool folders left by pitlane processes that no longer run (a service killed with SIGKILL cannot
 * clean up). Folders of live processes are left alone. Returns how many were removed.
 */
export async function removeStaleSpools(dir = tmpdir()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(SPOOL_PREFIX)) continue;
    const pid = Number(name.slice(SPOOL_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads a multipart request under `limits`: fields into `fields`, the first `keep` files into `spool` (later
 * files are read and dropped, and not listed). Rejects with an HttpProblem: 413 over the body or file-count
 * limit, 400 for a body that cannot be parsed, 507 when the temp folder is full.
 */
export async function readMultipart(
  request: FastifyRequest,
  limits: UploadLimits,
  spool: UploadSpool,
  keep = Number.POSITIVE_INFINITY,
): Promise<MultipartUpload> {
  const raw = request.raw;
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > limits.request.value) {
    void discardRest(raw);
    throw overLimit(limits.request, 'the request body', declared);
  }
  const iterable = request.parts({
    limits: {
      fileSize: limits.file.value,
      files: limits.files.value + 1,
      fields: MAX_FIELDS,
      fieldSize: MAX_FIELD_BYTES,
    },
  });
  const parts = iterable[Symbol.asyncIterator]();
  // next() starts the parser: the request is piped into busboy synchronously, and bytes flow from the next tick.
  let next = parts.next();
  let current: Readable | null = null;
  // A body without Content-Length is counted as it arrives; past the limit, reading stops (the byte counter sets
  // `over` and rejects `stopped`; a closure, hence the holder: control-flow analysis does not see it).
  let received = 0;
  const over: { problem: HttpProblem | null } = { problem: null };
  let stop: (problem: HttpProblem) => void = () => undefined;
  const stopped = new Promise<never>((_resolve, reject) => (stop = reject));
  stopped.catch(() => undefined);
  const onData = (chunk: Buffer): void => {
    received += chunk.byteLength;
    if (over.problem !== null || received <= limits.request.value) return;
    const problem = overLimit(limits.request, 'the request body');
    over.problem = problem;
    raw.unpipe();
    current?.destroy(problem);
    stop(problem);
  };
  raw.on('data', onData);

  const fields: Record<string, unknown> = {};
  const files: SpooledFile[] = [];
  let seen = 0;
  try {
    for (;;) {
      const step = await Promise.race([next, stopped]);
      if (step.done === true) break;
      const part = step.value;
      if (part.type === 'field') {
        fields[part.fieldname] = part.value;
        next = parts.next();
        continue;
      }
      const index = seen++;
      if (index >= limits.files.value) throw overLimit(limits.files, 'the batch', index + 1);
      const name = part.filename !== '' ? part.filename : `${part.fieldname}[${index}]`;
      current = part.file;
      if (index >= keep) {
        await pipeline(part.file, discard());
      } else {
        const path = await spool.nextPath();
        let size = 0;
        part.file.on('data', (chunk: Buffer) => (size += chunk.byteLength));
        await pipeline(part.file, createWriteStream(path, { flags: 'wx' }));
        if (part.file.truncated) {
          await rm(path, { force: true });
          const what = `the file of form field '${part.fieldname}'`;
          files.push({
            index,
            name,
            reason: 'too-large',
            message: `${name}: ${overLimit(limits.file, what).message}; this image was not read`,
          });
        } else {
          files.push({ index, name, path, size });
        }
      }
      current = null;
      next = parts.next();
    }
  } catch (err) {
    raw.off('data', onData);
    current?.destroy();
    void discardRest(raw);
    throw over.problem ?? asProblem(err, limits);
  }
  raw.off('data', onData);
  if (over.problem !== null) throw over.problem;
  return { fields, files };
}

/** A parser, limit or disk error of reading the body, as the HttpProblem the client gets. */
function asProblem(err: unknown, limits: UploadLimits): HttpProblem {
  if (err instanceof HttpProblem) return err;
  const e = err as Error & { code?: string; syscall?: string };
  switch (e.code) {
    case 'FST_FILES_LIMIT':
      return overLimit(limits.files, 'the batch');
    case 'FST_FIELDS_LIMIT':
      return new HttpProblem(413, `a request holds at most ${MAX_FIELDS} form fields`);
    case 'FST_PARTS_LIMIT':
      return new HttpProblem(413, 'the request has too many multipart parts');
    case 'FST_PROTO_VIOLATION':
      return new HttpProblem(400, `a form field has a reserved name: ${e.message}`);
    case 'FST_MP_PREMATURE_CLOSE':
      return new HttpProblem(400, 'the request ended before its multipart body was complete');
    default:
  }
  if (e.syscall !== undefined) {
    // The temp folder, not the client: the server cannot store the upload.
    const full = e.code === 'ENOSPC' || e.code === 'EDQUOT';
    return new HttpProblem(
      full ? 507 : 500,
      `cannot spool the upload to ${tmpdir()} (${e.code ?? e.message}); free space there or set TMPDIR`,
    );
  }
  return new HttpProblem(400, `the multipart body is malformed: ${e.message}`);
}

/** A writable that drops what it is given (files past `keep`). */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
