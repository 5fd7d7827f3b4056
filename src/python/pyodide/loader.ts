/**
 * Loads the Pyodide VM on its thread (pyodide-thread.ts): from the cached memory snapshot when there is one
 * (snapshot.ts), else cold, installing the Python helper modules first. The helper modules are real Python files in
 * src/python/worker/ (pitlane_pyodide.py, its codec, and the two modules it shares with the CPython worker), read from the package
 * (package-files.ts) and executed into the VM as modules; setup() then gives the helper this thread's functions
 * and the constants it shares with TypeScript (control-buffer.ts).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { PyodideAPI } from 'pyodide';
import type { PyProxy } from 'pyodide/ffi';
import { pythonWorkerFile } from '../package-files.js';
import { INTERRUPT_SIGNAL, PROBE_SIGNAL, STOP_CALL } from './control-buffer.js';
import type { PyodideLoadInfo } from './messages.js';
import { restoreSnapshot, saveSnapshot, snapshotLocation } from './snapshot.js';

/** A Python callable as seen from JavaScript: results are strings, None (undefined) or proxies. */
export type PyFunction = (...args: unknown[]) => unknown;

/** The functions of `_pitlane_pyodide` that the thread calls. */
export interface Helper {
  readonly create: PyFunction;
  readonly run_batch: PyFunction;
  readonly flush: PyFunction;
  readonly close: PyFunction;
  readonly progress: PyFunction;
  readonly cancel: PyFunction;
}

/** What the helper calls back on this thread. */
export interface HelperHooks {
  /** Key of the objects that carry what JSON cannot (codec.ts). */
  readonly tag: string;
  /** The control buffer (control-buffer.ts): its word 0 is Pyodide's interrupt buffer. */
  readonly control: Int32Array;
  /** A log line of node `key` (-1: written while no node was running). */
  readonly sendLog: (key: number, level: string, message: string) => void;
  /** Item `index` of call `call` is running (answer to a probe signal). */
  readonly reportProgress: (call: number, index: number) => void;
  /** The stop requests the main thread wrote: flat (call, index, kind) triples. */
  readonly interruptTargets: () => number[];
  /** The handler raised the stop request of item `index` of `call` (so the main thread need not raise it again). */
  readonly interruptDelivered: (call: number, index: number) => void;
}

/** The Python modules of the VM, in the order they are installed (each imports only those before it). */
const HELPER_MODULES = [
  { module: 'pitlane_logging', file: 'pitlane_logging.py' },
  { module: 'pitlane_node_code', file: 'pitlane_node_code.py' },
  { module: 'pitlane_audio', file: 'pitlane_audio.py' },
  { module: 'pitlane_pyodide_codec', file: 'pitlane_pyodide_codec.py' },
  { module: '_pitlane_pyodide', file: 'pitlane_pyodide.py' },
] as const;

/** The helper modules' sources, read once per thread. */
async function helperSources(): Promise<string[]> {
  return Promise.all(HELPER_MODULES.map(({ file }) => readFile(pythonWorkerFile(file), 'utf8')));
}

/** Python that installs the helper modules from their sources (file names in angle brackets: never a node's). */
function installHelpers(sources: readonly string[]): string {
  const lines = ['import sys, types'];
  HELPER_MODULES.forEach(({ module, file }, i) => {
    const name = JSON.stringify(module);
    lines.push(
      `m = types.ModuleType(${name})`,
      `sys.modules[${name}] = m`,
      `exec(compile(${JSON.stringify(sources[i])}, ${JSON.stringify(`<${file}>`)}, 'exec'), m.__dict__)`,
    );
  });
  lines.push("sys.modules['pitlane'] = sys.modules['pitlane_audio']", 'del m');
  return lines.join('\n');
}

/** A loaded VM. */
export interface Loaded {
  readonly helper: Helper;
  readonly info: PyodideLoadInfo;
  /** The background write of a new snapshot (the main thread keeps the process alive until it is done). */
  readonly saving: Promise<void> | null;
}

export async function load(hooks: HelperHooks): Promise<Loaded> {
  const { sendLog, reportProgress, interruptTargets, interruptDelivered, tag, control } = hooks;
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
  const sources = await helperSources();
  const snapshot = await snapshotLocation(pyodideDir, version, sources);
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
    py.runPython(installHelpers(sources));
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
    progress: module.progress as PyFunction,
    cancel: module.cancel as PyFunction,
  };
  (module.setup as PyFunction)(
    sendLog,
    tag,
    reportProgress,
    interruptTargets,
    interruptDelivered,
    PROBE_SIGNAL,
    INTERRUPT_SIGNAL,
    STOP_CALL,
  );
  return { helper: h, info: { loadMs: performance.now() - started, version, source }, saving };
}
