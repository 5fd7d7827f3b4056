/**
 * What an inference backend is (the runtime a model of the repository runs on, `backend` in models.yaml): what it
 * can load a model spec as. The registry (registry.ts) lists the backends; each backend's backend.ts provides one.
 */
import type { Embedder } from '../text/embedder.js';
import type { ModelSpec } from '../tensor/model-repository.js';
import type { TensorModel } from '../tensor/tensor-model.js';

/** The name of a backend, as models.yaml writes it. */
export type BackendName = ModelSpec['backend'];

/** What a backend can load a model spec as. Both reject with FileError naming the file. */
export interface InferenceBackend {
  readonly name: BackendName;
  /** A text-embedding model (ids in, one pooled vector per sequence out). */
  loadEmbedder(spec: ModelSpec): Promise<Embedder>;
  /** A model served by tensor names (KServe v2). */
  loadTensorModel(spec: ModelSpec): Promise<TensorModel>;
}
