/**
 * JSONL in and out, streaming.
 *
 * The reader splits byte chunks itself (faster than readline for many short lines) and yields parsed values, or
 * InputParseFailure for a line that is not JSON, so the executor can report it as an item error of that line and
 * go on. It is linear in the input whatever the line lengths: the complete lines of a chunk are decoded as one
 * string and split, and a line that spans chunks is kept as a list of byte chunks that are joined once, when its
 * newline arrives. Two limits keep one hostile line from taking the run down: a line longer than `maxLineBytes`
 * is skipped as it streams (never held in memory) and reported; a line nested deeper than MAX_JSON_DEPTH is
 * reported instead of being handed to nodes (V8 parses it, but JSON.stringify, structuredClone and Python's json
 * recurse on it and would fail far from the line that caused it).
 *
 * The writer batches lines into large writes on a TextSink. A failed write is never silent: the writer stops,
 * keeps the first error, and tells its owner, which ends the run (cli/output-file.ts).
 */
import type { Readable } from 'node:stream';
import type { Blocker } from './edge-queue.js';
import { InputParseFailure } from './node.js';

/** Deepest nesting of arrays and objects accepted in one input line (the CPython reference uses the same). */
export const MAX_JSON_DEPTH = 256;

/** Longest input line by default, in bytes (`--max-line-mb`); V8's longest string is about 512 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;

/** Read size for JSONL files: larger than fs's 64 KiB default, so a long line arrives in fewer chunks. */
export const JSONL_READ_CHUNK_BYTES = 1024 * 1024;

/** Options of readJsonl. */
export interface JsonlReadOptions {
  /** Stops reading (and destroys the stream) when aborted. */
  readonly signal?: AbortSignal;
  /** Longest line in bytes; a longer one becomes an InputParseFailure and the reading goes on. */
  readonly maxLineBytes?: number;
  /** Names the limit in the failure's message, e.g. "--max-line-mb". */
  readonly maxLineFlag?: string;
}

/** Characters of an overlong line kept for its error record. */
const PREVIEW_BYTES = 200;
const NEWLINE = 0x0a;

/**
 * Parses a JSONL stream. Blank lines are skipped; line numbers count every line. Stops when the signal aborts.
 * The second argument is the options, or (as before) just the AbortSignal.
 */
export async function* readJsonl(stream: Readable, options?: AbortSignal | JsonlReadOptions): AsyncGenerator {
  const opts: JsonlReadOptions = options instanceof AbortSignal ? { signal: options } : (options ?? {});
  const { signal } = opts;
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const onAbort = (): void => {
    stream.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // The line being assembled across chunks: its byte chunks, their total length, and whether it is over the limit.
  let parts: Buffer[] = [];
  let partial = 0;
  let overlong = false;
  let line = 0;
  try {
    for await (const data of stream) {
      const chunk: Buffer = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      let start = 0;
      const first = chunk.indexOf(NEWLINE);
      if (first < 0) {
        // No line ends here: the chunk extends the current line.
        if (!overlong && partial + chunk.length > maxLine) {
          overlong = true;
          parts = preview(parts);
        }
        if (overlong) keepPreview(parts, chunk, chunk.length);
        else parts.push(chunk);
        partial += chunk.length;
        continue;
      }
      if (partial > 0 || overlong) {
        // The line that spans chunks ends at `first`.
        line++;
        const total = partial + first;
        if (overlong || total > maxLine) {
          parts = preview(parts);
          keepPreview(parts, chunk, first);
          yield overlongLine(line, Buffer.concat(parts), total, maxLine, opts.maxLineFlag);
        } else {
          parts.push(chunk.subarray(0, first));
          const value = parseLine(Buffer.concat(parts, total).toString('utf8'), line);
          if (value !== SKIP) yield value;
        }
        parts = [];
        partial = 0;
        overlong = false;
        start = first + 1;
      }
      // The complete lines of this chunk, decoded at once.
      const last = chunk.lastIndexOf(NEWLINE);
      if (last >= start) {
        const text = chunk.toString('utf8', start, last + 1);
        let from = 0;
        for (;;) {
          const nl = text.indexOf('\n', from);
          if (nl < 0) break;
          line++;
          const value =
            nl - from > maxLine / 3 && Buffer.byteLength(text.slice(from, nl)) > maxLine
              ? overlongLine(
                  line,
                  Buffer.from(text.slice(from, from + PREVIEW_BYTES)),
                  nl - from,
                  maxLine,
                  opts.maxLineFlag,
                )
              : parseLine(text.slice(from, nl), line);
          if (value !== SKIP) yield value;
          from = nl + 1;
        }
        start = last + 1;
      }
      // The start of the next line.
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        if (rest.length > maxLine) {
          overlong = true;
          keepPreview(parts, rest, rest.length);
        } else {
          parts.push(rest);
        }
        partial = rest.length;
      }
    }
    if (partial > 0 || overlong) {
      line++;
      const value = overlong
        ? overlongLine(line, Buffer.concat(parts), partial, maxLine, opts.maxLineFlag)
        : parseLine(Buffer.concat(parts, partial).toString('utf8'), line);
      if (value !== SKIP) yield value;
    }
  } catch (e) {
    if (signal?.aborted !== true) throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The first PREVIEW_BYTES of a line's parts, copied, so the rest can be freed. */
function preview(parts: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let have = 0;
  for (const p of parts) {
    if (have >= PREVIEW_BYTES) break;
    const piece = Buffer.from(p.subarray(0, PREVIEW_BYTES - have));
    out.push(piece);
    have += piece.length;
  }
  return out;
}

/** Adds the start of `chunk` (up to `end`) to an overlong line's preview while it is under PREVIEW_BYTES. */
function keepPreview(parts: Buffer[], chunk: Buffer, end: number): void {
  const have = parts.reduce((n, p) => n + p.length, 0);
  if (have < PREVIEW_BYTES) parts.push(Buffer.from(chunk.subarray(0, Math.min(end, PREVIEW_BYTES - have))));
}

function overlongLine(
  line: number,
  preview: Buffer,
  bytes: number,
  maxLine: number,
  flag?: string,
): InputParseFailure {
  const text = preview.toString('utf8').replace(/\r$/, '');
  const limit = `${formatMiB(maxLine)}${flag !== undefined ? ` (${flag})` : ''}`;
  return new InputParseFailure(
    line,
    `${text}…`,
    `the line is ${formatMiB(bytes)}, longer than the limit of ${limit}`,
  );
}

function formatMiB(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} bytes`;
}

const SKIP = Symbol('blank line');
const BLANK = /^[ \t]*$/;

function parseLine(text: string, line: number): unknown {
  const raw = text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text; // \r\n
  if (BLANK.test(raw)) return SKIP;
  let value: unknown;
  try {
    value = JSON.parse(raw) as unknown;
  } catch {
    return new InputParseFailure(line, raw);
  }
  if (raw.length > 2 * MAX_JSON_DEPTH && jsonDepthExceeds(raw, MAX_JSON_DEPTH)) {
    return new InputParseFailure(line, raw, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}

/**
 * Whether valid JSON text nests arrays/objects deeper than `max`. Most long lines have few brackets: counting
 * them with indexOf (native) settles those without a scan in JavaScript.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let brackets = 0;
  for (const open of ['[', '{']) {
    for (let i = text.indexOf(open); i >= 0 && brackets <= max; i = text.indexOf(open, i + 1)) brackets++;
  }
  if (brackets <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

/** Where the writer's text goes; `write` throws on a failed write (cli/output-file.ts). */
export interface TextSink {
  write(text: string): void;
}

/** Writes values as JSONL in large batched writes; a failed write stops it and is reported once. */
export class JsonlWriter implements Blocker {
  private pending = '';
  private failure: Error | null = null;
  /** Lines handed to the sink so far (written, unless `failed`). */
  count = 0;

  constructor(
    private readonly sink: TextSink,
    /** Called once, with the error, when a write fails; later values are dropped. */
    private readonly onFailure: (error: unknown) => void = () => {},
    private readonly batchBytes = 64 * 1024,
  ) {}

  /** The first write error, or null. */
  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Queues one value. Throws only when the value cannot be written as JSON (the emitting node's item error);
   * a failed write is reported through onFailure, never thrown here.
   */
  write(value: unknown): Blocker | null {
    if (this.failure !== null) return null;
    let text: string;
    try {
      text = JSON.stringify(value);
    } catch (e) {
      throw new Error(`the output cannot be written as JSON: ${(e as Error).message}`, { cause: e });
    }
    this.pending += text + '\n';
    this.count++;
    if (this.pending.length >= this.batchBytes) this.flushPending();
    return null;
  }

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  /** Writes what is pending. Throws the first write error, if any happened. */
  end(): void {
    this.flushPending();
    if (this.failure !== null) throw this.failure;
  }

  private flushPending(): void {
    if (this.pending.length === 0 || this.failure !== null) return;
    const text = this.pending;
    this.pending = '';
    try {
      this.sink.write(text);
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e));
      this.onFailure(this.failure);
    }
  }
}
