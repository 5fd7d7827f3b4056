// The vision stand-ins of scripts/build-vision-models.mjs, yolo11s-arch and mobileclip-s2-image-arch, load in
// onnxruntime-node and behave like the exports of the real models: input and output names and shapes, a dynamic
// batch whose rows equal single runs, finite outputs, YOLO scores in [0, 1] and boxes in pixels, and parameter
// counts within 5% of the official ones. Each model is built once for the whole file (or models/ is reused when
// it is up to date); no timing is asserted.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { seededRandom } from '../dist/lab/stats.js';
import {
  BUILD_VERSIONS,
  VISION_MODEL_IDS,
  buildMobileClipS2ImageArch,
  buildYolo11sArch,
} from '../scripts/build-vision-models.mjs';

const { onnx } = onnxProto;

/** Official parameter counts: Ultralytics YOLO11s 9.4M; MobileCLIP paper, MobileCLIP-S2 image encoder 35.7M. */
const OFFICIAL_PARAMS = { 'yolo11s-arch': 9.4e6, 'mobileclip-s2-image-arch': 35.7e6 };
const BUILDERS = { 'yolo11s-arch': buildYolo11sArch, 'mobileclip-s2-image-arch': buildMobileClipS2ImageArch };

const repoModels = fileURLToPath(new URL('../models', import.meta.url));
let scratch;
after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** models/<id> when it is built at the current BUILD_VERSION, else a fresh build in a temporary folder. */
async function modelDir(id) {
  const dir = join(repoModels, id);
  try {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    if (config.pitlane_build_version === BUILD_VERSIONS[id] && existsSync(join(dir, 'model.onnx')))
      return dir;
  } catch {
    // not built yet
  }
  scratch ??= mkdtempSync(join(tmpdir(), 'pl-vision-arch-'));
  return (await BUILDERS[id](join(scratch, id))).outDir;
}

/** n deterministic pixels in [0, 1). */
function pixels(n, seed) {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rand());
}

/** Parameters as PyTorch counts them: float initializers, less constants, anchor grids and BN running stats. */
function countParams(modelBytes) {
  const model = onnx.ModelProto.decode(modelBytes);
  let n = 0;
  for (const t of model.graph.initializer) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || t.name.startsWith('const_')) continue;
    if (/\.(running_mean|running_var|anchors|strides)$/.test(t.name)) continue;
    n += t.dims.reduce((a, b) => a * Number(b), 1);
  }
  return n;
}

function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const tol = 1e-4 * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol))
      assert.fail(`${what}: element ${i} is ${actual[i]}, single run gave ${expected[i]}`);
  }
}

/**
 * One session per model, and the runs every test looks at: image A alone, image B alone, then [A, B] as a batch.
 */
function describeModel(id, { input, output, size, outShape }, checks) {
  describe(id, () => {
    const ctx = {};
    before(async () => {
      ctx.dir = await modelDir(id);
      ctx.config = JSON.parse(readFileSync(join(ctx.dir, 'config.json'), 'utf8'));
      ctx.session = await ort.InferenceSession.create(join(ctx.dir, 'model.onnx'), {
        intraOpNumThreads: 2,
        interOpNumThreads: 1,
      });
      const n = 3 * size * size;
      const a = pixels(n, 1);
      const b = pixels(n, 2);
      const run = async (data, batch) =>
        (await ctx.session.run({ [input]: new ort.Tensor('float32', data, [batch, 3, size, size]) }))[output];
      ctx.single = [await run(a, 1), await run(b, 1)];
      const both = new Float32Array(2 * n);
      both.set(a);
      both.set(b, n);
      ctx.batch = await run(both, 2);
    });
    after(async () => {
      await ctx.session?.release();
    });

    test('input and output names and shapes, as config.json states them', () => {
      assert.deepEqual(ctx.session.inputNames, [input]);
      assert.deepEqual(ctx.session.outputNames, [output]);
      assert.deepEqual(ctx.config.onnx.inputs, [
        { name: input, dtype: 'float32', shape: ['batch', 3, size, size] },
      ]);
      assert.deepEqual(ctx.config.onnx.outputs, [
        { name: output, dtype: 'float32', shape: ['batch', ...outShape] },
      ]);
      assert.equal(ctx.config.synthetic_weights, true);
      assert.deepEqual(ctx.single[0].dims, [1, ...outShape]);
      assert.deepEqual(ctx.batch.dims, [2, ...outShape]);
    });

    test('outputs are finite, and each row of a batch equals the single run of its image', () => {
      const per = ctx.single[0].data.length;
      for (const t of [...ctx.single, ctx.batch])
        assert.ok(
          t.data.every((v) => Number.isFinite(v)),
          'finite',
        );
      ctx.single.forEach((t, i) => {
        assertClose(ctx.batch.data.subarray(i * per, (i + 1) * per), t.data, `batch row ${i}`);
      });
      // Different images give different outputs: the input reaches the output.
      assert.ok(ctx.single[0].data.some((v, i) => v !== ctx.single[1].data[i]));
    });

    test(`parameter count within 5% of the official ${OFFICIAL_PARAMS[id] / 1e6}M`, () => {
      const params = countParams(readFileSync(join(ctx.dir, 'model.onnx')));
      assert.equal(params, ctx.config.params, 'config.json states the count of model.onnx');
      const ratio = params / OFFICIAL_PARAMS[id];
      assert.ok(
        Math.abs(ratio - 1) <= 0.05,
        `${params} parameters, ${(ratio * 100).toFixed(1)}% of official`,
      );
    });

    test('a second build is skipped: config.json carries the current BUILD_VERSION', async () => {
      const r = await BUILDERS[id](ctx.dir);
      assert.equal(r.built, false);
      assert.equal(ctx.config.pitlane_build_version, BUILD_VERSIONS[id]);
    });

    checks(ctx);
  });
}

assert.deepEqual(VISION_MODEL_IDS, ['yolo11s-arch', 'mobileclip-s2-image-arch']);

describeModel(
  'yolo11s-arch',
  { input: 'images', output: 'output0', size: 640, outShape: [84, 8400] },
  (ctx) => {
    test('rows 4..83 are class scores in [0, 1], rows 0..3 boxes (centre, size) in pixels', () => {
      const anchors = 8400;
      for (const t of [...ctx.single, ctx.batch]) {
        for (let b = 0; b < t.dims[0]; b++) {
          const row = (r) => t.data.subarray((b * 84 + r) * anchors, (b * 84 + r + 1) * anchors);
          let saturated = 0;
          for (let r = 4; r < 84; r++)
            for (const p of row(r)) {
              assert.ok(p >= 0 && p <= 1, `score ${p}`);
              if (p === 0 || p === 1) saturated++;
            }
          // Sigmoid of finite logits: only a sliver of extreme logits may round to exactly 0 or 1.
          assert.ok(saturated < 0.01 * 80 * anchors, `${saturated} saturated scores`);
          // DFL distances are expectations over 0..15 cells: size = (left + right) * stride, at most 30 * 32.
          for (const r of [2, 3]) for (const v of row(r)) assert.ok(v >= 0 && v <= 960, `box size ${v}`);
          // Centres: anchor centre +- 15 cells, so within the image grown by 15 * 32 pixels on each side.
          for (const r of [0, 1])
            for (const v of row(r)) assert.ok(v >= -480 && v <= 640 + 480, `centre ${v}`);
        }
      }
    });
  },
);

describeModel(
  'mobileclip-s2-image-arch',
  { input: 'image', output: 'embedding', size: 256, outShape: [512] },
  (ctx) => {
    test('the embedding is not normalised: config.json tells the consumer to L2-normalise it', () => {
      assert.equal(ctx.config.normalized, false);
      const norms = ctx.single.map((t) => Math.hypot(...t.data));
      for (const n of norms) assert.ok(n > 0 && Math.abs(n - 1) > 1e-3, `norm ${n}`);
    });
  },
);
