/**
 * The TF.js runtime of this process: @tensorflow/tfjs on its WebAssembly backend, started once (binaries found
 * beside the installed @tensorflow/tfjs-backend-wasm), and the loading of a graph model file onto it. The USE
 * embedder and the TF.js tensor models both load their graphs here.
 *
 * Threads: under Node the backend always runs a single-threaded binary (the SIMD one where supported).
 * @tensorflow/tfjs-backend-wasm 4.22.0 reports no multithread support in Node (tfjs issue 3830). Forcing the
 * flag picks the threaded binary, whose pthread workers are started from blob: URLs that Node's
 * worker_threads refuses (ERR_WORKER_PATH); and that build caps XNNPACK at half the logical cores anyway
 * (1 on two cores). `setThreadsCount` is therefore called but without effect, and `info.threads` reports what
 * the backend uses. To use more cores, run more processes.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { FileError } from '../../../core/errors.js';
import { readGraphModel } from './graph-model-file.js';

/** The TF.js runtime of this process, as started by `startTfjs`. */
export interface TfjsRuntime {
  /** Threads the wasm backend's XNNPACK pool uses. */
  readonly threads: number;
  /** Whether the SIMD binary was loaded. */
  readonly simd: boolean;
  /** For `info.runtime`, e.g. `@tensorflow/tfjs 4.22.0 (wasm, 1 thread, simd)`. */
  readonly description: string;
}

let runtime: Promise<TfjsRuntime> | undefined;

/**
 * Starts TF.js on the wasm backend, once per process (TF.js keeps one global engine); later calls get the
 * same runtime, whatever `threads` they ask for. A failed start is not cached, so a later call tries again.
 */
export function startTfjs(threads: number): Promise<TfjsRuntime> {
  runtime ??= startWasmBackend(threads).catch((err: unknown) => {
    runtime = undefined;
    throw err;
  });
  return runtime;
}

async function startWasmBackend(threads: number): Promise<TfjsRuntime> {
  // The .wasm binaries sit next to the package's Node entry point (dist/).
  const wasmDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  setWasmPaths(wasmDir + sep);
  // Honoured only by the threaded binary, which TF.js does not choose under Node (see the module header).
  setThreadsCount(threads);
  const ok = await tf.setBackend('wasm');
  if (!ok) {
    throw new Error(
      `@tensorflow/tfjs could not start its wasm backend; check that ${wasmDir} holds the tfjs-backend-wasm*.wasm files`,
    );
  }
  await tf.ready();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threadsUsed = getThreadsCount();
  const features = `${threadsUsed} thread${threadsUsed === 1 ? '' : 's'}, ${simd ? 'simd' : 'no simd'}`;
  return {
    threads: threadsUsed,
    simd,
    description: `@tensorflow/tfjs ${tf.version.tfjs} (wasm, ${features})`,
  };
}

/** A graph model loaded on the runtime, with the artifacts it was read from. */
export interface LoadedGraphModel {
  readonly model: tf.GraphModel;
  readonly artifacts: tf.io.ModelArtifacts;
  readonly runtime: TfjsRuntime;
}

/**
 * Reads a graph model.json and its shards (readGraphModel), starts the runtime and loads the graph on it.
 * Rejects with FileError naming the file when the files are missing or malformed, or the graph does not load.
 */
export async function loadGraphModelFile(modelPath: string, threads: number): Promise<LoadedGraphModel> {
  const artifacts = await readGraphModel(modelPath);
  const rt = await startTfjs(threads);
  try {
    const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    return { model, artifacts, runtime: rt };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new FileError(modelPath, `is not a TF.js graph model @tensorflow/tfjs can load: ${why}`, {
      cause: err,
    });
  }
}
