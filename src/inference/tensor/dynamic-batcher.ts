/**
 * DynamicBatcher: one per model. Requests are split into sequences; sequences wait in one bounded queue and are
 * grouped into batches by token budget and length bucket, so padding is small (a batch costs count × longest
 * sequence) and short inputs are not held behind long ones. A batch forms as soon as the runner is free and the
 * batch is full, or when its oldest sequence has waited `maxQueueDelayMs`. A full queue rejects the request at
 * once with a retry estimate (HTTP 429 + Retry-After); a request whose client went away is dropped before
 * inference; a batch that fails fails only its own requests, and the loop goes on.
 */
import { QueueFullError } from '../../core/errors.js';

/** One sequence of a request, as the batcher sees it. */
export interface BatchSequence<S> {
  /** Its length in tokens (after truncation): the padded cost of a batch is count × the longest. */
  readonly tokens: number;
  readonly payload: S;
}

/** Batching limits (a model's `batching` settings). */
export interface BatcherOptions {
  /** Largest count × longest-sequence of a batch. */
  readonly maxBatchTokens: number;
  readonly maxBatchSize: number;
  /** Longest wait for a batch to fill before it runs anyway. */
  readonly maxQueueDelayMs: number;
  /**
   * Sequences that may wait; a request that does not fit is refused. Each is at most the model's longest
   * sequence, so the tokens waiting are bounded too (1024 × 512 tokens: 2 MiB of ids for the defaults).
   */
  readonly queueCapacity: number;
  /** Width of a length bucket in tokens (default 16): sequences batch with others of similar length. */
  readonly bucketTokens?: number;
}

/** Counters for /metrics. */
export interface BatcherStats {
  queued: number;
  batches: number;
  sequences: number;
  /** Sum of the padded tokens of all batches run. */
  paddedTokens: number;
  /** Sum of the real tokens of all batches run. */
  realTokens: number;
  /** Requests dropped because their client went away before inference. */
  abandoned: number;
  failedBatches: number;
}

interface Pending<S, R> {
  readonly seq: BatchSequence<S>;
  readonly request: RequestState<R>;
  readonly position: number;
  readonly enqueuedAt: number;
}

interface RequestState<R> {
  readonly results: (R | undefined)[];
  remaining: number;
  settled: boolean;
  readonly resolve: (r: R[]) => void;
  readonly reject: (e: unknown) => void;
  readonly signal: AbortSignal | undefined;
}

export class DynamicBatcher<S, R> {
  private queue: Pending<S, R>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  /** Set while the next batch waits for its start on the event loop's check phase (see `schedule`). */
  private starting: NodeJS.Immediate | null = null;
  private closed = false;
  /** Recent batch durations, for Retry-After estimates. */
  private recentBatchMs = 0;
  readonly stats: BatcherStats = {
    queued: 0,
    batches: 0,
    sequences: 0,
    paddedTokens: 0,
    realTokens: 0,
    abandoned: 0,
    failedBatches: 0,
  };
  private readonly bucketTokens: number;

  constructor(
    private readonly options: BatcherOptions,
    /** Runs one batch; resolves with one result per sequence, in order. */
    private readonly runBatch: (batch: readonly BatchSequence<S>[]) => Promise<readonly R[]>,
  ) {
    this.bucketTokens = options.bucketTokens ?? 16;
  }

  /**
   * Queues a request's sequences; resolves with their results in order. Rejects with QueueFullError at once when
   * they do not fit, with the signal's reason when the client goes away before its sequences ran, or with the
   * error of a batch that failed.
   */
  submit(sequences: readonly BatchSequence<S>[], signal?: AbortSignal): Promise<R[]> {
    if (this.closed) return Promise.reject(new Error('the batcher is closed'));
    if (sequences.length === 0) return Promise.resolve([]);
    if (signal?.aborted === true) {
      // The client left before its sequences reached the queue (e.g. during tokenization).
      this.stats.abandoned++;
      return Promise.reject(signal.reason as Error);
    }
    if (this.queue.length + sequences.length > this.options.queueCapacity) {
      const batchesAhead = Math.ceil(this.queue.length / this.options.maxBatchSize) + 1;
      return Promise.reject(
        new QueueFullError(Math.max(1000, batchesAhead * (this.recentBatchMs || 100)), this.queue.length),
      );
    }
    let onAbort: (() => void) | null = null;
    const answer = new Promise<R[]>((resolve, reject) => {
      const request: RequestState<R> = {
        results: new Array<R | undefined>(sequences.length),
        remaining: sequences.length,
        settled: false,
        resolve,
        reject,
        signal,
      };
      const now = performance.now();
      sequences.forEach((seq, position) => this.queue.push({ seq, request, position, enqueuedAt: now }));
      this.stats.queued = this.queue.length;
      onAbort = () => this.abandon(request);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.schedule();
    });
    // The listener goes when the request settles: a signal shared by the parts of one client request (or kept
    // by a client) does not collect a listener per part.
    if (signal === undefined) return answer;
    return answer.finally(() => {
      if (onAbort !== null) signal.removeEventListener('abort', onAbort);
    });
  }

  /** Stops accepting requests; waits for the batch in flight. Queued requests are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.starting !== null) clearImmediate(this.starting);
    this.starting = null;
    for (const p of this.queue) this.settle(p.request, new Error('the batcher closed'));
    this.queue = [];
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  private abandon(request: RequestState<R>): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((p) => p.request !== request);
    if (this.queue.length !== before) this.stats.abandoned++;
    this.stats.queued = this.queue.length;
    this.settle(request, request.signal?.reason ?? new Error('aborted'));
  }

  private settle(request: RequestState<R>, error: unknown): void {
    if (request.settled) return;
    request.settled = true;
    request.reject(error);
  }

  /**
   * Runs a batch if one is ready, or arms the timer for the oldest sequence's deadline. A batch that is not full
   * is picked on the event loop's check phase rather than at once: the requests read in the same turn (the poll
   * phase reads every connection that has data) are queued by then and join it. Picked at the first of them, the
   * batch would run that one alone and the others after it; and a model on the server's own thread blocks the loop
   * while it runs, so whatever came in meanwhile is read only after the run, and would again start a batch of one.
   */
  private schedule(): void {
    if (this.running || this.starting !== null || this.queue.length === 0) return;
    const oldest = this.queue[0] as Pending<S, R>;
    const waited = performance.now() - oldest.enqueuedAt;
    const full = this.batchIsFull();
    if (full || waited >= this.options.maxQueueDelayMs) {
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      if (full) {
        void this.runNext();
        return;
      }
      this.starting = setImmediate(() => {
        this.starting = null;
        void this.runNext();
      });
      return;
    }
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, this.options.maxQueueDelayMs - waited);
    }
  }

  private bucketOf(tokens: number): number {
    return Math.ceil(tokens / this.bucketTokens);
  }

  /** The sequences of the next batch: the oldest one's bucket, in arrival order, within the limits. */
  private pick(): Pending<S, R>[] {
    const first = this.queue[0];
    if (first === undefined) return [];
    const bucket = this.bucketOf(first.seq.tokens);
    const picked: Pending<S, R>[] = [];
    let longest = 0;
    for (const p of this.queue) {
      if (picked.length >= this.options.maxBatchSize) break;
      if (this.bucketOf(p.seq.tokens) !== bucket && picked.length > 0) continue;
      const nextLongest = Math.max(longest, p.seq.tokens);
      if (picked.length > 0 && nextLongest * (picked.length + 1) > this.options.maxBatchTokens) continue;
      picked.push(p);
      longest = nextLongest;
    }
    return picked;
  }

  private batchIsFull(): boolean {
    const picked = this.pick();
    if (picked.length >= this.options.maxBatchSize) return true;
    const longest = Math.max(...picked.map((p) => p.seq.tokens));
    // Full when no more sequence of this bucket would fit the token budget.
    return longest * (picked.length + 1) > this.options.maxBatchTokens;
  }

  private async runNext(): Promise<void> {
    const batch = this.pick();
    if (batch.length === 0) return;
    const taken = new Set(batch);
    this.queue = this.queue.filter((p) => !taken.has(p));
    this.stats.queued = this.queue.length;
    this.running = true;
    const started = performance.now();
    try {
      const results = await this.runBatch(batch.map((p) => p.seq));
      const longest = Math.max(...batch.map((p) => p.seq.tokens));
      this.stats.batches++;
      this.stats.sequences += batch.length;
      this.stats.paddedTokens += longest * batch.length;
      this.stats.realTokens += batch.reduce((n, p) => n + p.seq.tokens, 0);
      batch.forEach((p, i) => {
        const r = p.request;
        if (r.settled) return;
        r.results[p.position] = results[i];
        if (--r.remaining === 0) {
          r.settled = true;
          r.resolve(r.results as R[]);
        }
      });
    } catch (e) {
      this.stats.failedBatches++;
      for (const p of batch) {
        // The request's other sequences, still queued, go too: its answer is lost anyway.
        this.queue = this.queue.filter((q) => q.request !== p.request);
        this.settle(p.request, e);
      }
      this.stats.queued = this.queue.length;
    } finally {
      this.recentBatchMs = 0.8 * this.recentBatchMs + 0.2 * (performance.now() - started);
      this.running = false;
    }
    this.schedule();
  }
}
