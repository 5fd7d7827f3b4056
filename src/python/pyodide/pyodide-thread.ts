/**
 * The thread of the Pyodide VM (vm.ts owns it). Pyodide runs Python synchronously on the thread that calls it: on
 * the main thread, a node looping forever would stop timers, signals and Ctrl-C. Here it stops only this thread,
 * and the main thread can still interrupt it through Pyodide's interrupt buffer (a SharedArrayBuffer it checks
 * between bytecodes), or terminate the thread and start a fresh VM.
 *
 * This module loads the VM (loader.ts) and turns the main thread's messages into calls of the helper module
 * (src/python/worker/pitlane_pyodide.py). Values arrive and leave as the JSON text (and binary blobs) that the
 * runtime encodes and decodes on the main thread (codec.ts). Log lines and progress reports go back as messages,
 * in order with the results.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PyProxy } from 'pyodide/ffi';
import { load, type Loaded } from './loader.js';
import { clearSignal, markDelivered, stopRequests } from './control-buffer.js';
import type { VmReply, VmRequest, VmWorkerData } from './messages.js';

const port = parentPort;
if (port === null) throw new Error('pyodide-thread.js runs on a worker thread');
const { control: controlBuffer, tag } = workerData as VmWorkerData;
const control = new Int32Array(controlBuffer);

/** The node that last entered Python: owner of output that bypasses sys.stdout (os.write to fd 1 ...). */
let lastActiveKey = -1;

function post(reply: VmReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(reply, transfer);
}

/** The Python side's log sink: key -1 is output written while no node was running. */
function sendLog(key: number, level: string, message: string): void {
  post({ kind: 'log', key: key === -1 ? lastActiveKey : key, level, message });
}

function reportProgress(call: number, index: number): void {
  post({ kind: 'progress', entries: [call, index] });
}

/** The stop requests the main thread wrote (call, index, kind triples with call ≠ 0). */
function interruptTargets(): number[] {
  return stopRequests(control);
}

/** The Python handler raised the stop request of item `index` of `call`. */
function interruptDelivered(call: number, index: number): void {
  markDelivered(control, call, index);
}

let loaded: Loaded;
try {
  loaded = await load({ tag, control, sendLog, reportProgress, interruptTargets, interruptDelivered });
} catch (err) {
  post({ kind: 'loadError', message: err instanceof Error ? err.message : String(err) });
  port.close();
  throw err;
}

const { helper, info, saving } = loaded;
port.on('message', (req: VmRequest) => {
  // A signal left in the buffer is stale now: it targeted a call that is no longer running synchronously.
  clearSignal(control);
  switch (req.kind) {
    case 'probe':
      post({ kind: 'progress', entries: asNumbers(settleNow(helper.progress())) });
      return;
    case 'cancel':
      settleNow(helper.cancel(req.call, req.index, req.stop));
      return;
    case 'create':
      lastActiveKey = req.key;
      answer(req.call, () =>
        helper.create(
          req.key,
          req.code,
          req.fileName,
          req.className ?? undefined, // JS null would arrive as jsnull: undefined is None
          req.initPayload,
          req.initBlobs ?? undefined,
        ),
      );
      return;
    case 'batch':
      lastActiveKey = req.key;
      answer(req.call, () => helper.run_batch(req.key, req.payload, req.blobs ?? undefined, req.call));
      return;
    case 'flush':
      lastActiveKey = req.key;
      answer(req.call, () => helper.flush(req.key, req.call));
      return;
    case 'close':
      lastActiveKey = req.key;
      answer(req.call, () => helper.close(req.key));
  }
});
post({ kind: 'ready', info, saving: saving !== null });
if (saving !== null) {
  void saving.then(() => {
    post({ kind: 'saved' });
  });
}

/** Runs a helper call and posts its settled value (a string, null, or a shallow array), or what went wrong. */
function answer(call: number, run: () => unknown): void {
  let raw: unknown;
  try {
    raw = run();
  } catch (err) {
    failed(call, err);
    return;
  }
  // A string: every call was synchronous (no Task, no proxy), the common case.
  if (typeof raw === 'string') {
    post({ kind: 'done', call, value: raw });
    return;
  }
  settle(raw).then(
    (value) => {
      post({ kind: 'done', call, value }, transferables(value));
    },
    (err: unknown) => {
      failed(call, err);
    },
  );
}

function failed(call: number, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const type = (e as { type?: unknown }).type;
  post({ kind: 'failed', call, type: typeof type === 'string' ? type : e.name, message: e.message });
}

/** The buffers of the binary outputs of a result ([text, blobs]): moved, not copied, to the main thread. */
function transferables(value: unknown): ArrayBuffer[] {
  if (!Array.isArray(value) || !Array.isArray(value[1])) return [];
  const out: ArrayBuffer[] = [];
  for (const b of value[1] as unknown[]) {
    if (b instanceof Uint8Array && b.buffer instanceof ArrayBuffer && !out.includes(b.buffer))
      out.push(b.buffer);
  }
  return out;
}

function asNumbers(v: unknown): number[] {
  return Array.isArray(v) ? v.map(Number) : [];
}

function isPyProxy(v: unknown): v is PyProxy {
  return (
    typeof v === 'function' ||
    (typeof v === 'object' &&
      v !== null &&
      typeof (v as { destroy?: unknown }).destroy === 'function' &&
      typeof (v as { toJs?: unknown }).toJs === 'function')
  );
}

function isThenable(v: PyProxy): v is PyProxy & PromiseLike<unknown> {
  return typeof (v as { then?: unknown }).then === 'function';
}

/** A synchronous helper result as plain JavaScript (a shallow list converted), its proxy destroyed. */
function settleNow(value: unknown): unknown {
  if (!isPyProxy(value)) return value;
  try {
    return (value as { toJs: (o: { depth: number }) => unknown }).toJs({ depth: 3 });
  } finally {
    value.destroy();
  }
}

/**
 * Resolves a helper's return value to plain JavaScript: awaits a Task, converts a tuple or list (shallow: strings
 * and Uint8Arrays), and destroys every proxy on the way.
 */
async function settle(value: unknown): Promise<unknown> {
  if (!isPyProxy(value)) return value;
  const proxy = value;
  try {
    if (isThenable(proxy)) {
      const awaited: unknown = await proxy;
      return await settle(awaited);
    }
    return (proxy as { toJs: (o: { depth: number }) => unknown }).toJs({ depth: 3 });
  } finally {
    proxy.destroy();
  }
}
