/**
 * Helpers for the inference tests: builds the minilm-l6-arch stand-in (scripts/build-models.mjs) into a
 * temporary folder, once per test file, so tests never depend on what is in models/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** scripts/build-models.mjs, found from dist/inference/ (or src/inference/). */
export const BUILD_MODELS_SCRIPT = fileURLToPath(new URL('../../scripts/build-models.mjs', import.meta.url));

/** A built model folder; `remove()` deletes it. */
export interface BuiltModelDir {
  readonly dir: string;
  readonly modelPath: string;
  readonly tokenizerPath: string;
  readonly vocabPath: string;
  remove(): void;
}

/** Runs the builder in a child process into a fresh temporary folder. */
export function buildMiniLmArchInTemp(): BuiltModelDir {
  const root = mkdtempSync(join(tmpdir(), 'pitlane-minilm-'));
  const dir = join(root, 'minilm-l6-arch');
  execFileSync(process.execPath, [BUILD_MODELS_SCRIPT, '--out', dir], { stdio: 'pipe' });
  return {
    dir,
    modelPath: join(dir, 'model.onnx'),
    tokenizerPath: join(dir, 'tokenizer.json'),
    vocabPath: join(dir, 'vocab.txt'),
    remove: () => {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Cosine similarity of two vectors of the same length (1: same direction). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

/**
 * Writes a tiny real ONNX model for tensor-model tests: `Y = 2·X + 1` and `S = sum of each row of X`, with X
 * FP32 [batch, 4] (`batch` symbolic, or `fixedBatch` when given: a model that cannot be batched).
 */
export async function writeDoublerModel(path: string, fixedBatch?: number): Promise<void> {
  const { default: onnxProto } = await import('onnx-proto');
  const { onnx } = onnxProto;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const batch = fixedBatch === undefined ? { dimParam: 'batch' } : { dimValue: fixedBatch };
  const info = (name: string, dims: object[]): object => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims } } },
  });
  const constant = (
    name: string,
    dataType: number,
    data: Float32Array | BigInt64Array,
    dims: number[],
  ): object => ({
    name,
    dims,
    dataType,
    rawData: new Uint8Array(data.buffer),
  });
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'pitlane test-support',
    graph: {
      name: 'doubler',
      node: [
        { opType: 'Mul', input: ['X', 'two'], output: ['X2'] },
        { opType: 'Add', input: ['X2', 'one'], output: ['Y'] },
        {
          opType: 'ReduceSum',
          input: ['X', 'axis'],
          output: ['S'],
          attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
        },
      ],
      initializer: [
        constant('two', FLOAT, new Float32Array([2]), []),
        constant('one', FLOAT, new Float32Array([1]), []),
        constant('axis', INT64, new BigInt64Array([1n]), [1]),
      ],
      input: [info('X', [batch, { dimValue: 4 }])],
      output: [info('Y', [batch, { dimValue: 4 }]), info('S', [batch])],
    },
  };
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
}
