/** ONNX Runtime (onnxruntime-node) as an inference backend of the registry (backends/registry.ts). */
import type { InferenceBackend } from '../inference-backend.js';
import { loadOnnxEmbedder } from './embedder.js';
import { loadOnnxTensorModel } from './tensor-model.js';

export const onnxBackend: InferenceBackend = Object.freeze({
  name: 'onnx',
  loadEmbedder: loadOnnxEmbedder,
  loadTensorModel: loadOnnxTensorModel,
});
