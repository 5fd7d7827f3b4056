/**
 * The thread of the Pyodide VM (pyodide-runtime.ts owns it). Pyodide runs Python synchronously on the thread that
 * calls it: on the main thread, a node looping forever would stop timers, signals and Ctrl-C. Here it stops only
 * this thread, and the main thread can still interrupt it through Pyodide's interrupt buffer (a SharedArrayBuffer
 * it checks between bytecodes), or terminate the thread and start a fresh VM.
 *
 * This module loads the VM (from the cached memory snapshot when there is one), installs the helper module
 * (pyodide-helper.ts), and turns the main thread's messages into calls of the helper. Values arrive and leave as
 * the JSON text (and binary blobs) that the runtime encodes and decodes on the main thread. Log lines and progress
 * reports go back as messages, in order with the results.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { PyodideAPI } from 'pyodide';
import type { PyProxy } from 'pyodide/ffi';
import { CONTROL_TARGETS, HELPER_FILE, HELPER_SOURCE } from './pyodide-helper.js';
import type { PyodideLoadInfo, VmReply, VmRequest, VmWorkerData } from './pyodide-runtime.js';

const port = parentPort;
if (port === null) throw new Error('pyodide-worker.js runs on a worker thread');
const { control: controlBuffer, tag } = workerData as VmWorkerData;
const control = new Int32Array(controlBuffer);

const SNAPSHOT_FORMAT = 1;

/** A Python callable as seen from JavaScript: results are strings, None (undefined) or proxies. */
type PyFunction = (...args: unknown[]) => unknown;

/** The functions of `_pitlane_pyodide` that the thread calls. */
interface Helper {
  readonly create: PyFunction;
  readonly run_batch: PyFunction;
  readonly flush: PyFunction;
  readonly close: PyFunction;
  readonly setup: PyFunction;
  readonly progress: PyFunction;
  readonly cancel: PyFunction;
}

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
  const out: number[] = [];
  for (let i = 1; i + 2 < 1 + CONTROL_TARGETS * 3; i += 3) {
    const call = Atomics.load(control, i);
    if (call !== 0) out.push(call, Atomics.load(control, i + 1), Atomics.load(control, i + 2));
  }
  return out;
}

let loaded: Loaded;
try {
  loaded = await load();
} catch (err) {
  post({ kind: 'loadError', message: err instanceof Error ? err.message : String(err) });
  port.close();
  throw err;
}

const { helper, info, saving } = loaded;
port.on('message', (req: VmRequest) => {
  // A signal left in the buffer is stale now: it targeted a call that is no longer running synchronously.
  Atomics.store(control, 0, 0);
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

// ---------------------------------------------------------------------------------------------------------------
// Loading

/** A loaded VM. */
interface Loaded {
  readonly helper: Helper;
  readonly info: PyodideLoadInfo;
  /** The background write of a new snapshot (the main thread keeps the process alive until it is done). */
  readonly saving: Promise<void> | null;
}

async function load(): Promise<Loaded> {
  const started = performance.now();
  const pyodideDir = dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));
  const { loadPyodide, version } = await import('pyodide');
  const config = {
    indexURL: pyodideDir + '/',
    env: { HOME: '/home/pyodide' },
    stdin: () => null,
    stdout: (line: string) => {
      sendLog(-1, 'info', line);
    },
    stderr: (line: string) => {
      sendLog(-1, 'error', line);
    },
  };
  const snapshot = await snapshotLocation(pyodideDir, version);
  let py: PyodideAPI | null = null;
  let source: PyodideLoadInfo['source'] = 'cold';
  let saving: Promise<void> | null = null;
  if (snapshot !== null && snapshot.usable) {
    py = await restoreSnapshot(snapshot.file, (bytes) => loadPyodide({ ...config, _loadSnapshot: bytes }));
    if (py !== null) source = 'snapshot';
  }
  if (py === null) {
    const makeSnapshot = snapshot !== null && snapshot.usable;
    py = await loadPyodide({ ...config, _makeSnapshot: makeSnapshot });
    py.runPython(
      `import sys, types\nm = types.ModuleType('_pitlane_pyodide')\nexec(compile(${JSON.stringify(HELPER_SOURCE)}, ${JSON.stringify(HELPER_FILE)}, 'exec'), m.__dict__)\nsys.modules['_pitlane_pyodide'] = m\ndel m`,
    );
    if (makeSnapshot) {
      try {
        saving = saveSnapshot(snapshot.file, py.makeMemorySnapshot());
      } catch {
        // No snapshot this time; the instance itself is fine.
      }
    }
  }
  py.setStdin({ stdin: () => null });
  py.setStdout({
    batched: (line: string) => {
      sendLog(-1, 'info', line);
    },
  });
  py.setStderr({
    batched: (line: string) => {
      sendLog(-1, 'error', line);
    },
  });
  py.setInterruptBuffer(control);
  // Lives as long as the thread: the functions below are borrowed from it.
  const module = py.pyimport('_pitlane_pyodide') as PyProxy;
  const h: Helper = {
    create: module.create as PyFunction,
    run_batch: module.run_batch as PyFunction,
    flush: module.flush as PyFunction,
    close: module.close as PyFunction,
    setup: module.setup as PyFunction,
    progress: module.progress as PyFunction,
    cancel: module.cancel as PyFunction,
  };
  h.setup(sendLog, tag, reportProgress, interruptTargets);
  return { helper: h, info: { loadMs: performance.now() - started, version, source }, saving };
}

// ---------------------------------------------------------------------------------------------------------------
// Memory snapshot cache
interface SnapshotLocation {
  readonly file: string;
  /** False once a restore of this very snapshot failed (a `.bad` marker beside it). */
  readonly usable: boolean;
}

async function snapshotLocation(pyodideDir: string, version: string): Promise<SnapshotLocation | null> {
  if (process.env.PITLANE_PYODIDE_SNAPSHOT === '0') return null;
  const cacheDir =
    process.env.PITLANE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pitlane');
  try {
    const [wasm, stdlib] = await Promise.all([
      stat(join(pyodideDir, 'pyodide.asm.wasm')),
      stat(join(pyodideDir, 'python_stdlib.zip')),
    ]);
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          SNAPSHOT_FORMAT,
          version,
          process.versions.node,
          wasm.size,
          wasm.mtimeMs,
          stdlib.size,
          stdlib.mtimeMs,
          HELPER_SOURCE,
        ]),
      )
      .digest('hex')
      .slice(0, 16);
    const file = join(cacheDir, `pyodide-${version}-${key}.snapshot`);
    const bad = await stat(`${file}.bad`).then(
      () => true,
      () => false,
    );
    return { file, usable: !bad };
  } catch {
    return null;
  }
}

async function restoreSnapshot(
  file: string,
  load: (bytes: Uint8Array) => Promise<PyodideAPI>,
): Promise<PyodideAPI | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch {
    return null; // not made yet
  }
  try {
    const py = await load(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (py.runPython("import sys\n'_pitlane_pyodide' in sys.modules and 6 * 7 == 42") !== true) {
      throw new Error('restored interpreter is missing the helper module');
    }
    return py;
  } catch {
    await writeFile(`${file}.bad`, '').catch(() => undefined);
    return null;
  }
}

/** Writes the snapshot in the background (atomically: temp file + rename) and removes older snapshots. */
async function saveSnapshot(file: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(file);
  const temp = `${file}.${process.pid}-${threadId}.tmp`;
  await (async () => {
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, file);
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        if (name.startsWith('pyodide-') && !path.startsWith(file)) await unlink(path).catch(() => undefined);
      }
    } catch {
      await unlink(temp).catch(() => undefined);
    }
  })();
}
