/**
 * The workers of one node: a WorkerSlot holds one worker at a time, queues the node's requests (one at a time, in
 * order), starts a new worker when the previous one died, and re-sends the items a failed worker did not finish
 * (the node's state is lost, and a warning says so). Idle workers are kept here for the next run of the same node.
 */
import { PythonNodeInitError } from '../../core/errors.js';
import { CANCELLED, type PythonCallResult, type PythonException } from '../runtime.js';
import { encodingProblem } from './wire.js';
import { WorkerProcess, type RequestOutcome, type WorkerConfig } from './worker-process.js';

/** A failure to start a worker as the PythonNodeInitError start() promises. */
function asInitError(nodeId: string, e: unknown): PythonNodeInitError {
  if (e instanceof PythonNodeInitError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new PythonNodeInitError(nodeId, { type: 'WorkerStartError', message, traceback: '' });
}

/**
 * Idle workers, kept for the next run of the same node in this process (a server running pipelines, a benchmark):
 * starting a worker costs 40–100 ms; reusing one costs a fresh module and a fresh instance of the class (state
 * does not carry over), with the libraries it imported still loaded. Only a worker that ran exactly the same
 * node definition (source, class, init, file name, interpreter, timeout) is reused. Idle workers do not keep
 * pitlane running and are killed after a minute unused.
 */
const IDLE_MS = 60_000;
const idleWorkers = new Map<string, { worker: WorkerProcess; timer: NodeJS.Timeout }[]>();

function workerKey(config: WorkerConfig): string {
  const { source } = config;
  return JSON.stringify([
    config.python,
    config.itemTimeoutMs,
    source.fileName,
    source.code ?? null,
    source.modulePath ?? null,
    source.className,
    source.init,
  ]);
}

function takeIdleWorker(config: WorkerConfig): WorkerProcess | null {
  const list = idleWorkers.get(workerKey(config));
  while (list !== undefined && list.length > 0) {
    const entry = list.pop();
    if (entry === undefined) break;
    clearTimeout(entry.timer);
    if (!entry.worker.dead) {
      entry.worker.setReferenced(true);
      return entry.worker;
    }
  }
  return null;
}

function keepIdleWorker(config: WorkerConfig, worker: WorkerProcess): void {
  worker.setReferenced(false);
  const key = workerKey(config);
  const list = idleWorkers.get(key) ?? [];
  const timer = setTimeout(() => {
    const at = list.findIndex((e) => e.worker === worker);
    if (at >= 0) list.splice(at, 1);
    worker.kill();
  }, IDLE_MS);
  timer.unref();
  list.push({ worker, timer });
  idleWorkers.set(key, list);
}

export class WorkerSlot {
  private worker: WorkerProcess | null = null;
  /** Set when a replacement worker could not start its node: every later item fails with this. */
  private broken: PythonException | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Jobs queued or running on this slot. */
  pending = 0;
  /** Whether the class defines flush() (known after the first start). */
  hasFlush = true;

  constructor(
    private readonly config: WorkerConfig,
    private readonly warn: (message: string) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', () => this.worker?.cancel(), { once: true });
  }

  /** Starts the first worker; rejects with PythonNodeInitError. */
  async start(): Promise<void> {
    let worker: WorkerProcess | null = null;
    try {
      worker = takeIdleWorker(this.config) ?? new WorkerProcess(this.config);
      this.worker = worker;
      const info = await worker.start();
      this.hasFlush = info.flush;
    } catch (e) {
      this.worker = null;
      if (worker !== null) {
        worker.kill();
        await worker.done;
      }
      throw asInitError(this.config.source.nodeId, e);
    }
  }

  processBatch(items: readonly unknown[]): Promise<PythonCallResult[]> {
    return this.enqueue(() => this.run('batch', items));
  }

  async flush(): Promise<PythonCallResult> {
    if (!this.hasFlush) return { ok: true, outputs: [] };
    const [result] = await this.enqueue(() => this.run('flush', [undefined]));
    return result ?? { ok: true, outputs: [] };
  }

  /** Runs cleanup() on the worker, if it is alive, and waits until it is gone. Never rejects. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      const worker = this.worker;
      this.worker = null;
      if (worker === null) return;
      if (await worker.release()) {
        keepIdleWorker(this.config, worker);
        return;
      }
      const error = await worker.close();
      if (error !== null) this.warn(`cleanup() failed: ${error.type}: ${error.message}`);
    }).catch(() => undefined);
  }

  /** SIGKILL now (for a start that failed elsewhere in the pool). */
  kill(): void {
    this.worker?.kill();
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const run = this.queue.then(job).finally(() => {
      this.pending--;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(kind: 'batch' | 'flush', items: readonly unknown[]): Promise<PythonCallResult[]> {
    const results: (PythonCallResult | undefined)[] = new Array<PythonCallResult | undefined>(items.length);
    let todo: number[] | null = null; // null: all items, in order
    let count = items.length;
    while (count > 0) {
      const worker = await this.liveWorker();
      const indices = todo;
      if (!(worker instanceof WorkerProcess)) {
        for (let j = 0; j < count; j++) results[indices === null ? j : (indices[j] as number)] = worker;
        break;
      }
      const at = (j: number): number => (indices === null ? j : (indices[j] as number));
      let outcome: RequestOutcome;
      try {
        outcome = await worker.request(kind, indices === null ? items : indices.map((i) => items[i]));
      } catch (e) {
        // Some item cannot be encoded: those fail, the others are sent again.
        const rest: number[] = [];
        for (let j = 0; j < count; j++) {
          const problem = encodingProblem(items[at(j)]);
          if (problem === null) rest.push(at(j));
          else results[at(j)] = { ok: false, error: problem };
        }
        if (rest.length === count) throw e;
        todo = rest;
        count = rest.length;
        continue;
      }
      outcome.results.forEach((r, j) => {
        results[at(j)] = r;
      });
      if (outcome.complete) break;
      const { failedIndex, failure } = outcome;
      results[at(failedIndex)] = { ok: false, error: failure.error };
      this.worker = null;
      if (failure.error === CANCELLED) {
        // Cancelled: the rest of the batch is not run; a later flush starts a new worker.
        for (let j = outcome.results.length; j < count; j++)
          if (j !== failedIndex) results[at(j)] = { ok: false, error: CANCELLED };
        break;
      }
      this.warn(`${failure.what}; a new worker takes over and the node's state is lost`);
      const rest: number[] = [];
      for (let j = outcome.results.length; j < count; j++) if (j !== failedIndex) rest.push(at(j));
      todo = rest;
      count = rest.length;
    }
    return results as PythonCallResult[];
  }

  /** The worker, alive, or a new one; or the error that a replacement could not start with. */
  private async liveWorker(): Promise<WorkerProcess | { ok: false; error: PythonException }> {
    if (this.broken !== null) return { ok: false, error: this.broken };
    if (this.worker !== null && !this.worker.dead) return this.worker;
    if (this.worker !== null) {
      this.warn(
        `the worker exited between batches (${this.worker.exitText()}); a new worker takes over and the node's state is lost`,
      );
    }
    let worker: WorkerProcess | null = null;
    try {
      worker = new WorkerProcess(this.config);
      this.worker = worker;
      await worker.start();
      return worker;
    } catch (e) {
      this.worker = null;
      worker?.kill();
      const reason = asInitError(this.config.source.nodeId, e).exception;
      this.broken = { ...reason, message: `a new worker could not start the node: ${reason.message}` };
      return { ok: false, error: this.broken };
    }
  }
}
