/** Loads the backend a model spec names. The TF.js runtime is imported only when a model uses it. */
import type { Embedder } from './embedder.js';
import type { ModelSpec } from '../tensor/model-repository.js';
import { loadOnnxEmbedder } from '../backends/onnx/embedder.js';

export async function loadEmbedder(spec: ModelSpec): Promise<Embedder> {
  if (spec.backend === 'tfjs') {
    const { loadTfjsEmbedder } = await import('../backends/tfjs/use-embedder.js');
    return loadTfjsEmbedder(spec);
  }
  return loadOnnxEmbedder(spec);
}
