/**
 * A TensorModel on a worker thread of its own (backends/thread-host.ts): onnxruntime-node and TF.js's wasm
 * backend compute on the thread that calls them, so a model on the main thread would stop the server from reading
 * and answering requests while a batch runs. Tensors cross as transferred buffers. The thread loads the model,
 * warms it up (a batch of 1), then runs batches. This module holds both halves: `loadTensorModelOnThread` on
 * the calling side, `tensorModelThreadService` on the thread.
 */
import { loadTensorModel } from '../backends/registry.js';
import { startThread } from '../backends/thread-host.js';
import type { ThreadServiceLoader } from '../backends/thread-protocol.js';
import type { ModelSpec } from './model-repository.js';
import type { Tensor, TensorMetadata } from './tensor.js';
import {
  warmUpInputs,
  type TensorModel,
  type TensorModelInfo,
  type TimedTensorModel,
} from './tensor-model.js';

/** A TensorModel that also says how long its warm-up run took, and a warm run. */
export interface ThreadTensorModel extends TimedTensorModel {
  readonly warmUpMs: number | null;
  /** The median of a few batch-1 runs after the warm-up, on the thread (null: no warm-up). */
  readonly warmRunMs: number | null;
}

/** What the thread says once its model is loaded and warmed up. */
interface TensorModelReady {
  readonly info: TensorModelInfo;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  readonly warmUpMs: number | null;
  readonly warmRunMs: number | null;
}

/** The arguments of a run. */
interface RunArgs {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly string[];
}

/**
 * What a run sends back: the outputs, the run's own duration, and when the thread started it. Threads have clocks
 * of their own origin, so `startedAt` is `performance.timeOrigin + performance.now()`, comparable across threads.
 */
interface RunAnswer {
  readonly outputs: Tensor[];
  readonly inferMs: number;
  readonly startedAt: number;
}

/** A high-resolution time comparable across threads (ms since the epoch). */
function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Loads the model on a new thread. `transferInputs`: the caller gives up the input buffers (they are moved to the
 * thread, not copied); leave it false when the caller keeps using them.
 */
export async function loadTensorModelOnThread(
  spec: ModelSpec,
  { transferInputs = true }: { readonly transferInputs?: boolean } = {},
): Promise<ThreadTensorModel> {
  const host = await startThread<TensorModelReady>({
    service: 'tensor-model',
    init: spec,
    failed: (err) => new Error(`the inference thread of ${spec.id} failed: ${err.message}`),
    exited: (code) => new Error(`the inference thread of ${spec.id} exited (code ${code})`),
  });
  const runTimed: ThreadTensorModel['runTimed'] = async (inputs, outputs) => {
    const transfer = transferInputs
      ? [...new Set(inputs.map((t) => t.data.buffer))].filter(
          (b): b is ArrayBuffer => b instanceof ArrayBuffer,
        )
      : [];
    const args: RunArgs = { inputs, outputs };
    const sentAt = sharedNow();
    const answer = await host.call<RunAnswer>('run', args, transfer);
    // The round trip less the run is the hand-over both ways; the thread's start time says how it divides.
    const handOver = Math.max(0, sharedNow() - sentAt - answer.inferMs);
    const inputHandOverMs = Math.min(handOver, Math.max(0, answer.startedAt - sentAt));
    return {
      outputs: answer.outputs,
      inferMs: answer.inferMs,
      inputHandOverMs,
      outputHandOverMs: handOver - inputHandOverMs,
    };
  };
  return {
    ...host.ready,
    run: async (inputs, outputs) => (await runTimed(inputs, outputs)).outputs,
    runTimed,
    close: () => host.close(new Error(`model ${spec.id} was closed`)),
  };
}

/** The thread's half: loads the model on its backend, warms it up, and answers `run`. */
export const tensorModelThreadService: ThreadServiceLoader = async (init) => {
  const model = await loadTensorModel(init as ModelSpec);
  const { warmUpMs, warmRunMs } = await warmUp(model);
  const ready: TensorModelReady = {
    info: model.info,
    inputs: model.inputs,
    outputs: model.outputs,
    warmUpMs,
    warmRunMs,
  };
  return {
    ready,
    handle: async (_method, args) => {
      const { inputs, outputs } = args as RunArgs;
      const startedAt = sharedNow();
      const t0 = performance.now();
      const result = await model.run(inputs, outputs);
      const answer: RunAnswer = { outputs: result, inferMs: performance.now() - t0, startedAt };
      const transfer = result
        .map((t) => t.data.buffer)
        .filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      return { value: answer, transfer };
    },
    close: () => model.close(),
  };
};

/** Runs after the warm-up that time a warm batch-1 run (their median): at most this many, ... */
const WARM_RUNS = 5;
/** ... and no more once they have taken this long (ms), so a large model adds one run to its load, not five. */
const WARM_RUNS_BUDGET_MS = 20;

/**
 * Warms a model up with a batch of 1, then times a few more runs: how long the first run took (loading kernels,
 * allocating) and how long a warm one takes. Both null when the model cannot run a batch of 1 of zeros (a
 * variable dimension that cannot be 1): it warms up on its first request instead.
 */
export async function warmUp(
  model: TensorModel,
): Promise<{ warmUpMs: number | null; warmRunMs: number | null }> {
  const inputs = warmUpInputs(model.inputs);
  const outputs = model.outputs.map((o) => o.name);
  try {
    const t0 = performance.now();
    await model.run(inputs, outputs);
    const warmUpMs = performance.now() - t0;
    const runs: number[] = [];
    const t1 = performance.now();
    while (runs.length < WARM_RUNS && (runs.length === 0 || performance.now() - t1 < WARM_RUNS_BUDGET_MS)) {
      const t = performance.now();
      await model.run(warmUpInputs(model.inputs), outputs);
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    return { warmUpMs, warmRunMs: runs[runs.length >> 1] as number };
  } catch {
    return { warmUpMs: null, warmRunMs: null };
  }
}
