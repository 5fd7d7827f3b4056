/**
 * NodeRunner drives one processing node: the synchronous fast path (an idle node's plain return value goes
 * straight on in the caller's stack), its bounded input queue, and the async pump that drains the queue in
 * order once the node is busy (a promise, an async iterator, a blocked successor), hands batching nodes
 * everything waiting (up to MAX_BATCH), and runs `flush` at end of stream. A batching node with `concurrency` > 1
 * (a pool of workers) gets a new batch whenever one of its batches is done, while others still run: a share of
 * what waits (guided scheduling, so a long item does not hold the items behind it), outputs in order.
 */
import { performance } from 'node:perf_hooks';
import { toError } from '../core/errors.js';
import { EdgeQueue, type Blocker } from './edge-queue.js';
import { ErrorRecord } from './error-record.js';
import type { BatchItemResult, PipelineNode } from './node.js';
import { Stage, type RunState, type Successor } from './stage.js';

/** Largest batch handed to a batching node at once. */
const MAX_BATCH = 1024;
/**
 * A pool's batches aim at no more work than this (ms, by the items' mean time so far): items that take long (a
 * recognised utterance) go one by one to whichever worker is free, cheap ones in shares of the queue.
 */
const POOL_BATCH_MS = 5;
/** With timing on, every item of a node's first TIME_EVERY_FIRST is timed, then one in TIME_SAMPLE (scaled). */
const TIME_EVERY_FIRST = 1024;
const TIME_SAMPLE = 8;

function isPromiseLike(v: object): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown }).then === 'function';
}
function isIterator(v: object): v is Iterator<unknown> & Iterable<unknown> {
  return typeof (v as { next?: unknown }).next === 'function' && Symbol.iterator in v;
}
function isAsyncIterator(v: object): v is AsyncIterable<unknown> {
  return Symbol.asyncIterator in v;
}

/** A batch of a concurrent batching node, or an error record that waits its turn between batches. */
interface InFlight {
  readonly items: readonly unknown[];
  readonly firstIndex: number;
  readonly record: ErrorRecord | null;
  readonly done: Promise<readonly BatchItemResult[]>;
}

/** Drives one processing node: the synchronous fast path, its queue, and its async pump. */
export class NodeRunner extends Stage implements Successor {
  readonly queue: EdgeQueue;
  received = 0;
  timeMs = 0;
  busy = false;
  dead = false;
  /** The node processes batches (processBatch). */
  readonly batched: boolean;
  /**
   * Items reach this node through its queue and pump, never by a synchronous call: set on every
   * SYNC_DEPTH_LIMIT-th level of the graph, so that a synchronous cascade down a long chain of nodes never
   * nests deeper than that many calls (a 5,000-node chain would overflow the stack otherwise).
   */
  boundary = false;
  private idleWaiters: (() => void)[] = [];
  /** Batches in flight, and error records waiting their turn, in item order (concurrent batching only). */
  private readonly inFlight: InFlight[] = [];
  /** Batches of inFlight still running. */
  private running = 0;
  /** Batches the node may have in flight (1 unless it is a pool). */
  private readonly concurrency: number;
  /** A pool's items done so far and their time in batches (ms), for the size of its next batches. */
  private poolItems = 0;
  private poolMs = 0;

  constructor(
    id: string,
    typeName: string,
    run: RunState,
    readonly node: PipelineNode,
    capacity: number,
    policy: ConstructorParameters<typeof EdgeQueue>[1],
  ) {
    super(id, typeName, run);
    this.queue = new EdgeQueue(capacity, policy);
    this.batched = node.processBatch !== undefined;
    this.concurrency = this.batched ? Math.max(1, Math.floor(node.concurrency ?? 1)) : 1;
  }

  /** Takes one item. Returns a Blocker when the producer must wait before sending more. */
  push(item: unknown): Blocker | null {
    if (this.busy) {
      if (this.dead) return null;
      const b = this.queue.push(item);
      if (this.concurrency > 1) this.dispatch();
      return b;
    }
    if (this.boundary) return this.deferPush(item);
    if (this.batched) {
      // A batching node is asynchronous: its batch starts after a microtask, so the items a source emits in the
      // same turn join this one (a batch crosses to a Python runtime in one round trip, ~70 µs between threads).
      return this.deferPush(item);
    }
    const index = this.received++;
    let r: unknown;
    try {
      r = this.run.timing ? this.timedProcess(item, index) : this.node.process(item);
    } catch (e) {
      return this.reject(e, item, index);
    }
    if (r === undefined) return null;
    if (typeof r === 'object' && r !== null && !Array.isArray(r)) {
      if (isIterator(r)) return this.emitIterator(r, item, index);
      if (isPromiseLike(r) || isAsyncIterator(r)) {
        this.startPump(r, item, index);
        return null;
      }
    }
    return this.emit(r);
  }

  /** Takes an error record passing through. */
  acceptError(record: ErrorRecord): Blocker | null {
    if (this.busy) return this.dead ? null : this.queue.push(record);
    if (this.boundary) return this.deferPush(record);
    return this.passError(record);
  }

  /** Queues an item and starts the pump, which takes it from a fresh stack (after a microtask). */
  private deferPush(item: unknown): Blocker | null {
    this.busy = true;
    const b = this.queue.push(item);
    void this.pump(Promise.resolve());
    return b;
  }

  /**
   * An item error that arrives from outside (an unparsable input line fed to this entry node): under `skip`
   * its record queues behind the items already waiting here, so the output keeps input order.
   */
  rejectArriving(message: string, item: unknown): Blocker | null {
    const index = this.received++;
    if (this.run.policy !== 'skip') return this.reject(new Error(message), item, index);
    this.errors++;
    return this.acceptError(new ErrorRecord(this.id, this.typeName, index, message, item));
  }

  /** Resolves when the node has nothing in flight (dead nodes count as idle). */
  idle(): Promise<void> | null {
    if (!this.busy || this.dead) return null;
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs `flush` and sends its outputs on; errors become item errors with index null. Null: nothing to flush. */
  flush(): Promise<void> | null {
    if (this.node.flush === undefined) return null;
    return this.flushNow();
  }

  private async flushNow(): Promise<void> {
    if (this.node.flush === undefined) return;
    const started = this.run.timing ? performance.now() : 0;
    let r: unknown;
    try {
      r = this.node.flush();
    } catch (e) {
      const b = this.reject(e, undefined, null);
      if (b !== null) await b.whenReady();
      return;
    } finally {
      if (this.run.timing) this.timeMs += performance.now() - started;
    }
    this.busy = true;
    try {
      await this.consume(r, undefined, null);
    } finally {
      this.settle();
    }
  }

  protected override die(): void {
    this.dead = true;
    this.busy = true;
    this.queue.clear();
    this.notifyIdle();
  }

  /**
   * `process` with its time added to the node's: every item of the first TIME_EVERY_FIRST, then one item in
   * TIME_SAMPLE, counted TIME_SAMPLE times (two clock reads per item per node are a tenth of a light node's cost).
   */
  private timedProcess(item: unknown, index: number): unknown {
    const sampled = index >= TIME_EVERY_FIRST;
    if (sampled && index % TIME_SAMPLE !== 0) return this.node.process(item);
    const t = performance.now();
    try {
      return this.node.process(item);
    } finally {
      this.timeMs += (performance.now() - t) * (sampled ? TIME_SAMPLE : 1);
    }
  }

  /** Emits a generator's values synchronously until a successor blocks; the rest continues in the pump. */
  private emitIterator(it: Iterator<unknown>, item: unknown, index: number): Blocker | null {
    try {
      for (;;) {
        const step = it.next();
        if (step.done === true) return null;
        const b = this.emit(step.value);
        if (b !== null) {
          this.busy = true;
          void this.pumpAfter(b, it, item, index);
          return null;
        }
      }
    } catch (e) {
      return this.reject(e, item, index);
    }
  }

  private startPump(first: unknown, item: unknown, index: number): void {
    this.busy = true;
    void this.pump(this.consume(first, item, index));
  }

  private async pumpAfter(
    blocker: Blocker,
    it: Iterator<unknown>,
    item: unknown,
    index: number,
  ): Promise<void> {
    await this.pump(
      (async () => {
        await blocker.whenReady();
        await this.consumeIterator(it, item, index);
      })(),
    );
  }

  /** Finishes the current item, then drains the queue in order; the node is idle again at the end. */
  private async pump(current: Promise<void>): Promise<void> {
    try {
      await current;
      if (this.concurrency > 1) {
        await this.pumpConcurrent();
        return;
      }
      while (!this.dead && this.queue.length > 0) {
        if (this.batched && !(this.queue.peek() instanceof ErrorRecord)) {
          // Everything waiting, up to the next error record (which must keep its place in the order).
          const items: unknown[] = [];
          while (
            items.length < MAX_BATCH &&
            this.queue.length > 0 &&
            !(this.queue.peek() instanceof ErrorRecord)
          ) {
            items.push(this.queue.shift());
          }
          const first = this.received;
          this.received += items.length;
          await this.consumeBatch(items, first);
          continue;
        }
        const next = this.queue.shift();
        if (next instanceof ErrorRecord) {
          const b = this.passError(next);
          if (b !== null) await b.whenReady();
          continue;
        }
        const index = this.received++;
        let r: unknown;
        try {
          r = this.run.timing ? this.timedProcess(next, index) : this.node.process(next);
        } catch (e) {
          const b = this.reject(e, next, index);
          if (b !== null) await b.whenReady();
          continue;
        }
        await this.consume(r, next, index);
      }
    } catch (e) {
      // consume() handles node errors; anything here is a bug in the executor.
      this.run.fail(toError(e));
    } finally {
      this.settle();
    }
  }

  /** Concurrent batching: delivers the batches in order as they finish, starting new ones as others end. */
  private async pumpConcurrent(): Promise<void> {
    this.dispatch();
    while (this.inFlight.length > 0) {
      const head = this.inFlight[0] as InFlight;
      const results = await head.done;
      this.inFlight.shift();
      if (this.dead) return;
      if (head.record !== null) {
        const b = this.passError(head.record);
        if (b !== null) await b.whenReady();
      } else {
        await this.deliver(head.items, results, head.firstIndex);
      }
      this.dispatch();
    }
  }

  /**
   * Starts batches while fewer than `concurrency` run: each takes its share of what waits (at least one item, at
   * most MAX_BATCH and about POOL_BATCH_MS of work, never past an error record, which keeps its place in the order).
   */
  private dispatch(): void {
    while (!this.dead && this.queue.length > 0 && this.running < this.concurrency) {
      if (this.queue.peek() instanceof ErrorRecord) {
        const record = this.queue.shift() as ErrorRecord;
        this.inFlight.push({ items: [], firstIndex: 0, record, done: Promise.resolve([]) });
        continue;
      }
      const perItemMs = this.poolItems > 0 ? this.poolMs / this.poolItems : 0;
      const byTime = perItemMs > 0 ? Math.max(1, Math.floor(POOL_BATCH_MS / perItemMs)) : MAX_BATCH;
      const share = Math.min(MAX_BATCH, byTime, Math.ceil(this.queue.length / this.concurrency));
      const items: unknown[] = [];
      while (items.length < share && this.queue.length > 0 && !(this.queue.peek() instanceof ErrorRecord)) {
        items.push(this.queue.shift());
      }
      const firstIndex = this.received;
      this.received += items.length;
      this.running++;
      const done = this.timedBatch(items).finally(() => {
        this.running--;
        // A pool slot is free: start the next batch now, whether or not the batches before it are done.
        queueMicrotask(() => {
          this.dispatch();
        });
      });
      this.inFlight.push({ items, firstIndex, record: null, done });
    }
  }

  private settle(): void {
    if (this.dead) return;
    this.busy = false;
    this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Runs `processBatch` on items and delivers each item's output or error, in order. */
  private async consumeBatch(items: readonly unknown[], firstIndex: number): Promise<void> {
    await this.deliver(items, await this.timedBatch(items), firstIndex);
  }

  /**
   * `processBatch`, its time added to the node's (with timing on) and to the pool's mean per item; a rejection
   * becomes every item's error.
   */
  private async timedBatch(items: readonly unknown[]): Promise<readonly BatchItemResult[]> {
    const started = performance.now();
    try {
      return await (this.node.processBatch as NonNullable<PipelineNode['processBatch']>)(items);
    } catch (e) {
      return items.map(() => ({ ok: false, error: e }));
    } finally {
      const ms = performance.now() - started;
      if (this.run.timing) this.timeMs += ms;
      this.poolItems += items.length;
      this.poolMs += ms;
    }
  }

  /** Delivers each item's output or error of a batch, in order. */
  private async deliver(
    items: readonly unknown[],
    results: readonly BatchItemResult[],
    firstIndex: number,
  ): Promise<void> {
    for (let i = 0; i < items.length; i++) {
      if (this.dead) return;
      const r = results[i] ?? {
        ok: false,
        error: new Error(`the node returned ${results.length} results for ${items.length} items`),
      };
      if (r.ok) {
        await this.consume(r.output, items[i], firstIndex + i);
      } else {
        const b = this.reject(r.error, items[i], firstIndex + i);
        if (b !== null) await b.whenReady();
      }
    }
  }

  /** Delivers any output shape (value, promise, iterator, async iterator), waiting on blockers. */
  private async consume(r: unknown, item: unknown, index: number | null): Promise<void> {
    try {
      if (typeof r === 'object' && r !== null && isPromiseLike(r)) r = await r;
      if (r === undefined) return;
      if (typeof r === 'object' && r !== null && !Array.isArray(r)) {
        if (isAsyncIterator(r)) {
          for await (const v of r) {
            if (this.dead) return;
            const b = this.emit(v);
            if (b !== null) await b.whenReady();
          }
          return;
        }
        if (isIterator(r)) {
          await this.consumeIterator(r, item, index);
          return;
        }
      }
      const b = this.emit(r);
      if (b !== null) await b.whenReady();
    } catch (e) {
      const b = this.reject(e, item, index);
      if (b !== null) await b.whenReady();
    }
  }

  private async consumeIterator(it: Iterator<unknown>, item: unknown, index: number | null): Promise<void> {
    try {
      for (;;) {
        if (this.dead) return;
        const step = it.next();
        if (step.done === true) return;
        const b = this.emit(step.value);
        if (b !== null) await b.whenReady();
      }
    } catch (e) {
      const b = this.reject(e, item, index);
      if (b !== null) await b.whenReady();
    }
  }
}
