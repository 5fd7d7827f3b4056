/**
 * Triton's model repository, model configuration and statistics extensions, as an engine answers them. One shape
 * serves both protocols: the HTTP routes send it as JSON, and the gRPC service hands it to protobuf as it is
 * (the .proto is loaded with `keepCase`, so field names are Triton's snake_case ones, enums are their names and
 * uint64 values are plain numbers). Field names and meanings follow Triton's `grpc_service.proto` and
 * `model_config.proto`; only the fields pitlane can fill are here.
 *
 * Durations are nanoseconds, as Triton reports them. An engine that is not local (a KServe client) has no
 * ModelControl, and the services then do not offer these extensions.
 */

/** A count of events and their total duration (Triton's StatisticDuration). */
export interface StatisticDuration {
  readonly count: number;
  readonly ns: number;
}

/**
 * Cumulative per-request statistics of one model version (Triton's InferStatistics): `success` is the whole time
 * of each request that succeeded, from its arrival in the engine to its answer; `fail` likewise for failures;
 * `queue` the time waiting for an instance; `compute_input` preparing the inputs (batch concatenation, hand-over
 * to the model's thread); `compute_infer` the model run; `compute_output` taking the outputs back and splitting the
 * batch. There is no response cache, so `cache_hit` and `cache_miss` stay at zero.
 */
export interface InferStatistics {
  readonly success: StatisticDuration;
  readonly fail: StatisticDuration;
  readonly queue: StatisticDuration;
  readonly compute_input: StatisticDuration;
  readonly compute_infer: StatisticDuration;
  readonly compute_output: StatisticDuration;
  readonly cache_hit: StatisticDuration;
  readonly cache_miss: StatisticDuration;
}

/** The model runs of one batch size (Triton's InferBatchStatistics): counted once per run, not per request. */
export interface InferBatchStatistics {
  readonly batch_size: number;
  readonly compute_input: StatisticDuration;
  readonly compute_infer: StatisticDuration;
  readonly compute_output: StatisticDuration;
}

/** Triton's ModelStatistics. */
export interface TritonModelStatistics {
  readonly name: string;
  readonly version: string;
  /** When the last request was answered, in ms since the epoch (0: never). */
  readonly last_inference: number;
  /** Batch elements inferred (a request of batch 4 counts 4). */
  readonly inference_count: number;
  /** Model runs (one run may serve several requests). */
  readonly execution_count: number;
  readonly inference_stats: InferStatistics;
  /** One entry per batch size that has run, in ascending order. */
  readonly batch_stats: readonly InferBatchStatistics[];
}

/** Triton's model states in the repository index. */
export type RepositoryModelState = 'UNAVAILABLE' | 'LOADING' | 'READY' | 'UNLOADING';

/** One model of the repository index (Triton's RepositoryIndexResponse.ModelIndex). */
export interface RepositoryModel {
  readonly name: string;
  /** The version, when the model is loaded or was (pitlane serves version "1"); absent for a model never loaded. */
  readonly version?: string;
  readonly state: RepositoryModelState;
  /** Why the model is in that state, when it is not READY (e.g. `unloaded`, or the load error). */
  readonly reason: string;
}

/** A model input or output in the configuration (Triton's ModelInput / ModelOutput). */
export interface ConfigTensor {
  readonly name: string;
  /** Triton's DataType name: `TYPE_FP32`, `TYPE_INT64`, `TYPE_STRING` (for BYTES), ... */
  readonly data_type: string;
  /** The shape without the batch dimension when `max_batch_size` > 0; -1 for a variable dimension. */
  readonly dims: readonly number[];
}

/** Triton's ModelConfig, the fields pitlane fills. */
export interface TritonModelConfig {
  readonly name: string;
  /** e.g. `onnxruntime_onnx`, as Triton names the platform. */
  readonly platform: string;
  /** e.g. `onnxruntime`. */
  readonly backend: string;
  /** 0: the model does not batch (its dims are the full shape). */
  readonly max_batch_size: number;
  readonly input: readonly ConfigTensor[];
  readonly output: readonly ConfigTensor[];
  /** Present when the model batches requests together. */
  readonly dynamic_batching?: {
    readonly preferred_batch_size: readonly number[];
    readonly max_queue_delay_microseconds: number;
  };
  readonly instance_group: readonly {
    readonly name: string;
    readonly kind: 'KIND_CPU';
    readonly count: number;
  }[];
}

/**
 * What a local engine offers beyond inference. Unknown models reject with ModelNotFoundError (core/errors.ts);
 * the services map it to 404 / NOT_FOUND.
 */
export interface ModelControl {
  /** Every model of the repository, loaded or not; with `readyOnly`, only the READY ones. */
  repositoryIndex(readyOnly: boolean): Promise<RepositoryModel[]>;
  /** Loads a model of the repository (a no-op when it is loaded; reloads nothing). */
  loadModel(name: string): Promise<void>;
  /** Unloads a model: new requests for it get "not ready"; requests in flight finish first. */
  unloadModel(name: string): Promise<void>;
  modelConfig(name: string, version?: string): Promise<TritonModelConfig>;
  /** The statistics of one model (and version), or of every loaded model when `name` is absent. */
  modelStatistics(name?: string, version?: string): Promise<TritonModelStatistics[]>;
}
