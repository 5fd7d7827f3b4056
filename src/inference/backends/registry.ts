/**
 * The inference backends, one frozen registry: the runtime a model of the repository runs on (`backend` in
 * models.yaml) and, for each, how to load that model as a text embedder (the embedding service) or as a tensor
 * model (the model server, ingest). Both paths choose their runtime here and nowhere else. A backend's module
 * (and its runtime: onnxruntime-node, @tensorflow/tfjs) is imported only when a model asks for it.
 *
 * Adding a backend: a folder beside onnx/ and tfjs/ whose backend.ts exports an `InferenceBackend`
 * (inference-backend.ts), one line here, and its name in models.yaml's schema (tensor/model-repository.ts).
 */
import type { Embedder } from '../text/embedder.js';
import type { ModelSpec } from '../tensor/model-repository.js';
import type { TensorModel } from '../tensor/tensor-model.js';
import type { BackendName, InferenceBackend } from './inference-backend.js';

/** Every backend, by name, imported on first use. */
export const BACKENDS: Readonly<Record<BackendName, () => Promise<InferenceBackend>>> = Object.freeze({
  onnx: async () => (await import('./onnx/backend.js')).onnxBackend,
  tfjs: async () => (await import('./tfjs/backend.js')).tfjsBackend,
});

/** The backend a model spec names. */
export function backendOf(spec: Pick<ModelSpec, 'backend'>): Promise<InferenceBackend> {
  return BACKENDS[spec.backend]();
}

/** Loads a model spec as a text embedder on its backend (on the calling thread). */
export async function loadEmbedder(spec: ModelSpec): Promise<Embedder> {
  return (await backendOf(spec)).loadEmbedder(spec);
}

/** Loads a model spec as a tensor model on its backend (on the calling thread). */
export async function loadTensorModel(spec: ModelSpec): Promise<TensorModel> {
  return (await backendOf(spec)).loadTensorModel(spec);
}
