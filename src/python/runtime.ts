/**
 * The contract between pitlane's `python` node and the runtimes that execute Python code (docs/python-nodes.md):
 * a CPython worker process (cpython/) or the in-process Pyodide VM (pyodide/). The node
 * (nodes/python.ts) only sees this interface, so both runtimes give the same semantics.
 */

/** Where a node's Python class comes from. */
export interface PythonNodeSource {
  /** The node's id (for logs, errors and the `<node ID>` file name of inline code). */
  readonly nodeId: string;
  /** Inline source defining the class... */
  readonly code?: string;
  /** ...or the absolute path of a module file. */
  readonly modulePath?: string;
  /** The file name tracebacks show: `<node ID>` for inline code, the module path relative to the manifest's folder. */
  readonly fileName: string;
  /** The class to instantiate; null: the only class in the source that defines `process`. */
  readonly className: string | null;
  /** Keyword arguments of the constructor. */
  readonly init: Readonly<Record<string, unknown>>;
}

/** A Python exception, as it crosses back to pitlane. */
export interface PythonException {
  /** The exception's class name, e.g. `ZeroDivisionError`. */
  readonly type: string;
  readonly message: string;
  /** Python's traceback text restricted to frames of the node's own code (docs/python-nodes.md). */
  readonly traceback: string;
}

/** The outcome of one `process` (or `flush`) call. */
export type PythonCallResult =
  /** The outputs, in order: [] for None, [v] for a value, every yielded value for a generator. */
  | { readonly ok: true; readonly outputs: readonly unknown[] }
  | { readonly ok: false; readonly error: PythonException };

/** One line a node logged (print or the logging module). */
export interface PythonLogRecord {
  readonly nodeId: string;
  readonly level: 'debug' | 'info' | 'warning' | 'error' | 'critical';
  readonly message: string;
}

/** A node's class, instantiated in a runtime. */
export interface PythonNodeInstance {
  readonly runtime: 'cpython' | 'pyodide';
  /** Runs `__init__(**init)` and `initialize()`. Rejects with PythonNodeInitError. */
  start(): Promise<void>;
  /**
   * Calls `process` on each item, in order, one by one; resolves with one result per item. The CPython runtime
   * sends the whole batch in one message. A failure of the runtime itself (a worker crash, a timeout) is
   * reported as the result of the item it hit; items after it in the batch are processed by a new worker.
   */
  processBatch(items: readonly unknown[]): Promise<PythonCallResult[]>;
  /** Calls `flush()` if the class defines it (outputs [] otherwise). */
  flush(): Promise<PythonCallResult>;
  /** Calls `cleanup()` if defined and releases the worker or namespace. Never rejects. */
  close(): Promise<void>;
}

/** Options common to both runtimes. */
export interface PythonRuntimeOptions {
  /** Receives print() and logging output of the nodes. */
  readonly onLog?: (record: PythonLogRecord) => void;
  /** Receives warnings of the runtime itself (a worker restarted and lost its state ...). */
  readonly onWarning?: (nodeId: string, message: string) => void;
  /**
   * Longest a single `process` or `flush` call may run (default DEFAULT_ITEM_TIMEOUT_MS) before it is stopped: its
   * CPython worker is killed, or its item interrupted in the Pyodide VM. The item fails with itemTimedOut().
   */
  readonly itemTimeoutMs?: number;
  /**
   * The run's cancellation (Ctrl-C): the item a node is running is stopped (as on a timeout), and it and the rest of
   * its batch fail with CANCELLED, so the drain does not wait for the item's timeout.
   */
  readonly signal?: AbortSignal;
}

/** The per-item timeout of both runtimes when the node sets none. */
export const DEFAULT_ITEM_TIMEOUT_MS = 30_000;

/** What an item stopped by the run's cancellation fails with, in both runtimes. */
export const CANCELLED: PythonException = {
  type: 'Cancelled',
  message: 'cancelled: the run was interrupted',
  traceback: '',
};

/** What an item that ran over its timeout fails with, in both runtimes. */
export function itemTimedOut(timeoutMs: number): PythonException {
  return { type: 'WorkerTimeout', message: `timed out after ${timeoutMs / 1000} s`, traceback: '' };
}
