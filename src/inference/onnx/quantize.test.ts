import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { mulberry32 } from '../../core/random.js';
import { valueInfo } from '../../../scripts/onnx-helpers.mjs';
import { suiteTempDir } from '../test-support.js';
import { quantizeOnnxFile, quantizeOnnxModel, quantizePerColumn } from './quantize.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

const K = 64;

/** A Float32Array of n uniform values in [-1, 1) from a fixed seed. */
function uniform(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

function floatInit(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: DT.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * X [batch, 64] through five products:
 *   mm_bias    Add(MatMul(X, W1 [64, 32]), b1)  -> Z1   (the Add is folded)
 *   mm_dynamic MatMul(X, D)                     -> Z2   (D a graph input: stays FP32)
 *   gemm       Gemm(X, W3 [24, 64], C3; transB, alpha 0.5, beta 2) -> Z3
 *   mm_shared  MatMul(X, W1) -> Z4, W1 also read by mm_bias (quantised once)
 *   mm_const   MatMul(X, Constant W5 [64, 16]) -> Z5, whose product is also a graph output before its Add
 */
function smallModel(): { bytes: Uint8Array; weights: Record<string, Float32Array> } {
  const weights = {
    W1: uniform(K * 32, 1),
    b1: uniform(32, 2),
    W3: uniform(24 * K, 3),
    C3: uniform(24, 4),
    W5: uniform(K * 16, 5),
    b5: uniform(16, 6),
  };
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'quantize.test',
    graph: {
      name: 'small',
      node: [
        { name: 'mm_bias', opType: 'MatMul', input: ['X', 'W1'], output: ['Y1'] },
        { name: 'add_bias', opType: 'Add', input: ['Y1', 'b1'], output: ['Z1'] },
        { name: 'mm_dynamic', opType: 'MatMul', input: ['X', 'D'], output: ['Z2'] },
        {
          name: 'gemm',
          opType: 'Gemm',
          input: ['X', 'W3', 'C3'],
          output: ['Z3'],
          attribute: [
            { name: 'transB', type: A.INT, i: 1 },
            { name: 'alpha', type: A.FLOAT, f: 0.5 },
            { name: 'beta', type: A.FLOAT, f: 2 },
          ],
        },
        { name: 'mm_shared', opType: 'MatMul', input: ['X', 'W1'], output: ['Z4'] },
        {
          name: 'w5',
          opType: 'Constant',
          input: [],
          output: ['W5'],
          attribute: [{ name: 'value', type: A.TENSOR, t: floatInit('', [K, 16], weights.W5) }],
        },
        { name: 'mm_const', opType: 'MatMul', input: ['X', 'W5'], output: ['Y5'] },
        { name: 'add_const', opType: 'Add', input: ['b5', 'Y5'], output: ['Z5'] },
      ],
      initializer: [
        floatInit('W1', [K, 32], weights.W1),
        floatInit('b1', [32], weights.b1),
        floatInit('W3', [24, K], weights.W3),
        floatInit('C3', [24], weights.C3),
        floatInit('b5', [16], weights.b5),
      ],
      input: [valueInfo('X', DT.FLOAT, ['batch', K]), valueInfo('D', DT.FLOAT, [K, 8])],
      output: ['Z1', 'Z2', 'Z3', 'Z4', 'Y5', 'Z5'].map((name) => valueInfo(name, DT.FLOAT, ['batch', 'n'])),
    },
  };
  return { bytes: onnx.ModelProto.encode(model).finish(), weights };
}

async function run(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

describe('quantizeOnnxModel on a small graph', () => {
  const dir = suiteTempDir('pitlane-quantize-');
  const { bytes } = smallModel();
  const feeds = {
    X: new ort.Tensor('float32', uniform(5 * K, 7), [5, K]),
    D: new ort.Tensor('float32', uniform(K * 8, 8), [K, 8]),
  };

  test('constant weights become DynamicQuantizeMatMul; a dynamic B stays; outputs agree within int8 error', async () => {
    const { bytes: out, summary } = quantizeOnnxModel(bytes, 'small.onnx', { minElements: 0 });
    assert.equal(summary.nodesQuantized, 4);
    assert.deepEqual(
      summary.quantized.map((q) => [q.name, q.opType, q.weight, q.shape, q.bias]),
      [
        ['mm_bias', 'MatMul', 'W1', [K, 32], 'b1'],
        ['gemm', 'Gemm', 'W3', [K, 24], 'C3_beta'],
        ['mm_shared', 'MatMul', 'W1', [K, 32], null],
        // Its product is a graph output, so the Add is not folded into it.
        ['mm_const', 'MatMul', 'W5', [K, 16], null],
      ],
    );
    assert.deepEqual(summary.kept, [
      { name: 'mm_dynamic', opType: 'MatMul', reason: 'B is computed in the graph, not a constant' },
    ]);
    // W1 is quantised once for its two readers: W1 (8 KiB) + W3 (6 KiB) + W5 (4 KiB) in FP32.
    assert.equal(summary.weightBytesBefore, (K * 32 + K * 24 + K * 16) * 4);
    assert.equal(summary.weightBytesAfter, K * 32 + K * 24 + K * 16 + (32 + 24 + 16) * 5);
    assert.equal(summary.bytesAfter, out.length);

    const graph = onnx.ModelProto.decode(out).graph!;
    const ops = graph.node!.map((n) => `${n.domain ? `${n.domain}.` : ''}${n.opType ?? ''}:${n.name ?? ''}`);
    // A folded product takes its Add's place.
    assert.deepEqual(ops, [
      'com.microsoft.DynamicQuantizeMatMul:mm_bias',
      'MatMul:mm_dynamic',
      'com.microsoft.DynamicQuantizeMatMul:gemm',
      'com.microsoft.DynamicQuantizeMatMul:mm_shared',
      'com.microsoft.DynamicQuantizeMatMul:mm_const',
      'Add:add_const',
    ]);
    // The folded Add's product is gone; the FP32 weights nothing reads are dropped, the Constant node too.
    const names = graph.initializer!.map((t) => t.name);
    for (const gone of ['W1', 'W3', 'C3']) assert.ok(!names.includes(gone), gone);
    assert.ok(names.includes('b1') && names.includes('W1_int8') && names.includes('W1_scale'));
    const decoded = onnx.ModelProto.decode(out);
    assert.deepEqual(
      decoded.opsetImport.map((o) => [o.domain, Number(o.version)]),
      [
        ['', 17],
        ['com.microsoft', 1],
      ],
    );

    const want = await run(bytes, feeds);
    const got = await run(out, feeds);
    assert.deepEqual(got.Z2, want.Z2, 'the FP32 MatMul is untouched');
    for (const name of ['Z1', 'Z3', 'Z4', 'Y5', 'Z5']) {
      const w = want[name]!;
      const g = got[name]!;
      assert.equal(g.length, w.length, name);
      let maxRef = 0;
      let maxErr = 0;
      for (let i = 0; i < w.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(w[i]!));
        maxErr = Math.max(maxErr, Math.abs(w[i]! - g[i]!));
      }
      // 8-bit A and B over 64 terms: a few hundredths of the output's scale, far from a wrong product.
      assert.ok(maxErr < 0.03 * maxRef, `${name}: max error ${maxErr} against max ${maxRef}`);
      assert.ok(maxErr > 0, `${name} is quantised`);
    }
  });

  test('--min-elements and --exclude keep nodes in FP32, with the reason', () => {
    const { summary } = quantizeOnnxModel(bytes, 'small.onnx', { minElements: 1536, exclude: ['gemm'] });
    assert.deepEqual(
      summary.quantized.map((q) => q.name),
      ['mm_bias', 'mm_shared'],
    );
    assert.deepEqual(summary.kept, [
      { name: 'mm_dynamic', opType: 'MatMul', reason: 'B is computed in the graph, not a constant' },
      { name: 'gemm', opType: 'Gemm', reason: 'excluded (--exclude)' },
      { name: 'mm_const', opType: 'MatMul', reason: 'B has 1024 elements, fewer than the minimum 1536' },
    ]);
    // W1 quantised, but nothing else: the Constant node stays, and so does the FP32 W3 for the Gemm.
    const none = quantizeOnnxModel(bytes, 'small.onnx', { minElements: 1 << 20 });
    assert.equal(none.summary.nodesQuantized, 0);
    assert.deepEqual(
      onnx.ModelProto.decode(none.bytes).opsetImport.map((o) => o.domain),
      [''],
    );
    assert.throws(() => quantizeOnnxModel(bytes, 'small.onnx', { exclude: ['mm_typo'] }), {
      name: 'UsageError',
      message: "--exclude 'mm_typo': small.onnx has no node of that name",
    });
  });

  test('a bad file is an error naming it, and the node when one is at fault', async () => {
    const notOnnx = join(dir(), 'notes.onnx');
    await writeFile(notOnnx, '{"this": "is JSON, not ONNX"}\n');
    await assert.rejects(quantizeOnnxFile(notOnnx, join(dir(), 'out.onnx')), {
      name: 'FileError',
      message: new RegExp(`^${notOnnx.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: is not an ONNX model`),
    });
    await assert.rejects(quantizeOnnxFile(join(dir(), 'missing.onnx'), join(dir(), 'out.onnx')), {
      name: 'FileError',
      message: /missing\.onnx: cannot read the model/,
    });
    assert.throws(() => quantizeOnnxModel(new Uint8Array(0), 'empty.onnx'), {
      name: 'FileError',
      message: /^empty\.onnx: is not an ONNX model: it has no graph/,
    });

    // A weight whose bytes do not fit its dims, and one with a NaN: the node and the weight are named.
    const model = onnx.ModelProto.decode(bytes);
    const w1 = model.graph!.initializer!.find((t) => t.name === 'W1')!;
    w1.rawData = w1.rawData!.subarray(0, 100);
    assert.throws(
      () => quantizeOnnxModel(onnx.ModelProto.encode(model).finish(), 'cut.onnx', { minElements: 0 }),
      {
        name: 'FileError',
        message:
          "cut.onnx: node 'mm_bias' (MatMul): weight 'W1' has 100 bytes of data, but its dims [64, 32] need 8192",
      },
    );
    const nan = onnx.ModelProto.decode(bytes);
    const w3 = nan.graph!.initializer!.find((t) => t.name === 'W3')!;
    const values = new Float32Array(24 * K).fill(0.5);
    values[5 * K + 3] = Number.NaN;
    w3.rawData = new Uint8Array(values.buffer);
    assert.throws(
      () => quantizeOnnxModel(onnx.ModelProto.encode(nan).finish(), 'nan.onnx', { minElements: 0 }),
      {
        name: 'FileError',
        message: "nan.onnx: node 'gemm' (Gemm): weight 'W3': column 5 has a value that is not finite (NaN)",
      },
    );

    // External data is refused by name.
    const external = onnx.ModelProto.decode(bytes);
    const b1 = external.graph!.initializer!.find((t) => t.name === 'b1')!;
    b1.rawData = new Uint8Array(0);
    b1.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    b1.externalData = [{ key: 'location', value: 'weights.bin' }];
    assert.throws(() => quantizeOnnxModel(onnx.ModelProto.encode(external).finish(), 'ext.onnx'), {
      name: 'FileError',
      message: /^ext\.onnx: initializer 'b1' keeps its data in an external file \('weights\.bin'\)/,
    });
  });

  test('quantizeOnnxFile writes a model ONNX Runtime loads', async () => {
    const input = join(dir(), 'small.onnx');
    const output = join(dir(), 'small-int8.onnx');
    await writeFile(input, bytes);
    const summary = await quantizeOnnxFile(input, output, { minElements: 0 });
    assert.equal(summary.nodesQuantized, 4);
    const written = await readFile(output);
    assert.equal(written.length, summary.bytesAfter);
    const got = await run(written, feeds);
    assert.equal(got.Z1!.length, 5 * 32);
  });
});

test('quantizePerColumn: one scale per column (max |value| / 127), rounding, zero columns, Bᵀ', () => {
  // [K=3, N=2] row-major: column 0 = 1, -0.5, 0.25; column 1 = 0, 0, 0.
  const b = Float32Array.from([1, 0, -0.5, 0, 0.25, 0]);
  const reader = { length: b.length, at: (i: number) => b[i]! };
  const { values, scales } = quantizePerColumn(reader, 3, 2, false);
  assert.deepEqual([...scales], [Math.fround(1 / 127), 1]);
  assert.deepEqual([...values], [127, 0, -63, 0, 32, 0]);
  // The same matrix stored transposed ([N, K], a Gemm's B with transB = 1), with alpha folded into the scales.
  const bt = Float32Array.from([1, -0.5, 0.25, 0, 0, 0]);
  const t = quantizePerColumn({ length: bt.length, at: (i: number) => bt[i]! }, 3, 2, true, 2);
  assert.deepEqual([...t.values], [127, 0, -63, 0, 32, 0]);
  assert.deepEqual([...t.scales], [Math.fround(2 / 127), 2]);
});

test('an IR 3 model (initializers listed among the inputs) gets its int8 weights listed there too, and runs', async () => {
  const w = uniform(K * 32, 9);
  const model = {
    irVersion: 3,
    opsetImport: [{ domain: '', version: 9 }],
    graph: {
      name: 'ir3',
      node: [{ name: 'mm', opType: 'MatMul', input: ['X', 'W'], output: ['Y'] }],
      initializer: [floatInit('W', [K, 32], w)],
      input: [valueInfo('X', DT.FLOAT, ['batch', K]), valueInfo('W', DT.FLOAT, [K, 32])],
      output: [valueInfo('Y', DT.FLOAT, ['batch', 32])],
    },
  };
  const bytes = onnx.ModelProto.encode(model).finish();
  const { bytes: out, summary } = quantizeOnnxModel(bytes, 'ir3.onnx', { minElements: 0 });
  assert.equal(summary.nodesQuantized, 1);
  assert.deepEqual(
    onnx.ModelProto.decode(out).graph!.input!.map((i) => i.name),
    ['X', 'W_int8', 'W_scale', 'W_zero_point'],
  );
  const feeds = { X: new ort.Tensor('float32', uniform(2 * K, 10), [2, K]) };
  const [want, got] = [(await run(bytes, feeds)).Y!, (await run(out, feeds)).Y!];
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(want[i]! - got[i]!) < 0.1, `${i}: ${want[i]} vs ${got[i]}`);
});
