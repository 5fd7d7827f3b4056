/**
 * In-process inference over the models of a repository: the InferenceEngine behind `pitlane serve models` and
 * behind `pitlane serve ingest` when no `--inference` URL is given. Each model has `instances` copies, each on a
 * thread of its own, and a dynamic batcher with Triton's semantics:
 *
 * - `max_batch_size > 0`: the first dimension of every input and output is the batch one. Requests whose other
 *   dimensions, datatypes and wanted outputs match are concatenated along it, up to `max_batch_size`.
 * - A batch runs as soon as an instance is free and it has reached the largest `preferred_batch_size` (or
 *   `max_batch_size`), or when its oldest request has waited `max_queue_delay_microseconds` (0: never waits, so a
 *   lone request runs at once and batches grow only while instances are busy).
 * - The queue holds at most `queue_capacity` batch elements; beyond that a request is refused at once with a retry
 *   estimate (QueueFullError → HTTP 429). A request whose signal aborted is dropped before it runs.
 *
 * Requests are checked against the model's metadata first: every input present, known, of the right datatype,
 * rank and fixed dimensions, data length matching the shape (request-check.ts). The message names the input and
 * what is wrong.
 *
 * The engine knows every model of the repository file, not only those loaded at start, and answers Triton's
 * repository, configuration and statistics extensions (ModelControl, model-control.ts): a model not loaded is
 * UNAVAILABLE (reason `unloaded`, or the error of its last load) and can be loaded; unloading refuses new requests
 * (ModelNotReadyError, "not ready"), lets the requests in flight finish, then closes the instances. Loads and
 * unloads of one model are serialised. Statistics are kept per model since start, across unloads.
 */

import { ModelLoadError, ModelNotFoundError, ModelNotReadyError, toError } from '../../core/errors.js';
import { loadTensorModel } from '../backends/registry.js';
import type {
  ModelControl,
  RepositoryModel,
  RepositoryModelState,
  TritonModelConfig,
  TritonModelStatistics,
} from './model-control.js';
import { tritonModelConfig } from './model-config.js';
import { MODEL_VERSION, ModelEntry, type InstancePlacement, type ServedModel } from './model-entry.js';
import type { ModelSpec } from './model-repository.js';
import { ModelStatisticsAccumulator, type EngineCounters } from './model-statistics.js';
import type { InferenceEngine } from './tensor.js';
import { timedTensorModel, type TimedTensorModel } from './tensor-model.js';
import { loadTensorModelOnThread, warmUp, type ThreadTensorModel } from './thread-tensor-model.js';

export {
  AUTO_MAX_BATCH_SIZE,
  MODEL_VERSION,
  type InstancePlacement,
  type ServedModel,
} from './model-entry.js';

/** Cumulative counters of one model (for /metrics), and the batch elements waiting now. */
export interface ModelStatistics extends EngineCounters {
  readonly name: string;
  readonly version: string;
  readonly queued: number;
}

export interface LocalInference extends InferenceEngine, ModelControl {
  /** The models loaded now and their resolved batching. */
  readonly models: readonly ServedModel[];
  /** The counters of every model loaded since start. */
  statistics(): ModelStatistics[];
}

export interface LocalInferenceOptions {
  /** Run each instance on a worker thread (default true). false runs models on the calling thread (tests). */
  readonly threads?: boolean;
  /**
   * Every model of the repository (default: the ones loaded at start). Those not loaded at start are UNAVAILABLE,
   * reason `unloaded`, until loaded with `loadModel`.
   */
  readonly repository?: readonly ModelSpec[];
}

/** One model of the repository, loaded or not. */
interface Slot {
  readonly spec: ModelSpec;
  state: RepositoryModelState;
  reason: string;
  entry: ModelEntry | null;
  /** Created at the first load, kept across unloads. */
  stats: ModelStatisticsAccumulator | null;
  /** The last load or unload of this model (settled or not): the next one starts after it. */
  op: Promise<void>;
}

/**
 * Loads the models of `specs` (all instances) and returns the engine. Rejects as the model loaders do
 * (FileError), after closing what was loaded.
 */
export async function createLocalInference(
  specs: readonly ModelSpec[],
  options: LocalInferenceOptions = {},
): Promise<LocalInference> {
  const engine = openLocalInference([...(options.repository ?? []), ...specs], options);
  try {
    await engine.start(specs);
  } catch (err) {
    await engine.close();
    throw err;
  }
  return engine;
}

/** An engine whose models are loading (`start`): what `serve models` answers from while it starts. */
export interface StartingLocalInference extends LocalInference {
  /**
   * Loads these models of the repository, one after the other; they are LOADING at once. The engine is ready
   * once they all are. Rejects with the first load's error (FileError, ...), leaving the others as they are.
   */
  start(specs: readonly ModelSpec[]): Promise<void>;
}

/** The engine over every model of `repository`, none loaded yet (not ready until `start` has loaded its models). */
export function openLocalInference(
  repository: readonly ModelSpec[],
  options: Pick<LocalInferenceOptions, 'threads'> = {},
): StartingLocalInference {
  const onThread = options.threads ?? true;
  const slots = new Map<string, Slot>();
  for (const spec of repository) {
    if (slots.has(spec.id)) continue;
    slots.set(spec.id, {
      spec,
      state: 'UNAVAILABLE',
      reason: 'unloaded',
      entry: null,
      stats: null,
      op: Promise.resolve(),
    });
  }
  let closed = false;
  let started = false;

  const load = async (slot: Slot): Promise<void> => {
    if (slot.state === 'READY') return;
    slot.state = 'LOADING';
    slot.reason = '';
    try {
      const { instances, placement } = await loadInstances(slot.spec, onThread);
      slot.stats ??= new ModelStatisticsAccumulator(slot.spec.id, MODEL_VERSION);
      try {
        slot.entry = new ModelEntry(slot.spec, instances, placement, slot.stats);
      } catch (err) {
        await Promise.all(instances.map((m) => m.close()));
        throw err;
      }
      slot.state = 'READY';
    } catch (err) {
      slot.state = 'UNAVAILABLE';
      slot.reason = toError(err).message;
      throw err;
    }
  };
  const unload = async (slot: Slot): Promise<void> => {
    const entry = slot.entry;
    if (entry === null) return;
    slot.state = 'UNLOADING';
    slot.reason = '';
    await entry.drain();
    await entry.close();
    slot.entry = null;
    slot.state = 'UNAVAILABLE';
    slot.reason = 'unloaded';
  };
  /** Runs `step` after the model's previous load or unload has settled. */
  const serialised = (slot: Slot, step: (s: Slot) => Promise<void>): Promise<void> => {
    const next = slot.op.then(() => step(slot));
    slot.op = next.catch(() => undefined);
    return next;
  };
  const slotOf = (model: string, version?: string): Slot => {
    const slot = slots.get(model);
    if (slot === undefined) throw new ModelNotFoundError(model);
    if (version !== undefined && version !== '' && version !== MODEL_VERSION)
      throw new ModelNotFoundError(model, version);
    return slot;
  };
  const entryOf = (model: string, version?: string): ModelEntry => {
    const slot = slotOf(model, version);
    if (slot.state !== 'READY' || slot.entry === null || closed)
      throw new ModelNotReadyError(model, closed ? 'closed' : slot.state, closed ? '' : slot.reason);
    return slot.entry;
  };
  const attempt = <T>(f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f());
    } catch (err) {
      return Promise.reject(toError(err));
    }
  };

  const loadedEntries = (): ModelEntry[] =>
    [...slots.values()].flatMap((s) => (s.entry !== null && s.state === 'READY' ? [s.entry] : []));
  return {
    start: async (specs) => {
      const starting = specs.map((spec) => slotOf(spec.id));
      for (const slot of starting) slot.state = 'LOADING';
      try {
        for (const slot of starting) await serialised(slot, load);
      } finally {
        for (const slot of starting) {
          if (slot.state !== 'LOADING') continue;
          slot.state = 'UNAVAILABLE';
          slot.reason = 'unloaded';
        }
      }
      started = true;
    },
    get models() {
      return loadedEntries().map((e) => e.served);
    },
    ready: () => Promise.resolve(started && !closed),
    modelReady: (model, version) => {
      try {
        entryOf(model, version);
        return Promise.resolve(true);
      } catch {
        return Promise.resolve(false);
      }
    },
    modelMetadata: (model, version) => attempt(() => entryOf(model, version).served.metadata),
    infer: async (model, request, version) => entryOf(model, version).infer(request),
    statistics: () =>
      [...slots.values()].flatMap((s) =>
        s.stats === null
          ? []
          : [
              {
                name: s.spec.id,
                version: MODEL_VERSION,
                ...s.stats.counters(),
                queued: s.entry?.queued ?? 0,
              },
            ],
      ),
    repositoryIndex: (readyOnly) =>
      Promise.resolve(
        [...slots.values()]
          .filter((s) => !readyOnly || s.state === 'READY')
          .map((s): RepositoryModel => ({
            name: s.spec.id,
            ...(s.stats !== null && { version: MODEL_VERSION }),
            state: s.state,
            reason: s.reason,
          })),
      ),
    loadModel: async (name) => {
      const slot = slotOf(name);
      if (closed) throw new ModelNotReadyError(name, 'closed', 'the server is stopping');
      try {
        await serialised(slot, load);
      } catch (err) {
        throw new ModelLoadError(name, toError(err));
      }
    },
    unloadModel: (name) => attempt(() => slotOf(name)).then((slot) => serialised(slot, unload)),
    modelConfig: (name, version): Promise<TritonModelConfig> =>
      attempt(() => tritonModelConfig(entryOf(name, version).served)),
    modelStatistics: (name, version): Promise<TritonModelStatistics[]> =>
      attempt(() => {
        if (name === undefined || name === '') {
          return [...slots.values()].flatMap((s) => (s.stats === null ? [] : [s.stats.snapshot()]));
        }
        const slot = slotOf(name, version);
        return [(slot.stats ?? new ModelStatisticsAccumulator(name, MODEL_VERSION)).snapshot()];
      }),
    close: async () => {
      closed = true;
      await Promise.all([...slots.values()].map((s) => s.op));
      await Promise.all([...slots.values()].map((s) => s.entry?.close() ?? Promise.resolve()));
    },
  };
}

/**
 * `instance_kind: auto` runs a model inline when a warm batch-1 run takes at most this long: handing a request to
 * a thread and back costs about as much (a message each way, each waking a sleeping thread: 70 µs and more on a
 * small VM), so such a model is served faster on the server's own thread, and blocks it for less than parsing a
 * request does.
 */
export const INLINE_MAX_RUN_MS = 0.1;

/** What loading a model's instances gives. */
interface LoadedInstances {
  readonly instances: TimedTensorModel[];
  readonly placement: InstancePlacement;
}

/**
 * Loads every instance of a model, or none: on threads of their own, or on this one (`inline`, or `auto` for a
 * model whose warm run is short: it is first loaded on a thread, timed there, then loaded here instead), or all on
 * this one when `onThread` is false (tests).
 */
async function loadInstances(spec: ModelSpec, onThread: boolean): Promise<LoadedInstances> {
  if (!onThread || spec.instanceKind === 'inline')
    return loadInline(spec, spec.instanceKind === 'inline' ? 'asked' : 'tests');
  const instances: ThreadTensorModel[] = [];
  try {
    for (let i = 0; i < spec.instances; i++) instances.push(await loadTensorModelOnThread(spec));
  } catch (err) {
    await Promise.all(instances.map((m) => m.close()));
    throw err;
  }
  const first = instances[0];
  if (first === undefined) throw new Error(`model ${spec.id} has no instance`);
  const { warmUpMs, warmRunMs } = first;
  if (
    spec.instanceKind === 'auto' &&
    spec.instances === 1 &&
    warmRunMs !== null &&
    warmRunMs <= INLINE_MAX_RUN_MS
  ) {
    await first.close();
    // The placement keeps the measure that decided it (the inline copy warms up too, but is not timed again).
    const inline = await loadInline(spec, 'short');
    return { ...inline, placement: { ...inline.placement, warmUpMs, warmRunMs } };
  }
  return {
    instances,
    placement: {
      kind: 'thread',
      why: spec.instanceKind === 'thread' ? 'asked' : 'long',
      warmUpMs,
      warmRunMs,
    },
  };
}

/** Loads the model on this thread and warms it up. */
async function loadInline(spec: ModelSpec, why: InstancePlacement['why']): Promise<LoadedInstances> {
  const model = await loadTensorModel(spec);
  const { warmUpMs, warmRunMs } = await warmUp(model);
  return { instances: [timedTensorModel(model)], placement: { kind: 'inline', why, warmUpMs, warmRunMs } };
}
