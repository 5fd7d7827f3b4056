/**
 * The Pyodide runtime of `python` nodes (docs/python-nodes.md): CPython compiled to WebAssembly, inside the
 * pitlane process. It exists so that pure-Python nodes run without a worker process per node and without a
 * process boundary per item.
 *
 * This module is the node the runtime gives the `python` node type. Every node lives in the one VM of the process
 * (vm.ts, on a worker thread: pyodide-thread.ts), as a module of its own made by the Python helper
 * (src/python/worker/pitlane_pyodide.py). Each node's calls are serialised; calls of different nodes may interleave
 * in the VM (a node's asyncio Tasks run while another node's batch waits). Values cross as JSON texts (codec.ts).
 *
 * An item over its timeout is interrupted and fails with the CPython runtime's `timed out after N s`; the call goes
 * on with the next item, the node's state intact. When the VM had to be replaced (an item that did not stop), the
 * node is initialised again in the new VM (a warning says its state was lost) and the items without a result go
 * there. Cancellation (the node's AbortSignal: Ctrl-C in `pitlane run`) fails the running item and the rest of its
 * batch as cancelled, so that the drain ends.
 */
import { readFile } from 'node:fs/promises';
import { PythonNodeInitError, toError } from '../../core/errors.js';
import { keepArrival } from '../audio-items.js';
import {
  CANCELLED,
  DEFAULT_ITEM_TIMEOUT_MS,
  itemTimedOut,
  type PythonCallResult,
  type PythonException,
  type PythonNodeInstance,
  type PythonNodeSource,
  type PythonRuntimeOptions,
} from '../runtime.js';
import {
  batchResults,
  decodeResults,
  encodeBatch,
  encodeValues,
  internalError,
  toException,
} from './codec.js';
import { liveVm, newNodeKey, PyodideVm, routes, VmLost } from './vm.js';

export { pyodideLoadInfo } from './vm.js';
export type { PyodideLoadInfo } from './messages.js';

/**
 * Options of the Pyodide runtime. A timeout or a cancellation interrupts the item in the VM (the node keeps its
 * state), unless it does not stop within the grace period.
 */
export interface PyodideRuntimeOptions extends PythonRuntimeOptions {
  /**
   * How long an interrupted item may take to stop before its VM is replaced (default 2 000 ms). It is wall-clock
   * time on this thread: on a machine so loaded that the VM's thread is not scheduled for that long, an item that
   * would have stopped is taken for stuck and the VM replaced (the documented fallback: the node's state is lost).
   */
  readonly interruptGraceMs?: number;
}

/** A Python node running in the process's Pyodide VM (loaded by the first `start()` of any node). */
export function createPyodideNode(
  source: PythonNodeSource,
  options: PyodideRuntimeOptions,
): PythonNodeInstance {
  return new PyodideNode(source, options);
}

// ---------------------------------------------------------------------------------------------------------------
// The node instance

class PyodideNode implements PythonNodeInstance {
  readonly runtime = 'pyodide' as const;
  #key: number | null = null;
  #vm: PyodideVm | null = null;
  #closed = false;
  #code: string | null = null;
  /** Why a new VM could not start the node again (every later item fails with it). */
  #broken: PythonException | null = null;
  /** The call in flight (cancelled when the signal aborts). */
  #inCall: { vm: PyodideVm; id: number } | null = null;
  /** Calls into Python are serialised per node: a batch never overtakes the previous one. */
  #tail: Promise<unknown> = Promise.resolve();
  #inFlight = 0;
  readonly #timeoutMs: number;

  constructor(
    private readonly source: PythonNodeSource,
    private readonly options: PyodideRuntimeOptions,
  ) {
    this.#timeoutMs = options.itemTimeoutMs ?? DEFAULT_ITEM_TIMEOUT_MS;
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  async start(): Promise<void> {
    const { nodeId } = this.source;
    if (this.#key !== null || this.#closed) throw new Error(`python node ${nodeId}: start() called twice`);
    let vm: PyodideVm;
    try {
      vm = await liveVm();
    } catch (err) {
      throw new PythonNodeInitError(nodeId, {
        type: 'RuntimeError',
        message: `could not load Pyodide: ${toError(err).message}`,
        traceback: '',
      });
    }
    this.#code = await this.#readCode();
    const failure = await this.#create(vm, this.#code);
    if (failure !== null) throw new PythonNodeInitError(nodeId, failure);
  }

  /** Instantiates the class in vm; null, or why it failed. */
  async #create(vm: PyodideVm, code: string): Promise<PythonException | null> {
    const key = newNodeKey();
    routes.set(key, { nodeId: this.source.nodeId, onLog: this.options.onLog });
    const init = encodeValues(this.source.init);
    let value: unknown;
    try {
      const { done } = vm.call(
        {
          kind: 'create',
          key,
          code,
          fileName: this.source.fileName,
          className: this.source.className,
          initPayload: init.payload,
          initBlobs: init.blobs,
        },
        this.source.nodeId,
        null,
      );
      value = (await done).value;
    } catch (err) {
      routes.delete(key);
      return internalError(err);
    }
    if (value !== undefined && value !== null) {
      routes.delete(key);
      return toException(value);
    }
    this.#key = key;
    this.#vm = vm;
    return null;
  }

  processBatch(items: readonly unknown[]): Promise<PythonCallResult[]> {
    const started = this.#started();
    if (started !== null) return Promise.reject(started);
    if (items.length === 0) return Promise.resolve([]);
    return this.#serialise(async () => keepArrival(items, await this.#run('batch', items)));
  }

  flush(): Promise<PythonCallResult> {
    const started = this.#started();
    if (started !== null) return Promise.reject(started);
    return this.#serialise(async () => {
      const [result] = await this.#run('flush', [null]);
      return result ?? { ok: true, outputs: [] };
    });
  }

  /**
   * Runs the items (or flush) in the VM; items without a result when the VM had to be replaced go to the new one
   * (the node started again there), except those that timed out or were cancelled.
   */
  async #run(kind: 'batch' | 'flush', items: readonly unknown[]): Promise<PythonCallResult[]> {
    const results = new Array<PythonCallResult>(items.length);
    let todo: number[] = items.map((_, i) => i);
    while (todo.length > 0) {
      const vm = await this.#liveNode();
      if (!(vm instanceof PyodideVm)) {
        for (const i of todo) results[i] = { ok: false, error: vm };
        break;
      }
      const key = this.#key as number;
      const sent = todo.length === items.length ? items : todo.map((i) => items[i]);
      const batch = kind === 'batch' ? encodeBatch(sent) : null;
      const { id, done } = vm.call(
        batch === null
          ? { kind: 'flush', key }
          : { kind: 'batch', key, payload: batch.payload, blobs: batch.blobs },
        this.source.nodeId,
        this.#timeoutMs,
        this.options.interruptGraceMs,
      );
      this.#inCall = { vm, id };
      if (this.options.signal?.aborted === true) vm.cancel(id);
      try {
        const outcome = await done;
        const got = batch === null ? decodeResults(outcome.value, 1) : batchResults(outcome.value, batch);
        for (const j of outcome.timedOut) got[j] = { ok: false, error: this.#timeoutError() };
        got.forEach((r, j) => {
          results[todo[j] as number] = r;
        });
        break;
      } catch (err) {
        if (!(err instanceof VmLost)) {
          for (const i of todo) results[i] = { ok: false, error: internalError(err) };
          break;
        }
        if (err.cancelled || err.crashed) {
          const error: PythonException = err.cancelled
            ? CANCELLED
            : { type: 'WorkerCrashed', message: err.reason, traceback: '' };
          for (const i of todo) results[i] = { ok: false, error };
          break;
        }
        for (const j of err.timedOut) results[todo[j] as number] = { ok: false, error: this.#timeoutError() };
        todo = todo.filter((_, j) => !err.timedOut.has(j));
      } finally {
        this.#inCall = null;
      }
    }
    return results;
  }

  #timeoutError(): PythonException {
    return itemTimedOut(this.#timeoutMs);
  }

  /** The VM with this node in it: the node is started again in a new VM if its VM was lost. */
  async #liveNode(): Promise<PyodideVm | PythonException> {
    if (this.#broken !== null) return this.#broken;
    const vm = this.#vm as PyodideVm;
    if (vm.lost === null) return vm;
    if (this.#key !== null) routes.delete(this.#key);
    this.#key = null;
    this.options.onWarning?.(
      this.source.nodeId,
      `${vm.lost}; a new Pyodide VM takes over and the node's state is lost`,
    );
    let failure: PythonException | null;
    try {
      failure = await this.#create(await liveVm(), this.#code as string);
    } catch (err) {
      failure = internalError(err);
    }
    if (failure === null) return this.#vm as PyodideVm;
    this.#broken = { ...failure, message: `a new Pyodide VM could not start the node: ${failure.message}` };
    return this.#broken;
  }

  readonly #onAbort = (): void => {
    const c = this.#inCall;
    if (c !== null) c.vm.cancel(c.id);
  };

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.options.signal?.removeEventListener('abort', this.#onAbort);
    await this.#tail.catch(() => undefined);
    const key = this.#key;
    const vm = this.#vm;
    this.#key = null;
    this.#vm = null;
    if (key === null || vm === null) return;
    try {
      if (vm.lost !== null) return;
      const { value } = await vm.call({ kind: 'close', key }, this.source.nodeId, null).done;
      if (value !== undefined && value !== null) {
        const e = toException(value);
        this.options.onWarning?.(this.source.nodeId, `cleanup() failed: ${e.type}: ${e.message}`);
      }
    } catch (err) {
      this.options.onWarning?.(this.source.nodeId, `closing failed: ${toError(err).message}`);
    } finally {
      routes.delete(key);
    }
  }

  /** null if the node is started, else the Error to reject with. */
  #started(): Error | null {
    if (this.#vm === null || this.#closed) {
      const why = this.#closed ? 'is closed' : 'was not started';
      return new Error(`python node ${this.source.nodeId} ${why}`);
    }
    return null;
  }

  #serialise<T>(call: () => Promise<T>): Promise<T> {
    let run: Promise<T>;
    if (this.#inFlight === 0) {
      try {
        run = call();
      } catch (err) {
        run = Promise.reject(toError(err));
      }
    } else run = this.#tail.then(call, call);
    this.#inFlight++;
    const settled = (): void => {
      this.#inFlight--;
    };
    this.#tail = run.then(settled, settled);
    return run;
  }

  async #readCode(): Promise<string> {
    const { code, modulePath, nodeId } = this.source;
    if (code !== undefined) return code;
    if (modulePath === undefined) {
      throw new PythonNodeInitError(nodeId, {
        type: 'ValueError',
        message: 'the node has neither code nor a module',
        traceback: '',
      });
    }
    try {
      return await readFile(modulePath, 'utf8');
    } catch (err) {
      const e = toError(err);
      const type = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FileNotFoundError' : 'OSError';
      throw new PythonNodeInitError(nodeId, { type, message: e.message, traceback: '' });
    }
  }
}
