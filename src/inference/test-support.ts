/**
 * Helpers for the inference tests: builds the minilm-l6-arch stand-in (scripts/build-models.mjs) into a
 * temporary folder, once per test file, so tests never depend on what is in models/; writes tiny real ONNX models;
 * and the affine engine (a real ONNX graph behind the InferenceEngine interface) that the model server's tests and
 * the KServe client's tests both serve; and, for the vision tests, a Tensor-in, Tensor-out runner over an ONNX
 * session and sharp's decoding to raw RGB.
 */
import assert from 'node:assert/strict';
import { InferenceInputError, ModelNotFoundError } from '../core/errors.js';
export { cosine } from '../core/cosine.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { Sharp } from 'sharp';
import { valueInfo } from '../../scripts/onnx-helpers.mjs';
import { loadOnnxModel, type OnnxModel, type OnnxTensorMap } from './backends/onnx/session.js';
import { DynamicBatcher } from './tensor/dynamic-batcher.js';
import {
  type InferenceEngine,
  type InferenceRequest,
  type InferenceResult,
  type ModelMetadata,
  type Tensor,
  type TensorData,
  type TensorDataType,
} from './tensor/tensor.js';
import type { RgbImage } from './vision/rgb-image.js';

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

/**
 * A temporary folder for the tests of the enclosing `describe`: made before them, removed after them. Returns a
 * function that gives its path (call it inside a test or a hook).
 */
export function suiteTempDir(prefix: string): () => string {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/**
 * A Tensor-in, Tensor-out runner over an ONNX Runtime session (FP32): inputs by position, outputs in model order.
 */
export function tensorRunner(model: OnnxModel): (inputs: Tensor[]) => Promise<Tensor[]> {
  return async (inputs) => {
    const feeds: Record<string, ort.Tensor> = {};
    inputs.forEach((t, i) => {
      feeds[model.inputNames[i] ?? t.name] = new ort.Tensor('float32', t.data as Float32Array, t.shape);
    });
    const out = await model.run(feeds);
    return model.outputNames.map((name) => {
      const t = out[name]!;
      return { name, datatype: 'FP32', shape: t.dims, data: t.data as Float32Array };
    });
  };
}

/**
 * Two lines of text as the OCR tests render them (sharp's librsvg, DejaVu Sans): PP-OCRv4 reads them as
 * `PITLANE 2026` and `Hello world` (vision/ocr.test.ts; the int8 recogniser in test/quantize.test.mjs).
 */
export const OCR_TWO_LINES_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="240">
    <rect width="100%" height="100%" fill="white"/>
    <text x="40" y="90" font-family="DejaVu Sans" font-size="48" fill="black">PITLANE 2026</text>
    <text x="60" y="180" font-family="DejaVu Sans" font-size="40" fill="#203040">Hello world</text>
  </svg>`;

/** An image sharp has opened (a file, an SVG), decoded to raw 8-bit RGB without alpha. */
export async function rawRgb(image: Sharp): Promise<RgbImage> {
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

/** Writes an ONNX model (IR 8, opset 17) of one graph. */
function writeOnnxModel(path: string, graph: object): void {
  const { onnx } = onnxProto;
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'pitlane test-support',
    graph,
  };
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
}

/** An initializer of an ONNX graph (a constant tensor, a scalar by default) from a typed array. */
function onnxInitializer(
  name: string,
  dataType: number,
  data: Float32Array | BigInt64Array,
  dims: number[] = [],
): object {
  return { name, dims, dataType, rawData: new Uint8Array(data.buffer) };
}

/**
 * Writes a tiny real ONNX model for tensor-model tests: `Y = 2·X + 1` and `S = sum of each row of X`, with X
 * FP32 [batch, 4] (`batch` symbolic, or `fixedBatch` when given: a model that cannot be batched).
 */
export function writeDoublerModel(path: string, fixedBatch?: number): Promise<void> {
  const { onnx } = onnxProto;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const batch = fixedBatch ?? 'batch';
  writeOnnxModel(path, {
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
      onnxInitializer('two', FLOAT, new Float32Array([2]), []),
      onnxInitializer('one', FLOAT, new Float32Array([1]), []),
      onnxInitializer('axis', INT64, new BigInt64Array([1n]), [1]),
    ],
    input: [valueInfo('X', FLOAT, [batch, 4])],
    output: [valueInfo('Y', FLOAT, [batch, 4]), valueInfo('S', FLOAT, [batch])],
  });
  return Promise.resolve();
}

// ---------------------------------------------------------------------------------------------------------------
// An engine for the KServe server and client tests: a real ONNX graph run by ONNX Runtime through loadOnnxModel, queued by the
// project's DynamicBatcher (one request per batch). Y = 2X + B, POSITIVE = X > 0, Y_HALF = FP16(Y),
// IDS_NEXT = IDS + 1.

export const AFFINE: ModelMetadata = {
  name: 'affine',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [
    { name: 'X', datatype: 'FP32', shape: [-1, 4] },
    { name: 'B', datatype: 'FP32', shape: [4] },
    { name: 'IDS', datatype: 'INT64', shape: [-1] },
  ],
  outputs: [
    { name: 'Y', datatype: 'FP32', shape: [-1, 4] },
    { name: 'POSITIVE', datatype: 'BOOL', shape: [-1, 4] },
    { name: 'Y_HALF', datatype: 'FP16', shape: [-1, 4] },
    { name: 'IDS_NEXT', datatype: 'INT64', shape: [-1] },
  ],
};

export function writeAffineModel(path: string): void {
  const { onnx } = onnxProto;
  const T = onnx.TensorProto.DataType;
  writeOnnxModel(path, {
    name: 'affine',
    node: [
      { opType: 'Mul', input: ['X', 'two'], output: ['X2'], name: 'mul' },
      { opType: 'Add', input: ['X2', 'B'], output: ['Y'], name: 'add' },
      { opType: 'Greater', input: ['X', 'zero'], output: ['POSITIVE'], name: 'greater' },
      {
        opType: 'Cast',
        input: ['Y'],
        output: ['Y_HALF'],
        name: 'cast',
        attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT16 }],
      },
      { opType: 'Add', input: ['IDS', 'one'], output: ['IDS_NEXT'], name: 'next' },
    ],
    initializer: [
      onnxInitializer('two', T.FLOAT, new Float32Array([2])),
      onnxInitializer('zero', T.FLOAT, new Float32Array([0])),
      onnxInitializer('one', T.INT64, new BigInt64Array([1n])),
    ],
    input: [
      valueInfo('X', T.FLOAT, ['batch', 4]),
      valueInfo('B', T.FLOAT, [4]),
      valueInfo('IDS', T.INT64, ['n']),
    ],
    output: [
      valueInfo('Y', T.FLOAT, ['batch', 4]),
      valueInfo('POSITIVE', T.BOOL, ['batch', 4]),
      valueInfo('Y_HALF', T.FLOAT16, ['batch', 4]),
      valueInfo('IDS_NEXT', T.INT64, ['n']),
    ],
  });
}

const ORT_TYPE = { FP32: 'float32', INT64: 'int64' } as const;
const DATATYPE_OF: Readonly<Record<string, TensorDataType>> = {
  float32: 'FP32',
  int64: 'INT64',
  bool: 'BOOL',
  float16: 'FP16',
};

export class AffineEngine implements InferenceEngine {
  loaded = true;
  /** Batches that reached the model (they may be held at the gate). */
  started = 0;
  inferences = 0;
  readonly batcher: DynamicBatcher<OnnxTensorMap, OnnxTensorMap>;
  private gate: Promise<void> | null = null;

  static async load(dir: string, queueCapacity = 64): Promise<AffineEngine> {
    const path = join(dir, 'affine.onnx');
    writeAffineModel(path);
    return new AffineEngine(
      await loadOnnxModel(path, { intraOpThreads: 1, allowSpinning: false }),
      queueCapacity,
    );
  }

  private constructor(
    private readonly model: OnnxModel,
    queueCapacity: number,
  ) {
    this.batcher = new DynamicBatcher(
      { maxBatchTokens: 1 << 20, maxBatchSize: 1, maxQueueDelayMs: 0, queueCapacity },
      async (batch) => {
        this.started++;
        if (this.gate !== null) await this.gate;
        return Promise.all(batch.map((s) => this.model.run(s.payload)));
      },
    );
  }

  /**
   * Holds every batch at the model until the returned function is called: a slow model, deterministically.
   */
  hold(): () => void {
    let release = (): void => undefined;
    this.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.gate = null;
      release();
    };
  }

  /** Triton-style statistics of the one model (a fixed queue time). */
  statistics(): AffineStatistics[] {
    return [
      {
        model: 'affine',
        version: '1',
        inferenceCount: this.inferences,
        executionCount: this.batcher.stats.batches,
        queueUs: 1234,
      },
    ];
  }

  ready(): Promise<boolean> {
    return Promise.resolve(this.loaded);
  }

  modelReady(model: string, version?: string): Promise<boolean> {
    return Promise.resolve(this.loaded && known(model, version));
  }

  modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    return known(model, version)
      ? Promise.resolve(AFFINE)
      : Promise.reject(new ModelNotFoundError(model, version));
  }

  async infer(model: string, request: InferenceRequest, version?: string): Promise<InferenceResult> {
    if (!known(model, version)) throw new ModelNotFoundError(model, version);
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of request.inputs) {
      const meta = AFFINE.inputs.find((m) => m.name === t.name);
      if (meta === undefined)
        throw new InferenceInputError(`unknown input '${t.name}' (the inputs are X, B, IDS)`);
      if (t.datatype !== meta.datatype) {
        throw new InferenceInputError(`input '${t.name}' is ${t.datatype}; the model takes ${meta.datatype}`);
      }
      if (t.shape.length !== meta.shape.length || meta.shape.some((d, k) => d !== -1 && d !== t.shape[k])) {
        throw new InferenceInputError(
          `input '${t.name}' has shape [${t.shape.join(',')}]; the model takes [${meta.shape.join(',')}]`,
        );
      }
      feeds[t.name] = new ort.Tensor(
        ORT_TYPE[meta.datatype as 'FP32' | 'INT64'],
        t.data as Float32Array,
        t.shape,
      );
    }
    for (const m of AFFINE.inputs) {
      if (feeds[m.name] === undefined) throw new InferenceInputError(`input '${m.name}' is missing`);
    }
    const wanted = request.outputs ?? AFFINE.outputs.map((o) => o.name);
    for (const name of wanted) {
      if (!AFFINE.outputs.some((o) => o.name === name))
        throw new InferenceInputError(`unknown output '${name}'`);
    }
    const [out] = await this.batcher.submit([{ tokens: 1, payload: feeds }], request.signal);
    this.inferences += request.inputs.find((t) => t.name === 'X')?.shape[0] ?? 1;
    const outputs = wanted.map((name): Tensor => {
      const t = out![name]!;
      return { name, datatype: DATATYPE_OF[t.type]!, shape: [...t.dims], data: t.data as TensorData };
    });
    return {
      modelName: 'affine',
      modelVersion: '1',
      outputs,
      ...(request.id !== undefined && { id: request.id }),
    };
  }

  async close(): Promise<void> {
    await this.batcher.close();
    await this.model.close();
  }
}

function known(model: string, version: string | undefined): boolean {
  return model === 'affine' && (version === undefined || version === '1');
}

/** One model's counters as the affine engine reports them (the model server's ModelStatistics shape). */
export interface AffineStatistics {
  readonly model: string;
  readonly version: string;
  readonly inferenceCount: number;
  readonly executionCount: number;
  readonly queueUs?: number;
}

/** Polls `condition` every 5 ms for up to 10 s; throws naming `what` when it never holds. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`gave up waiting until ${what}`);
}
