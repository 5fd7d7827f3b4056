/**
 * JSONL in and out, streaming. The reader splits chunks itself (faster than readline for many short lines)
 * and yields parsed values, or InputParseFailure for a line that is not JSON so the executor can report it
 * as an item error. The writer batches lines into large writes and reports a Blocker while the stream's
 * buffer is full, so a slow consumer slows the pipeline down instead of filling memory.
 */
import type { Readable, Writable } from 'node:stream';
import type { Blocker } from './edge-queue.js';
import { InputParseFailure } from './node.js';

/** Parses a JSONL stream. Blank lines are skipped; line numbers count every line. Stops when `signal` aborts. */
export async function* readJsonl(stream: Readable, signal?: AbortSignal): AsyncGenerator {
  const onAbort = (): void => {
    stream.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  stream.setEncoding('utf8');
  let rest = '';
  let line = 0;
  try {
    for await (const chunk of stream) {
      const text = rest + (chunk as string);
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        line++;
        const value = parseLine(text, start, nl, line);
        if (value !== SKIP) yield value;
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    if (rest.length > 0) {
      line++;
      const value = parseLine(rest, 0, rest.length, line);
      if (value !== SKIP) yield value;
    }
  } catch (e) {
    if (signal?.aborted !== true) throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

const SKIP = Symbol('blank line');
const BLANK = /^[ \t]*$/;

function parseLine(text: string, start: number, end: number, line: number): unknown {
  let e = end;
  if (e > start && text.charCodeAt(e - 1) === 13) e--; // \r\n
  const raw = text.slice(start, e);
  if (BLANK.test(raw)) return SKIP;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return new InputParseFailure(line, raw);
  }
}

/** Writes values as JSONL with large batched writes and backpressure. */
export class JsonlWriter implements Blocker {
  private pending = '';
  private waiting: Promise<void> | null = null;
  /** Lines written so far. */
  count = 0;

  constructor(
    private readonly stream: Writable,
    private readonly batchBytes = 64 * 1024,
  ) {}

  /** Queues one value; returns this writer as a Blocker while the stream is saturated. */
  write(value: unknown): Blocker | null {
    this.pending += JSON.stringify(value) + '\n';
    this.count++;
    if (this.pending.length >= this.batchBytes) return this.flushPending();
    return this.waiting === null ? null : this;
  }

  whenReady(): Promise<void> {
    return this.waiting ?? Promise.resolve();
  }

  /** Writes what is pending and waits until the stream has taken it. */
  async end(): Promise<void> {
    this.flushPending();
    if (this.waiting !== null) await this.waiting;
  }

  private flushPending(): Blocker | null {
    if (this.pending.length === 0) return this.waiting === null ? null : this;
    const ok = this.stream.write(this.pending);
    this.pending = '';
    if (ok || this.waiting !== null) return this.waiting === null ? null : this;
    this.waiting = new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        this.stream.off('error', done);
        this.waiting = null;
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
      this.stream.on('error', done);
    });
    return this;
  }
}
