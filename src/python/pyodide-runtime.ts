/**
 * The Pyodide runtime of `python` nodes (docs/python-nodes.md): CPython compiled to WebAssembly, inside the
 * pitlane process. It exists so that pure-Python nodes run without a worker process per node and without a
 * process boundary per item.
 *
 * It owns the one Pyodide VM of the process, loaded lazily by the first `start()` and shared by every node. The VM
 * lives on a worker thread (pyodide-worker.ts), so that a node that never returns stops neither timers, nor
 * signals, nor the other work of the main thread; the Python side of every call is the helper module of
 * pyodide-helper.ts. Each node's calls are serialised; calls of different nodes may interleave in the VM (a node's
 * asyncio Tasks run while another node's batch waits).
 *
 * Values cross in bulk, as one JSON text each way per batch: `JSON.stringify` here and the C scanner of Python's
 * json module there; Python's C encoder and `JSON.parse` on the way back. This is faster than `toPy`/`toJs`
 * (measured: ~2× per item) and, unlike them, gives exactly the value mapping of the contract (toPy turns `null`
 * into `jsnull` and 2^53 into a float, and crashes on a Node `Buffer`). What JSON cannot carry travels as small
 * tagged objects: binary (out of band, as Uint8Array ↔ bytes), non-finite numbers and integral numbers beyond 2^53
 * (which must become Python floats). The texts cross between the threads as strings (one copy each way).
 *
 * Per-item timeout: a watchdog here probes which item of a call is running (a probe signal in Pyodide's interrupt
 * buffer, answered by a Python signal handler while Python runs; a probe message while the VM is idle in asyncio),
 * so nothing is recorded per item on the hot path. An item seen running for longer than the node's timeout is
 * interrupted: KeyboardInterrupt raised inside it (or its Task cancelled); it fails with the CPython runtime's
 * `timed out after N s` and the call goes on with the next item, the node's state intact. An item that does not
 * stop within a grace period (it catches KeyboardInterrupt, or sits in C code) gets the thread terminated and a
 * fresh VM: every node of the VM is initialised again in it (a warning says its state was lost) and the items
 * without a result go to the new VM. Cancellation (the node's AbortSignal: Ctrl-C in `pitlane run`) interrupts the
 * running item the same way and fails it and the rest of its batch as cancelled, so that the drain ends.
 *
 * Cold start: loading Pyodide takes ~3 s, almost all of it Python's own bootstrap. After a cold load the worker
 * takes a memory snapshot of the fresh interpreter (helper module included, before any node code runs) and caches
 * it on disk (`$PITLANE_CACHE_DIR`, default `$XDG_CACHE_HOME/pitlane` or `~/.cache/pitlane`; ~31 MB, keyed by the
 * Pyodide build and the helper source); later VMs restore it in ~0.35 s. A snapshot that fails to restore is
 * marked bad and never tried again; `PITLANE_PYODIDE_SNAPSHOT=0` turns the cache off. VMs restored from one
 * snapshot share the string-hash seed (hash randomisation is effectively off); `random` is reseeded.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { toError } from '../core/errors.js';
import { CONTROL_TARGETS, INTERRUPT_SIGNAL, PROBE_SIGNAL } from './pyodide-helper.js';
import {
  PythonNodeInitError,
  type PythonCallResult,
  type PythonException,
  type PythonLogRecord,
  type PythonNodeInstance,
  type PythonNodeSource,
  type PythonRuntimeOptions,
} from './runtime.js';

/** Options of the Pyodide runtime. */
export interface PyodideRuntimeOptions extends PythonRuntimeOptions {
  /** Longest a single `process` or `flush` call may run before it is interrupted (default 30 000 ms). */
  readonly itemTimeoutMs?: number;
  /** Aborting it interrupts the node's calls in flight: their items fail as cancelled (Ctrl-C). */
  readonly signal?: AbortSignal;
  /**
   * How long an interrupted item may take to stop before its VM is replaced (default 2 000 ms). It is wall-clock
   * time on this thread: on a machine so loaded that the VM's thread is not scheduled for that long, an item that
   * would have stopped is taken for stuck and the VM replaced (the documented fallback: the node's state is lost).
   */
  readonly interruptGraceMs?: number;
}

/** What the process's Pyodide load cost, for `--stats` and benchmark reports. */
export interface PyodideLoadInfo {
  /** Wall time of the load, from the first `start()` to a usable interpreter (helper module installed). */
  readonly loadMs: number;
  /** The Pyodide version (e.g. `314.0.7`). */
  readonly version: string;
  /** `snapshot`: restored from the cached memory snapshot; `cold`: Python bootstrapped from scratch. */
  readonly source: 'snapshot' | 'cold';
}

const DEFAULTS = {
  itemTimeoutMs: 30_000,
  /** How long an interrupted item may take to stop before the VM is replaced. */
  interruptGraceMs: 2_000,
  /** Probes per timeout period (detection comes within timeout × (1 + 1/this)), and their bounds in ms. */
  probesPerTimeout: 10,
  minProbeMs: 10,
  maxProbeMs: 500,
};

/**
 * Key of the objects that carry what JSON cannot (binary, some numbers), random per process so that no user data
 * can be mistaken for a tag; the Python side receives it in setup().
 */
const TAG = `\u0000pitlane-${randomBytes(8).toString('hex')}`;
/** Integral numbers above this magnitude must reach Python as floats, but JSON.stringify writes them as integers. */
const MAX_EXACT_INT = 2 ** 53;
/** From this magnitude on, JSON.stringify uses exponent notation, which Python parses as a float anyway. */
const EXPONENT_FROM = 1e21;
const LOG_LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warning', 'error', 'critical']);

// ---------------------------------------------------------------------------------------------------------------
// The messages between this thread and the VM's (pyodide-worker.ts)

/** `kind` of a stop request: a timed-out item (KeyboardInterrupt), or a cancelled call (fails the rest too). */
const STOP_ITEM = 1;
const STOP_CALL = 2;

/** What the VM's thread starts with. */
export interface VmWorkerData {
  /**
   * Int32 words: [0] Pyodide's interrupt buffer (a signal number); then CONTROL_TARGETS stop requests of three
   * words each (call, item index or -1 for any, STOP_ITEM | STOP_CALL), call 0 meaning a free slot.
   */
  readonly control: SharedArrayBuffer;
  readonly tag: string;
}

export type VmRequest =
  | {
      readonly kind: 'create';
      readonly call: number;
      readonly key: number;
      readonly code: string;
      readonly fileName: string;
      readonly className: string | null;
      readonly initPayload: string;
      readonly initBlobs: Uint8Array[] | null;
    }
  | {
      readonly kind: 'batch';
      readonly call: number;
      readonly key: number;
      readonly payload: string;
      readonly blobs: Uint8Array[] | null;
    }
  | { readonly kind: 'flush' | 'close'; readonly call: number; readonly key: number }
  | { readonly kind: 'probe' }
  | { readonly kind: 'cancel'; readonly call: number; readonly index: number; readonly stop: boolean };

export type VmReply =
  | { readonly kind: 'ready'; readonly info: PyodideLoadInfo; readonly saving: boolean }
  | { readonly kind: 'saved' }
  | { readonly kind: 'loadError'; readonly message: string }
  | { readonly kind: 'log'; readonly key: number; readonly level: string; readonly message: string }
  /** Flat (call, item index) pairs: items seen running. */
  | { readonly kind: 'progress'; readonly entries: number[] }
  | { readonly kind: 'done'; readonly call: number; readonly value: unknown }
  | { readonly kind: 'failed'; readonly call: number; readonly type: string; readonly message: string };

type CallRequest = Extract<VmRequest, { call: number }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// ---------------------------------------------------------------------------------------------------------------
// The VM: a worker thread, its calls and their watchdog

/** How a call ended when the VM answered: its value, and the items that were stopped on the way. */
interface CallOutcome {
  readonly value: unknown;
  /** Indices of the items that timed out (and were interrupted). */
  readonly timedOut: ReadonlySet<number>;
}

/** The VM went away while a call was in flight: the call has no result. */
class VmLost extends Error {
  constructor(
    /** What happened, for the warning that the node's state was lost. */
    readonly reason: string,
    /** Indices of the items of this call that timed out. */
    readonly timedOut: ReadonlySet<number>,
    /** The call was cancelled (its items fail as cancelled, they are not sent again). */
    readonly cancelled: boolean,
    /** The VM crashed on its own (the call's items fail, they are not sent again). */
    readonly crashed: boolean,
  ) {
    super(reason);
    this.name = 'VmLost';
  }
}

/** A call in flight. */
interface PendingCall {
  readonly id: number;
  readonly nodeId: string;
  readonly resolve: (outcome: CallOutcome) => void;
  readonly reject: (err: Error) => void;
  /** Per-item timeout (null: none, as for create and close). */
  readonly timeoutMs: number | null;
  /** How long an item asked to stop may take before the VM is replaced. */
  readonly graceMs: number;
  /** The item last seen running, and since when (this thread's clock; null: not seen yet). */
  index: number | null;
  since: number;
  readonly timedOut: Set<number>;
  /** When the running item was asked to stop, and which one (null: not asked). */
  stopAskedAt: number | null;
  stopIndex: number | null;
  cancelled: boolean;
  /** The control slot of the stop request (null: none). */
  slot: number | null;
}

const WORKER_URL = new URL('./pyodide-worker.js', import.meta.url);

/** One Pyodide VM on its thread. Replaced (a new instance) when it has to be terminated or crashed. */
class PyodideVm {
  readonly ready: Promise<PyodideLoadInfo>;
  /** Why the VM is gone (null while it works). */
  lost: string | null = null;
  readonly #worker: Worker;
  readonly #control: Int32Array;
  readonly #calls = new Map<number, PendingCall>();
  #saving = false;
  #loading = true;
  #watch: NodeJS.Timeout | null = null;
  #probeInFlight = false;

  constructor() {
    this.#control = new Int32Array(new SharedArrayBuffer(4 * (1 + 3 * CONTROL_TARGETS)));
    const data: VmWorkerData = { control: this.#control.buffer as SharedArrayBuffer, tag: TAG };
    this.#worker = new Worker(WORKER_URL, {
      workerData: data,
      // A thread refuses --input-type (a script given with -e); other flags apply to it as to this thread.
      execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
    });
    this.ready = new Promise<PyodideLoadInfo>((resolve, reject) => {
      this.#worker.on('message', (reply: VmReply) => {
        switch (reply.kind) {
          case 'ready':
            this.#loading = false;
            this.#saving = reply.saving;
            this.#updateRef();
            resolve(reply.info);
            return;
          case 'loadError':
            this.#loading = false;
            this.#gone(`could not load Pyodide: ${reply.message}`, true);
            reject(new Error(reply.message));
            return;
          default:
            this.#onReply(reply);
        }
      });
      const died = (why: string): void => {
        reject(new Error(why));
        this.#gone(`the Pyodide VM crashed (${why})`, true);
      };
      this.#worker.on('error', (err) => {
        died(err.message);
      });
      this.#worker.on('exit', (code) => {
        died(`its thread exited with code ${code}`);
      });
    });
    // Handled by whoever starts a node; a VM that fails to load is also `lost`.
    this.ready.catch(() => undefined);
  }

  /** Sends a call; resolves with the VM's answer, rejects with VmLost if the VM goes away first. */
  call(
    request: DistributiveOmit<CallRequest, 'call'>,
    nodeId: string,
    timeoutMs: number | null,
    graceMs: number = DEFAULTS.interruptGraceMs,
  ): { id: number; done: Promise<CallOutcome> } {
    const id = nextCall++;
    const done = new Promise<CallOutcome>((resolve, reject) => {
      if (this.lost !== null) {
        reject(new VmLost(this.lost, new Set(), false, false));
        return;
      }
      this.#calls.set(id, {
        id,
        nodeId,
        resolve,
        reject,
        timeoutMs,
        graceMs,
        index: null,
        since: 0,
        timedOut: new Set(),
        stopAskedAt: null,
        stopIndex: null,
        cancelled: false,
        slot: null,
      });
      this.#worker.postMessage({ ...request, call: id });
      this.#updateRef();
      if (timeoutMs !== null) this.#armWatch();
    });
    return { id, done };
  }

  /** Cancellation: the running item of the call is interrupted; it and the rest of the call fail as cancelled. */
  cancel(id: number): void {
    const c = this.#calls.get(id);
    if (c === undefined || c.cancelled) return;
    c.cancelled = true;
    this.#askStop(c, -1, STOP_CALL);
  }

  #onReply(reply: Exclude<VmReply, { kind: 'ready' | 'loadError' }>): void {
    switch (reply.kind) {
      case 'saved':
        this.#saving = false;
        this.#updateRef();
        return;
      case 'log':
        routeLog(reply.key, reply.level, reply.message);
        return;
      case 'progress':
        this.#probeInFlight = false;
        for (let i = 0; i + 1 < reply.entries.length; i += 2) {
          this.#seen(reply.entries[i] as number, reply.entries[i + 1] as number);
        }
        return;
      case 'done':
      case 'failed': {
        const c = this.#calls.get(reply.call);
        if (c === undefined) return;
        this.#settled(c);
        if (reply.kind === 'done') c.resolve({ value: reply.value, timedOut: c.timedOut });
        else c.reject(Object.assign(new Error(reply.message), { type: reply.type }));
      }
    }
  }

  /** Item `index` of call `id` was seen running now. */
  #seen(id: number, index: number): void {
    const c = this.#calls.get(id);
    if (c === undefined || c.index === index) return;
    c.index = index;
    c.since = performance.now();
    if (c.stopAskedAt !== null && !c.cancelled) {
      // The interrupted item stopped: the call went on.
      c.stopAskedAt = null;
      this.#freeSlot(c);
    }
  }

  #settled(c: PendingCall): void {
    this.#calls.delete(c.id);
    this.#freeSlot(c);
    this.#updateRef();
  }

  // -- the watchdog

  #armWatch(): void {
    if (this.#watch !== null || this.lost !== null) return;
    let every = DEFAULTS.maxProbeMs;
    for (const c of this.#calls.values()) {
      if (c.timeoutMs !== null) every = Math.min(every, c.timeoutMs / DEFAULTS.probesPerTimeout);
      if (c.stopAskedAt !== null) every = Math.min(every, c.graceMs / 10);
    }
    this.#watch = setTimeout(this.#onWatch, Math.max(DEFAULTS.minProbeMs, every));
    this.#watch.unref();
  }

  readonly #onWatch = (): void => {
    this.#watch = null;
    if (this.lost !== null) return;
    const now = performance.now();
    let watching = false;
    for (const c of this.#calls.values()) {
      if (c.stopAskedAt !== null) {
        watching = true;
        const stuck = c.cancelled || c.index === c.stopIndex;
        if (stuck && now - c.stopAskedAt >= c.graceMs) {
          const what = c.cancelled
            ? 'an item did not stop when the run was cancelled'
            : `an item timed out after ${seconds(c.timeoutMs ?? 0)} s and did not stop when interrupted`;
          // After a stall of this thread the timer can run before the VM's answer waiting in the message queue:
          // decide after the queue (setImmediate runs after pending messages), on what is still unanswered.
          setImmediate(() => {
            if (this.lost !== null) return;
            if (this.#calls.get(c.id) === c && c.stopAskedAt !== null)
              this.terminate(`node ${c.nodeId}: ${what}`);
            else this.#armWatch();
          });
          return;
        }
        continue;
      }
      if (c.timeoutMs === null) continue;
      watching = true;
      if (c.index !== null && now - c.since >= c.timeoutMs) {
        c.timedOut.add(c.index);
        this.#askStop(c, c.index, STOP_ITEM);
      }
    }
    if (!watching) return;
    this.#probe();
    this.#armWatch();
  };

  /** Asks which items are running: the signal is answered if Python is running, the message if it is idle. */
  #probe(): void {
    Atomics.compareExchange(this.#control, 0, 0, PROBE_SIGNAL);
    if (!this.#probeInFlight) {
      this.#probeInFlight = true;
      this.#worker.postMessage({ kind: 'probe' } satisfies VmRequest);
    }
  }

  #askStop(c: PendingCall, index: number, kind: number): void {
    c.stopAskedAt = performance.now();
    c.stopIndex = c.index;
    if (c.slot === null) {
      let slot = 0;
      for (let s = 0; s < CONTROL_TARGETS; s++) {
        if (Atomics.load(this.#control, 1 + 3 * s) === 0) {
          slot = s;
          break;
        }
      }
      c.slot = slot;
    }
    const at = 1 + 3 * c.slot;
    Atomics.store(this.#control, at + 1, index);
    Atomics.store(this.#control, at + 2, kind);
    Atomics.store(this.#control, at, c.id);
    // The signal reaches an item running Python code; the message, an item waiting in an asyncio Task.
    Atomics.store(this.#control, 0, INTERRUPT_SIGNAL);
    this.#worker.postMessage({
      kind: 'cancel',
      call: c.id,
      index,
      stop: kind === STOP_CALL,
    } satisfies VmRequest);
    this.#armWatch();
  }

  #freeSlot(c: PendingCall): void {
    if (c.slot === null) return;
    const at = 1 + 3 * c.slot;
    if (Atomics.load(this.#control, at) === c.id) Atomics.store(this.#control, at, 0);
    c.slot = null;
  }

  // -- the end

  /** Terminates the thread: every call in flight rejects with VmLost; the next call starts a new VM. */
  terminate(reason: string): void {
    this.#gone(reason, false);
    void this.#worker.terminate();
  }

  #gone(reason: string, crashed: boolean): void {
    if (this.lost !== null) return;
    this.lost = reason;
    if (currentVm === this) currentVm = null;
    if (this.#watch !== null) clearTimeout(this.#watch);
    this.#watch = null;
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    for (const c of calls) c.reject(new VmLost(reason, c.timedOut, c.cancelled, crashed));
    this.#worker.unref();
  }

  /** The thread keeps the process alive only while it loads, works, or writes a snapshot. */
  #updateRef(): void {
    if (this.lost !== null) return;
    if (this.#loading || this.#saving || this.#calls.size > 0) this.#worker.ref();
    else this.#worker.unref();
  }
}

let currentVm: PyodideVm | null = null;
let firstLoad: Promise<PyodideLoadInfo> | null = null;
let nextCall = 1;
let nextKey = 1;
/** Log routes of the started nodes, by the key the Python side knows them by. */
const routes = new Map<number, LogRoute>();

/** Where a node's log lines go. */
interface LogRoute {
  readonly nodeId: string;
  readonly onLog: ((record: PythonLogRecord) => void) | undefined;
}

/** The working VM, loaded (a new one if there is none or the last one was lost). */
async function liveVm(): Promise<PyodideVm> {
  if (currentVm === null || currentVm.lost !== null) {
    currentVm = new PyodideVm();
    firstLoad ??= currentVm.ready;
  }
  const vm = currentVm;
  await vm.ready;
  return vm;
}

function routeLog(key: number, level: string, message: string): void {
  const route = routes.get(key);
  if (route?.onLog === undefined || !LOG_LEVELS.has(level)) return;
  try {
    route.onLog({ nodeId: route.nodeId, level: level as PythonLogRecord['level'], message });
  } catch {
    // A failing log consumer must not break the channel.
  }
}

function seconds(ms: number): number {
  return ms / 1000;
}

/**
 * Load time and version of the process's first Pyodide VM (waiting for a load in progress); null if no node has
 * started yet, or if the load failed.
 */
export async function pyodideLoadInfo(): Promise<PyodideLoadInfo | null> {
  if (firstLoad === null) return null;
  try {
    return await firstLoad;
  } catch {
    return null;
  }
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
    this.#timeoutMs = options.itemTimeoutMs ?? DEFAULTS.itemTimeoutMs;
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
    const key = nextKey++;
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
    return this.#serialise(() => this.#run('batch', items));
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
            ? { type: 'Cancelled', message: 'cancelled: the run was interrupted', traceback: '' }
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
    return { type: 'WorkerTimeout', message: `timed out after ${seconds(this.#timeoutMs)} s`, traceback: '' };
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

// ---------------------------------------------------------------------------------------------------------------
// Values: JavaScript → Python

/** A batch as JSON text, the binary values it refers to, and the items that cannot be sent at all. */
interface EncodedBatch {
  readonly payload: string;
  /** Binary values referred to by tags (null: nothing tagged, Python takes the fast path). */
  readonly blobs: Uint8Array[] | null;
  readonly errors: [number, PythonException][];
  readonly count: number;
}

const NO_ERRORS: [number, PythonException][] = [];

function encodeBatch(items: readonly unknown[]): EncodedBatch {
  try {
    const { payload, blobs } = encodeValues(items);
    return { payload, blobs, errors: NO_ERRORS, count: items.length };
  } catch {
    // An item JSON cannot express (a cycle ...): send null in its place and fail that item alone.
    const blobs: Uint8Array[] = [];
    const errors: [number, PythonException][] = [];
    const parts = items.map((item, i) => {
      try {
        return JSON.stringify([isPlain(item, 0) ? item : tagged(item, blobs, 0)]).slice(1, -1);
      } catch (err) {
        errors.push([
          i,
          {
            type: 'TypeError',
            message: `cannot send this item into a Python node: ${toError(err).message}`,
            traceback: '',
          },
        ]);
        return 'null';
      }
    });
    return { payload: `[${parts.join(',')}]`, blobs, errors, count: items.length };
  }
}

function encodeValues(value: unknown): { payload: string; blobs: Uint8Array[] | null } {
  if (isPlain(value, 0)) return { payload: JSON.stringify(value), blobs: null };
  const blobs: Uint8Array[] = [];
  return { payload: JSON.stringify(tagged(value, blobs, 0)), blobs };
}

const MAX_DEPTH = 1000;

/** True if JSON.stringify carries the value exactly as the contract maps it (no tags needed). */
function isPlain(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return (
        Number.isFinite(v) &&
        !(Number.isInteger(v) && Math.abs(v) > MAX_EXACT_INT && Math.abs(v) < EXPONENT_FROM)
      );
    case 'object': {
      if (v === null) return true;
      if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply');
      if (ArrayBuffer.isView(v)) return false;
      if (Array.isArray(v)) {
        for (const x of v as unknown[]) if (!isPlain(x, depth + 1)) return false;
        return true;
      }
      for (const x of Object.values(v)) if (!isPlain(x, depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** A copy of v that JSON.stringify can carry, with tags for binary and numbers JSON cannot express. */
function tagged(v: unknown, blobs: Uint8Array[], depth: number): unknown {
  switch (typeof v) {
    case 'number':
      return isPlain(v, depth) ? v : { [TAG]: ['f', String(v)] };
    case 'bigint':
      return { [TAG]: ['i', v.toString()] };
    case 'object': {
      if (v === null) return null;
      if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply');
      if (ArrayBuffer.isView(v)) {
        // A plain Uint8Array view: Pyodide does not know Node's Buffer subclass.
        blobs.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        return { [TAG]: ['b', blobs.length - 1] };
      }
      if (Array.isArray(v)) return (v as unknown[]).map((x) => tagged(x, blobs, depth + 1));
      const withJson = v as { toJSON?: unknown };
      if (typeof withJson.toJSON === 'function') return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = tagged(x, blobs, depth + 1);
      return out;
    }
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values: Python → JavaScript

function batchResults(raw: unknown, batch: EncodedBatch): PythonCallResult[] {
  const results = decodeResults(raw, batch.count);
  for (const [i, error] of batch.errors) results[i] = { ok: false, error };
  return results;
}

type RawResults = [(unknown[] | null)[], [number, string, string, string][]];

/** Turns what `_finish` returned (JSON text, or [text, blobs]) into one result per item. */
function decodeResults(raw: unknown, count: number): PythonCallResult[] {
  let text: string;
  let blobs: Uint8Array[] | null = null;
  if (typeof raw === 'string') text = raw;
  else if (Array.isArray(raw) && typeof raw[0] === 'string') {
    text = raw[0];
    blobs = raw[1] as Uint8Array[];
  } else throw new Error(`pyodide runtime: unexpected result from Python: ${String(raw)}`);
  const [outputs, errors] = JSON.parse(text) as RawResults;
  const results: PythonCallResult[] = new Array<PythonCallResult>(count);
  for (let i = 0; i < count; i++) {
    const o = outputs[i];
    results[i] = {
      ok: true,
      outputs:
        o === null || o === undefined ? [] : blobs === null ? o : (restoreBlobs(o, blobs) as unknown[]),
    };
  }
  for (const [i, type, message, traceback] of errors)
    results[i] = { ok: false, error: { type, message, traceback } };
  return results;
}

function restoreBlobs(v: unknown, blobs: readonly Uint8Array[]): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) a[i] = restoreBlobs(a[i], blobs);
    return a;
  }
  const o = v as Record<string, unknown>;
  const tag = o[TAG];
  if (typeof tag === 'number' && Object.keys(o).length === 1) {
    const blob = blobs[tag];
    // Buffer, as the CPython runtime gives (a view, no copy).
    return blob === undefined ? o : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  }
  for (const k of Object.keys(o)) o[k] = restoreBlobs(o[k], blobs);
  return o;
}

function toException(raw: unknown): PythonException {
  if (Array.isArray(raw) && raw.length === 3) {
    const [type, message, traceback] = raw as unknown[];
    return { type: String(type), message: String(message), traceback: String(traceback) };
  }
  return { type: 'RuntimeError', message: `unexpected result from Python: ${String(raw)}`, traceback: '' };
}

/** A failure of the runtime itself (not of the node's code), as a PythonException. */
function internalError(err: unknown): PythonException {
  const e = toError(err);
  return {
    type: (e as { type?: unknown }).type === undefined ? e.name : String((e as { type?: unknown }).type),
    message: e.message,
    traceback: '',
  };
}
