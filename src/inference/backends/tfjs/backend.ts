/**
 * TF.js (@tensorflow/tfjs on its wasm backend) as an inference backend of the registry (backends/registry.ts):
 * Universal Sentence Encoder lite as a text embedder, any TF.js graph model as a tensor model.
 */
import type { InferenceBackend } from '../inference-backend.js';
import { loadTfjsTensorModel } from './tensor-model.js';
import { loadTfjsEmbedder } from './use-embedder.js';

export const tfjsBackend: InferenceBackend = Object.freeze({
  name: 'tfjs',
  loadEmbedder: loadTfjsEmbedder,
  loadTensorModel: loadTfjsTensorModel,
});
