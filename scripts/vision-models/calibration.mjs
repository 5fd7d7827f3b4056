// BatchNorm calibration of the vision stand-ins, the way a trained network gets its statistics: the synthetic
// calibration batch (a photo-like 1/f picture and uniform noise), the training-form BatchNorm nodes of the
// calibration graph, and calibrate(), which runs that graph once in onnxruntime-node and folds the per-channel
// statistics it measured into the convs and BatchNormalization layers a GraphBuilder recorded.
import { attr, floatTensor, normalArray } from '../onnx-helpers.mjs';
// The project's seeded PRNG (mulberry32); the build runs after `npm run build`, so dist/ exists.
import { seededRandom } from '../../dist/lab/stats.js';

/** BatchNorm epsilon (PyTorch's default), for the folded statistics and the BatchNormalization nodes. */
export const BN_EPS = 1e-5;

/**
 * The calibration batch, [2, 3, size, size] in [0, 1], deterministic: a picture with the statistics of a photo
 * (1/f "pink" noise: equal-energy octaves from a 2x2 grid down to single pixels, colour channels correlated
 * through a shared luminance), then uniform white noise, the input synthetic benchmarks feed.
 */
export function calibrationBatch(size, seed) {
  const rand = seededRandom(seed);
  const n = size * size;
  /** One octave: a (cells + 1)^2 grid of N(0, 1) values, bilinearly interpolated to size x size. */
  const octave = (cells) => {
    const grid = normalArray((cells + 1) * (cells + 1), 1, rand);
    const out = new Float32Array(n);
    for (let y = 0; y < size; y++) {
      const gy = (y * cells) / size;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      for (let x = 0; x < size; x++) {
        const gx = (x * cells) / size;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const at = (yy, xx) => grid[yy * (cells + 1) + xx];
        const top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx;
        const bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx;
        out[y * size + x] = top * (1 - fy) + bottom * fy;
      }
    }
    return out;
  };
  const pink = () => {
    const sum = new Float32Array(n);
    for (let cells = 2; cells < size; cells *= 2) {
      const o = octave(cells);
      for (let i = 0; i < n; i++) sum[i] += o[i];
    }
    const white = normalArray(n, 1, rand);
    for (let i = 0; i < n; i++) sum[i] += white[i];
    return sum;
  };
  const data = new Float32Array(2 * 3 * n);
  const luminance = pink();
  for (let c = 0; c < 3; c++) {
    const own = pink();
    const channel = data.subarray(c * n, (c + 1) * n);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      channel[i] = 0.8 * luminance[i] + 0.6 * own[i];
      s1 += channel[i];
      s2 += channel[i] * channel[i];
    }
    const mean = s1 / n;
    const std = Math.sqrt(s2 / n - mean * mean);
    for (let i = 0; i < n; i++)
      channel[i] = Math.min(1, Math.max(0, 0.45 + (0.22 * (channel[i] - mean)) / std));
  }
  for (let i = 3 * n; i < 6 * n; i++) data[i] = rand();
  return data;
}

/** The calibration graph's one initializer: the BatchNorm epsilon the training-form nodes add. */
export const calibrationEpsilon = () => floatTensor('calib_eps', [], Float32Array.from([BN_EPS]));

/**
 * BatchNorm as in training, for the calibration graph: `output` = (x - mean) / sqrt(var + eps) with the mean
 * and variance of each channel over the batch and all positions. Returns the nodes (not added to the graph).
 */
export function trainingNormNodes(x, output) {
  const node = (opType, input, out, attrs = {}) => ({
    opType,
    input,
    output: [out],
    name: out,
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  });
  const axes = { axes: [0, 2, 3], keepdims: 1 };
  return [
    node('ReduceMean', [x], `${output}_cal_mean`, axes),
    node('Sub', [x, `${output}_cal_mean`], `${output}_cal_centred`),
    node('Mul', [`${output}_cal_centred`, `${output}_cal_centred`], `${output}_cal_sq`),
    node('ReduceMean', [`${output}_cal_sq`], `${output}_cal_var`, axes),
    node('Add', [`${output}_cal_var`, 'calib_eps'], `${output}_cal_var_eps`),
    node('Sqrt', [`${output}_cal_var_eps`], `${output}_cal_std`),
    node('Div', [`${output}_cal_centred`, `${output}_cal_std`], output),
  ];
}

/**
 * BatchNorm calibration on a synthetic batch, the way a trained network gets its statistics: one run of the
 * calibration graph, where every BatchNorm normalises with the statistics of the batch (so each layer sees its
 * inputs as they will be once everything before it is folded), measures each channel's mean and variance over
 * the batch at every BatchNorm; they are folded into the conv before it (w /= std; b = (b - mean) / std;
 * gamma 1, beta 0) or become the running statistics of a BatchNormalization. Statistics are rounded (1/1024
 * steps of log2 std and of mean) so that last-bit differences between CPUs do not change the weights. `g` is
 * the GraphBuilder whose convs and BatchNorms are calibrated. Returns { batchNorms, ms }.
 */
export async function calibrate(g, { id, inputs, outputs, dims, data }) {
  const t0 = performance.now();
  const ort = await import('onnxruntime-node');
  const raw = [...g.folded.map((f) => f.raw), ...g.norms.map((n) => n.input)];
  const session = await ort.InferenceSession.create(
    g.model({ id, inputs, outputs, calibrationOutputs: raw }),
    {
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    },
  );
  const result = await session.run({ [inputs[0].name]: new ort.Tensor('float32', data, dims) }, raw);
  await session.release();
  const q = (v) => Math.round(v * 1024) / 1024;
  /** Per channel of a [b, c, h, w] tensor: rounded mean and log2 of sqrt(variance + eps). */
  const stats = (name) => {
    const t = result[name];
    const [b, c, h, w] = t.dims;
    const hw = h * w;
    return Array.from({ length: c }, (_, ch) => {
      let s1 = 0;
      let s2 = 0;
      for (let img = 0; img < b; img++)
        for (let i = (img * c + ch) * hw, end = i + hw; i < end; i++) {
          s1 += t.data[i];
          s2 += t.data[i] * t.data[i];
        }
      const mean = s1 / (b * hw);
      const variance = Math.max(s2 / (b * hw) - mean * mean, 0);
      return { mean: q(mean), log2Std: q(Math.log2(variance + BN_EPS) / 2) };
    });
  };
  for (const f of g.folded) {
    const per = f.weight.length / f.cout;
    stats(f.raw).forEach(({ mean, log2Std }, ch) => {
      const scale = 2 ** -log2Std;
      for (let i = ch * per; i < (ch + 1) * per; i++) f.weight[i] *= scale;
      f.bias[ch] = (f.bias[ch] - mean) * scale;
    });
  }
  for (const n of g.norms)
    stats(n.input).forEach(({ mean, log2Std }, ch) => {
      n.mean[ch] = mean;
      n.variance[ch] = 4 ** log2Std - BN_EPS;
    });
  return { batchNorms: g.folded.length + g.norms.length, ms: Math.round(performance.now() - t0) };
}
