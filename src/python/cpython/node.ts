/**
 * The CPython runtime of `python` nodes (docs/python-nodes.md): a node's class runs in a persistent `python3`
 * worker process (src/python/worker/pitlane_worker.py), or in a small pool of them for a stateless node. This
 * module is the node the runtime gives the `python` node type: its options, its start, the split of a batch over
 * the pool, flush and close. The rest is below it: the workers of one slot (pool.ts), one worker process
 * (worker-process.ts), its control file (control-file.ts) and the frames on its pipes (wire.ts).
 *
 * Hot path: one write per batch, one JSON.stringify per batch and one JSON.parse per results frame, no base64;
 * no per-item message and no per-item system call on either side (per-item progress goes through the control file).
 *
 * Written here rather than taken from a library: the Node packages that drive Python processes (python-shell
 * and the like) exchange text lines of JSON, with no binary values, batching or per-item timeouts.
 */
import { keepArrival } from '../audio-items.js';
import {
  DEFAULT_ITEM_TIMEOUT_MS,
  type PythonCallResult,
  type PythonNodeInstance,
  type PythonNodeSource,
  type PythonRuntimeOptions,
} from '../runtime.js';
import { WorkerSlot } from './pool.js';
import type { WorkerConfig } from './worker-process.js';

/**
 * Options of the CPython runtime. A timeout or a cancellation kills the worker running the item: the node's state is
 * lost with it.
 */
export interface CPythonRuntimeOptions extends PythonRuntimeOptions {
  /** The interpreter to run (default: `$PITLANE_PYTHON`, else `python3` on the PATH). */
  readonly python?: string;
  /** Number of workers (default 1). Give more than 1 only for a stateless node: each has its own instance. */
  readonly poolSize?: number;
  /** Receives what the workers write on stderr (default: copied to pitlane's stderr). */
  readonly onStderr?: (text: string) => void;
}

const DEFAULTS = {
  poolSize: 1,
} as const;

class CPythonNode implements PythonNodeInstance {
  readonly runtime = 'cpython' as const;
  private readonly slots: WorkerSlot[];
  private state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  /** The slot the next batch starts at (round robin). */
  private next = 0;

  constructor(source: PythonNodeSource, options: CPythonRuntimeOptions) {
    const onWarning =
      options.onWarning ??
      ((id: string, message: string) => {
        process.stderr.write(`[python:${id}] WARNING ${message}\n`);
      });
    const config: WorkerConfig = {
      source,
      python: options.python ?? process.env.PITLANE_PYTHON ?? 'python3',
      itemTimeoutMs: options.itemTimeoutMs ?? DEFAULT_ITEM_TIMEOUT_MS,
      onLog:
        options.onLog ??
        ((r) => {
          process.stderr.write(`[python:${r.nodeId}] ${r.level.toUpperCase()} ${r.message}\n`);
        }),
      onStderr:
        options.onStderr ??
        ((text) => {
          process.stderr.write(text);
        }),
    };
    const size = Math.max(1, Math.floor(options.poolSize ?? DEFAULTS.poolSize));
    this.slots = Array.from(
      { length: size },
      () =>
        new WorkerSlot(
          config,
          (message) => {
            onWarning(source.nodeId, message);
          },
          options.signal,
        ),
    );
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('start() was already called');
    this.state = 'starting';
    const outcomes = await Promise.allSettled(this.slots.map((slot) => slot.start()));
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(this.slots.map((slot) => slot.close()));
      this.state = 'closed';
      throw failed.reason;
    }
    this.state = 'started';
  }

  async processBatch(items: readonly unknown[]): Promise<PythonCallResult[]> {
    this.assertStarted();
    if (items.length === 0) return [];
    const n = this.slots.length;
    if (n === 1) return keepArrival(items, await (this.slots[0] as WorkerSlot).processBatch(items));
    // A pool: contiguous chunks on the idle slots (on consecutive slots when none is idle), results concatenated
    // in order. The executor hands a pool a batch whenever a slot is free (the node's concurrency).
    const idle = this.slots.filter((slot) => slot.pending === 0);
    const chunks = Math.min(idle.length > 0 ? idle.length : n, items.length);
    const size = Math.ceil(items.length / chunks);
    const parts: Promise<PythonCallResult[]>[] = [];
    for (let start = 0, k = 0; start < items.length; start += size, k++) {
      const slot =
        idle.length > 0 ? (idle[k] as WorkerSlot) : (this.slots[(this.next + k) % n] as WorkerSlot);
      parts.push(slot.processBatch(items.slice(start, start + size)));
    }
    if (idle.length === 0) this.next = (this.next + parts.length) % n;
    return keepArrival(items, (await Promise.all(parts)).flat());
  }

  async flush(): Promise<PythonCallResult> {
    this.assertStarted();
    const results = await Promise.all(this.slots.map((slot) => slot.flush()));
    const failed = results.find((r) => !r.ok);
    if (failed !== undefined) return failed;
    return { ok: true, outputs: results.flatMap((r) => (r.ok ? r.outputs : [])) };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.all(this.slots.map((slot) => slot.close()));
  }

  private assertStarted(): void {
    if (this.state !== 'started') {
      throw new Error(
        this.state === 'closed' ? 'the Python node is closed' : 'start() the Python node first',
      );
    }
  }
}

/**
 * A node's class on CPython worker processes: `start()` spawns the worker(s) and instantiates the class; see
 * PythonNodeInstance for the rest. A pool (`poolSize` > 1) is for stateless nodes only: each batch is split into
 * contiguous chunks over the workers, and the results come back in order.
 */
export function createCPythonNode(
  source: PythonNodeSource,
  options: CPythonRuntimeOptions,
): PythonNodeInstance {
  return new CPythonNode(source, options);
}
