/**
 * The Pyodide VM of the process, as the main thread sees it: one worker thread (pyodide-thread.ts) that runs the
 * VM, the calls in flight on it, and the watchdog that times out and interrupts their items. The VM is loaded
 * lazily by the first node's start() and shared by every node; when it has to be terminated (an item that does not
 * stop) or crashes, the next call starts a new one (liveVm()). Log lines of the VM are routed here to the node they
 * belong to.
 *
 * Per-item timeout: the watchdog probes which item of a call is running (a probe signal in Pyodide's interrupt
 * buffer, answered by a Python signal handler while Python runs; a probe message while the VM is idle in asyncio),
 * so nothing is recorded per item on the hot path. An item seen running for longer than the node's timeout is
 * interrupted: KeyboardInterrupt raised inside it (or its Task cancelled). An item that does not stop within a
 * grace period (it catches KeyboardInterrupt, or sits in C code) gets the thread terminated: every call in flight
 * rejects with VmLost, and the nodes start again in a fresh VM (node.ts). Cancellation interrupts the running item
 * the same way and stops the rest of its call.
 */
import { Worker } from 'node:worker_threads';
import type { PythonLogRecord } from '../runtime.js';
import { TAG } from './codec.js';
import {
  clearStopRequest,
  createControlBuffer,
  repeatUndelivered,
  requestProbe,
  STOP_CALL,
  STOP_ITEM,
  writeStopRequest,
} from './control-buffer.js';
import {
  type CallRequest,
  type DistributiveOmit,
  type PyodideLoadInfo,
  type VmReply,
  type VmRequest,
  type VmWorkerData,
} from './messages.js';

const DEFAULTS = {
  /** How long an interrupted item may take to stop before the VM is replaced. */
  interruptGraceMs: 2_000,
  /** Probes per timeout period (detection comes within timeout × (1 + 1/this)), and their bounds in ms. */
  probesPerTimeout: 10,
  minProbeMs: 10,
  maxProbeMs: 500,
};
const LOG_LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warning', 'error', 'critical']);

/** How a call ended when the VM answered: its value, and the items that were stopped on the way. */
export interface CallOutcome {
  readonly value: unknown;
  /** Indices of the items that timed out (and were interrupted). */
  readonly timedOut: ReadonlySet<number>;
}

/** The VM went away while a call was in flight: the call has no result. */
export class VmLost extends Error {
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

const WORKER_URL = new URL('./pyodide-thread.js', import.meta.url);

/** One Pyodide VM on its thread. Replaced (a new instance) when it has to be terminated or crashed. */
export class PyodideVm {
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
    this.#control = createControlBuffer();
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
        // The interrupt may have been lost (control-buffer.ts): raise it again until the handler says it got it.
        if (stuck && c.slot !== null) repeatUndelivered(this.#control, c.slot, c.id);
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
    requestProbe(this.#control);
    if (!this.#probeInFlight) {
      this.#probeInFlight = true;
      this.#worker.postMessage({ kind: 'probe' } satisfies VmRequest);
    }
  }

  #askStop(c: PendingCall, index: number, kind: number): void {
    c.stopAskedAt = performance.now();
    c.stopIndex = c.index;
    // The signal reaches an item running Python code; the message, an item waiting in an asyncio Task.
    c.slot = writeStopRequest(this.#control, c.slot, c.id, index, kind);
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
    clearStopRequest(this.#control, c.slot, c.id);
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
export const routes = new Map<number, LogRoute>();

/** Where a node's log lines go. */
interface LogRoute {
  readonly nodeId: string;
  readonly onLog: ((record: PythonLogRecord) => void) | undefined;
}

/** A new key for a node in the VM (the Python side knows nodes by it). */
export function newNodeKey(): number {
  return nextKey++;
}

/** The working VM, loaded (a new one if there is none or the last one was lost). */
export async function liveVm(): Promise<PyodideVm> {
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
