/**
 * The streaming executor. Items are pushed through the graph depth-first: when a node is idle and its
 * `process` returns a plain value, the value goes straight to its successors in the same call stack, so a
 * chain of synchronous nodes costs a few function calls per item and allocates no promise. A node whose
 * `process` returns a promise or an async iterator becomes busy; items that reach it meanwhile wait in its
 * bounded EdgeQueue and an async pump drains them in order. A full queue (policy `block`) hands a Blocker back
 * up the call stack to the producer (a source loop or another pump), which waits on it: backpressure without
 * a promise per item. Sources yield to the event loop every 1024 items so signals and I/O get through.
 *
 * Error policy `skip` turns an item error into an ErrorRecord that travels along the first outgoing
 * connection, unprocessed, to a terminal node; `fail` stops the sources, lets in-flight items drain, skips
 * flush and reports a NodeFailedError. `cleanup` always runs. Semantics: docs/pipelines.md.
 */
import { performance } from 'node:perf_hooks';
import { ItemError, NodeFailedError, NodeInitError, toError } from '../core/errors.js';
import { EdgeQueue, type Blocker } from './edge-queue.js';
import type { ErrorPolicy, Manifest } from './manifest.js';
import {
  InputParseFailure,
  type BatchItemResult,
  type NodeContext,
  type NodeRunOptions,
  type PipelineNode,
  type SourceNode,
} from './node.js';

/** Receives each pipeline output; may return a Blocker to apply backpressure (e.g. a full stdout). */
export type OutputSink = (value: unknown, nodeId: string) => Blocker | null | undefined;

/** Options of a run. */
export interface RunOptions {
  /** The pipeline's input stream (parsed JSONL values or InputParseFailure), for sources that read it. */
  readonly input?: AsyncIterable<unknown>;
  /** Where outputs go; by default they are collected into `result.outputs`. */
  readonly onOutput?: OutputSink;
  /** Overrides the manifest's error policy. */
  readonly onError?: ErrorPolicy;
  /** Cancels the run: sources stop, in-flight items drain, nodes are flushed and cleaned up. */
  readonly signal?: AbortSignal;
  /** Measure time spent in each node's `process` (costs two clock reads per item per node). */
  readonly timing?: boolean;
  /** Options handed to every node (Python runtime override, log sink). */
  readonly nodeOptions?: NodeRunOptions;
}

/** Counters of one node after a run. */
export interface NodeStats {
  readonly id: string;
  readonly type: string;
  /** Items the node received (0 for sources). */
  readonly received: number;
  /** Items the node output (error records not included). */
  readonly emitted: number;
  /** Items dropped by its input queue's drop policy, or discarded from it when the run stopped. */
  readonly dropped: number;
  /** Item errors it raised. */
  readonly errors: number;
  /** Milliseconds spent in `process`/`flush` (synchronous part; whole batches for batching nodes); null when timing was off. */
  readonly timeMs: number | null;
  /** How the node ran, when it says (e.g. the Python runtime chosen and why). */
  readonly detail: string | null;
}

/** The outcome of a run: a value, not an exception, whatever happened. */
export interface PipelineResult {
  readonly state: 'completed' | 'cancelled' | 'failed';
  /** Collected outputs, when no `onOutput` was given. */
  readonly outputs: unknown[];
  /** Per-node counters, in manifest order. */
  readonly stats: readonly NodeStats[];
  /** Set when state is `failed`: the first node failure, or an initialisation or source error. */
  readonly error?: Error;
  readonly durationMs: number;
}

/** An item error under policy `skip`; travels to the output unprocessed. */
export class ErrorRecord {
  constructor(
    readonly node: string,
    readonly nodeType: string,
    readonly itemIndex: number | null,
    readonly message: string,
    readonly item: unknown,
    /** For errors raised by Python code: the traceback of the node's own frames. */
    readonly traceback?: string,
  ) {}

  /** The record as it appears in the output stream. */
  toJSON(): { $error: Record<string, unknown> } {
    const e: Record<string, unknown> = {
      node: this.node,
      node_type: this.nodeType,
      item_index: this.itemIndex,
      message: this.message,
    };
    if (this.item !== undefined) e.item = this.item;
    if (this.traceback !== undefined) e.traceback = this.traceback;
    return { $error: e };
  }
}

/**
 * An AbortController made only when a node asks for its signal: creating one costs more than running a small
 * pipeline, and most nodes never look at it.
 */
class LazyAbort {
  private controller: AbortController | null = null;
  private aborted = false;

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort();
  }
}

/** The NodeContext handed to `create`; the signal is made on first access. */
class CreateContext implements NodeContext<unknown> {
  constructor(
    readonly id: string,
    readonly params: unknown,
    readonly baseDir: string,
    readonly runtimeHint: string | undefined,
    readonly options: NodeRunOptions,
    private readonly abort: LazyAbort,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }
}

const YIELD_EVERY = 1024;
/** Largest batch handed to a batching node at once. */
const MAX_BATCH = 1024;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function isPromiseLike(v: object): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown }).then === 'function';
}
function isIterator(v: object): v is Iterator<unknown> & Iterable<unknown> {
  return typeof (v as { next?: unknown }).next === 'function' && Symbol.iterator in v;
}
function isAsyncIterator(v: object): v is AsyncIterable<unknown> {
  return Symbol.asyncIterator in v;
}

/** What runners share: the run's policy and its failure/stop state. */
class RunState {
  stopped = false;
  cancelled = false;
  failure: Error | null = null;
  constructor(
    readonly policy: ErrorPolicy,
    readonly timing: boolean,
    readonly stopSources: () => void,
  ) {}

  fail(error: Error): void {
    if (this.failure === null) this.failure = error;
    this.stopped = true;
    this.stopSources();
  }
}

/** A stage of the graph that outputs items: a source or a node. */
abstract class Stage {
  next: NodeRunner[] = [];
  firstNext: NodeRunner | null = null;
  output: OutputSink | null = null;
  emitted = 0;
  errors = 0;

  constructor(
    readonly id: string,
    readonly typeName: string,
    protected readonly run: RunState,
  ) {}

  /** Sends one output to the pipeline output (if this is an output node) and to every successor. */
  emit(value: unknown): Blocker | null {
    this.emitted++;
    let blocked: Blocker | null = null;
    if (this.output !== null) {
      try {
        blocked = this.output(value, this.id) ?? null;
      } catch (e) {
        // The output cannot take this value (it cannot be written as JSON): the emitting node's item error.
        return this.reject(e, undefined, null);
      }
    }
    const next = this.next;
    for (let i = 0; i < next.length; i++) {
      const b = (next[i] as NodeRunner).push(value);
      if (b !== null) blocked = b;
    }
    return blocked;
  }

  /** Sends an error record on: along the first connection, or to the output at a terminal node. */
  passError(record: ErrorRecord): Blocker | null {
    if (this.firstNext !== null) return this.firstNext.acceptError(record);
    return this.output?.(record.toJSON(), this.id) ?? null;
  }

  /** Handles an item error raised by this stage according to the policy. */
  reject(
    thrown: unknown,
    item: unknown,
    index: number | null,
    phase: 'flush' | 'source' = 'flush',
  ): Blocker | null {
    this.errors++;
    const message = toError(thrown).message;
    if (this.run.policy === 'fail' && this.run.cancelled && thrown instanceof ItemError && thrown.cancelled) {
      return null; // interrupted by the cancellation, not failed: the run ends as cancelled (exit 130)
    }
    if (this.run.policy === 'skip') {
      const tb = (thrown as { traceback?: unknown } | null)?.traceback;
      return this.passError(
        new ErrorRecord(
          this.id,
          this.typeName,
          index,
          message,
          item,
          typeof tb === 'string' ? tb : undefined,
        ),
      );
    }
    this.run.fail(new NodeFailedError(this.id, this.typeName, index, item, message, thrown, phase));
    this.die();
    return null;
  }

  protected die(): void {
    // Sources simply stop (run.stopped); nodes also stop taking input.
  }
}

/** Drives one processing node: the synchronous fast path, its queue, and its async pump. */
class NodeRunner extends Stage {
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
  }

  /** Takes one item. Returns a Blocker when the producer must wait before sending more. */
  push(item: unknown): Blocker | null {
    if (this.busy) return this.dead ? null : this.queue.push(item);
    if (this.boundary) return this.deferPush(item);
    if (this.batched) {
      // A batching node is asynchronous: its batch starts after a microtask, so the items a source emits in the
      // same turn join this one (a batch crosses to a Python runtime in one round trip, ~70 µs between threads).
      return this.deferPush(item);
    }
    const index = this.received++;
    let r: unknown;
    try {
      r = this.run.timing ? this.timedProcess(item) : this.node.process(item);
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

  private timedProcess(item: unknown): unknown {
    const t = performance.now();
    try {
      return this.node.process(item);
    } finally {
      this.timeMs += performance.now() - t;
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
          r = this.run.timing ? this.timedProcess(next) : this.node.process(next);
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
    const started = this.run.timing ? performance.now() : 0;
    let results: readonly BatchItemResult[];
    try {
      results = await (this.node.processBatch as NonNullable<PipelineNode['processBatch']>)(items);
    } catch (e) {
      results = items.map(() => ({ ok: false, error: e }));
    } finally {
      if (this.run.timing) this.timeMs += performance.now() - started;
    }
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

/** Drives one source: its item loop. `entry` is the node input-stream errors are attributed to. */
class SourceRunner extends Stage {
  constructor(
    id: string,
    typeName: string,
    run: RunState,
    readonly node: SourceNode,
    /** For the implicit input source: the entry node whose errors invalid input lines are. */
    readonly entry: Stage | null,
  ) {
    super(id, typeName, run);
  }

  /** Runs the source's item loop; an error while reading (a file that cannot be read) is its item error. */
  async drive(input: AsyncIterable<unknown> | undefined): Promise<void> {
    try {
      await this.loop(input);
    } catch (e) {
      const b = this.reject(e, undefined, null, 'source');
      if (b !== null) await b.whenReady();
    }
  }

  private async loop(input: AsyncIterable<unknown> | undefined): Promise<void> {
    const items = this.node.items(this.node.readsInput ? input : undefined);
    const run = this.run;
    if (Array.isArray(items)) {
      const list = items as readonly unknown[];
      for (let i = 0; i < list.length; i++) {
        if (run.stopped) return;
        const b = this.emit(list[i]);
        if (b !== null) await b.whenReady();
        if ((i & (YIELD_EVERY - 1)) === YIELD_EVERY - 1) await yieldToEventLoop();
      }
      return;
    }
    if (Symbol.asyncIterator in items) {
      let index = 0;
      let sinceYield = 0;
      for await (const v of items) {
        if (run.stopped) return;
        const at = index++;
        let b: Blocker | null;
        if (v instanceof InputParseFailure) {
          const message = `invalid JSON on input line ${v.line}${v.reason !== undefined ? `: ${v.reason}` : ''}`;
          b =
            this.entry instanceof NodeRunner
              ? this.entry.rejectArriving(message, v.text)
              : this.reject(new Error(message), v.text, at);
        } else {
          b = this.emit(v);
        }
        if (b !== null) await b.whenReady();
        if (++sinceYield === YIELD_EVERY) {
          sinceYield = 0;
          await yieldToEventLoop();
        }
      }
      return;
    }
    let sinceYield = 0;
    for (const v of items as Iterable<unknown>) {
      if (run.stopped) return;
      const b = this.emit(v);
      if (b !== null) await b.whenReady();
      if (++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  }
}

/** The implicit source of a manifest without DataSource: the input stream, fed to every entry node. */
const inputStreamSource: SourceNode = {
  readsInput: true,
  items: (input) => input ?? [],
};

/** Graph levels between two nodes that take their items asynchronously (NodeRunner.boundary). */
const SYNC_DEPTH_LIMIT = 128;

/** Marks the runners on every SYNC_DEPTH_LIMIT-th level of the graph (longest path from a source) as boundaries. */
function markBoundaries(plan: Manifest['plan'], runners: readonly (NodeRunner | null)[]): void {
  if (plan.order.length <= SYNC_DEPTH_LIMIT) return;
  const level = new Array<number>(plan.order.length).fill(0);
  for (const i of plan.order) {
    const l = level[i] as number;
    for (const j of plan.successors[i] ?? []) if ((level[j] as number) < l + 1) level[j] = l + 1;
    const r = runners[i];
    if (r !== null && r !== undefined && l > 0 && l % SYNC_DEPTH_LIMIT === 0) r.boundary = true;
  }
}

/** Runs a validated manifest to completion (or failure, or cancellation). */
export async function runPipeline(manifest: Manifest, options: RunOptions = {}): Promise<PipelineResult> {
  const started = performance.now();
  const abort = new LazyAbort();
  // Cancellation: sources stop, items waiting in queues are discarded (counted as dropped), items being
  // processed finish, then nodes are flushed as at a normal end of stream.
  const onAbort = (): void => {
    state.stopped = true;
    state.cancelled = true;
    for (const r of runners) r?.queue.clear();
    abort.abort();
  };
  const state = new RunState(options.onError ?? manifest.onError, options.timing === true, () => {
    abort.abort();
  });
  const outputs: unknown[] = [];
  const sink: OutputSink =
    options.onOutput ??
    ((v) => {
      outputs.push(v);
      return null;
    });

  // Build: one runner per node, wired by the plan.
  const { nodes, plan } = manifest;
  const stages: Stage[] = [];
  const runners: (NodeRunner | null)[] = [];
  const sources: SourceRunner[] = [];
  for (const n of nodes) {
    const instance = n.type.create(
      new CreateContext(n.id, n.params, manifest.baseDir, n.runtimeHint, options.nodeOptions ?? {}, abort),
    );
    if (n.type.role === 'source') {
      const s = new SourceRunner(n.id, n.type.name, state, instance as SourceNode, null);
      sources.push(s);
      stages.push(s);
      runners.push(null);
    } else {
      const r = new NodeRunner(
        n.id,
        n.type.name,
        state,
        instance as PipelineNode,
        n.queueCapacity,
        n.queuePolicy,
      );
      stages.push(r);
      runners.push(r);
    }
  }
  nodes.forEach((n, i) => {
    const stage = stages[i] as Stage;
    stage.next = (plan.successors[i] ?? []).map((s) => runners[s] as NodeRunner);
    stage.firstNext = stage.next[0] ?? null;
    if (n.isOutput) stage.output = sink;
  });
  if (sources.length === 0) {
    const entries = nodes
      .filter((_, i) => (plan.predecessors[i]?.length ?? 0) === 0)
      .map((n) => runners[n.index] as NodeRunner);
    const implicit = new SourceRunner('$input', 'Input', state, inputStreamSource, entries[0] ?? null);
    implicit.next = entries;
    sources.push(implicit);
  }

  markBoundaries(plan, runners);
  const order = plan.order.map((i) => stages[i] as Stage);
  const initialised: (PipelineNode | SourceNode)[] = [];
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (const stage of order) {
      const node = stage instanceof NodeRunner || stage instanceof SourceRunner ? stage.node : null;
      if (node === null) continue;
      try {
        const ready = node.initialize?.();
        initialised.push(node);
        if (ready !== undefined) await ready;
      } catch (e) {
        throw new NodeInitError(stage.id, stage.typeName, toError(e));
      }
    }

    if (sources.length === 1) await (sources[0] as SourceRunner).drive(options.input);
    else await Promise.all(sources.map((s) => s.drive(options.input)));

    // End of stream: in topological order, wait for each node to go idle, then flush it (not after a failure).
    for (const stage of order) {
      if (!(stage instanceof NodeRunner)) continue;
      const idle = stage.idle();
      if (idle !== null) await idle;
      if (state.failure !== null) continue;
      const flushed = stage.flush();
      if (flushed !== null) await flushed;
    }
  } catch (e) {
    state.fail(toError(e));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const node of initialised.reverse()) {
      try {
        const done = node.cleanup?.();
        if (done !== undefined) await done;
      } catch (e) {
        if (state.failure === null) state.failure = toError(e);
      }
    }
  }

  const stats: NodeStats[] = nodes.map((n, i) => {
    const stage = stages[i] as Stage;
    const r = runners[i];
    return {
      id: n.id,
      type: n.type.name,
      received: r?.received ?? 0,
      emitted: stage.emitted,
      dropped: r?.queue.dropped ?? 0,
      errors: stage.errors,
      timeMs: state.timing && r ? r.timeMs : null,
      detail: r?.node.describe?.() ?? null,
    };
  });
  const durationMs = performance.now() - started;
  if (state.failure !== null) return { state: 'failed', outputs, stats, error: state.failure, durationMs };
  return { state: state.cancelled ? 'cancelled' : 'completed', outputs, stats, durationMs };
}
