/**
 * Reads a TF.js graph model from disk: model.json and the weight shards it lists, into the ModelArtifacts that
 * `tf.io.fromMemory` takes (tfjs-node, which would read files, does not install here). Every problem is a
 * FileError naming the file: model.json missing or not a graph model, a shard missing, shards whose size does
 * not match the weights model.json describes.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { FileError } from '../../../core/errors.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Bytes one weight takes in the shards, or null when it cannot be known ahead (strings). */
function weightBytes(w: tf.io.WeightsManifestEntry): number | null {
  const count = w.shape.reduce((a, b) => a * b, 1);
  const q = w.quantization?.dtype;
  if (q !== undefined) return count * (q === 'uint8' ? 1 : 2);
  switch (w.dtype) {
    case 'float32':
    case 'int32':
      return count * 4;
    case 'bool':
      return count;
    case 'complex64':
      return count * 8;
    case 'string':
      return null;
  }
}

/**
 * Reads a TF.js graph model.json and the weight shards it lists (paths relative to it) into ModelArtifacts.
 * Rejects with FileError naming the file: model.json missing or not a graph model, a shard missing, or shards
 * whose total size does not match the weights model.json describes.
 */
export async function readGraphModel(modelPath: string): Promise<tf.io.ModelArtifacts> {
  try {
    const s = await stat(modelPath);
    if (!s.isFile())
      throw new FileError(modelPath, 'is not a file; expected a TF.js graph model (model.json)');
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(modelPath, 'TF.js model file (model.json) not found; check the model path', {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(modelPath, 'utf8'));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new FileError(modelPath, `is not a TF.js model.json (not valid JSON: ${why})`, { cause: err });
  }
  if (!isRecord(json) || !isRecord(json.modelTopology)) {
    throw new FileError(modelPath, 'is not a TF.js model.json (no "modelTopology" object)');
  }
  if (!Array.isArray(json.modelTopology.node)) {
    const layers = json.format === 'layers-model' || 'class_name' in json.modelTopology;
    throw new FileError(
      modelPath,
      layers
        ? 'is a TF.js layers model; the tfjs backend loads graph models (tensorflowjs_converter --output_format tfjs_graph_model)'
        : 'is not a TF.js graph model (modelTopology has no "node" list)',
    );
  }
  const manifest = json.weightsManifest;
  const groups = Array.isArray(manifest) ? manifest : [];
  const valid =
    Array.isArray(manifest) &&
    groups.every(
      (g: unknown) =>
        isRecord(g) &&
        Array.isArray(g.paths) &&
        g.paths.every((p: unknown) => typeof p === 'string') &&
        Array.isArray(g.weights) &&
        g.weights.every(
          (w: unknown) =>
            isRecord(w) &&
            typeof w.name === 'string' &&
            typeof w.dtype === 'string' &&
            Array.isArray(w.shape),
        ),
    );
  if (!valid) {
    throw new FileError(modelPath, 'has no valid "weightsManifest" (a list of {paths, weights} groups)');
  }
  const typedGroups = groups as tf.io.WeightsManifestConfig;
  const weightSpecs = typedGroups.flatMap((g) => g.weights);
  const dir = dirname(modelPath);
  const weightData: ArrayBuffer[] = [];
  let actual = 0;
  for (const file of typedGroups.flatMap((g) => g.paths.map((p) => join(dir, p)))) {
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      throw new FileError(
        file,
        `weight shard listed in ${modelPath} cannot be read; is the model complete?`,
        {
          cause: err,
        },
      );
    }
    actual += buf.byteLength;
    const whole = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength;
    // readFile gives a buffer of its own (no copy needed); copy only if it is a view into a larger one.
    weightData.push(whole ? (buf.buffer as ArrayBuffer) : new Uint8Array(buf).buffer);
  }
  let expected: number | null = 0;
  for (const w of weightSpecs) {
    const b = weightBytes(w);
    expected = b === null || expected === null ? null : expected + b;
  }
  if (expected !== null && expected !== actual) {
    throw new FileError(
      modelPath,
      `describes ${expected} bytes of weights but its shards hold ${actual}; a shard is truncated or from another model`,
    );
  }
  // format, generatedBy, signature ... pass through; the manifest is replaced by the weights it lists.
  const artifacts: Record<string, unknown> = { ...json, weightSpecs, weightData };
  delete artifacts.weightsManifest;
  return artifacts;
}
