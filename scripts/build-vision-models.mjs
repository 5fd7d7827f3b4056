// Builds architecture-faithful stand-ins for two vision models pitlane benchmarks, on a machine where no model hub
// is reachable (MODELS.md), the way scripts/build-models.mjs builds minilm-l6-arch:
//
// - `yolo11s-arch`: Ultralytics YOLO11s (ultralytics/cfg/models/11/yolo11.yaml at scale s: depth 0.50, width 0.50,
//   max_channels 1024) as `yolo export format=onnx` writes it: BatchNorm folded into Conv weight + bias, SiLU as
//   Sigmoid * Mul, Detect head with DFL (reg_max 16) decoding to xywh in input pixels (anchors and strides
//   8/16/32 baked in) and sigmoid class scores. Input `images` [batch, 3, 640, 640], output `output0`
//   [batch, 84, 8400].
// - `mobileclip-s2-image-arch`: the image encoder of Apple's MobileCLIP-S2, MCi2 (ml-mobileclip
//   mobileclip/models/mci.py: a FastViT hybrid, layers [4, 12, 24, 4], dims [80, 160, 320, 640], mlp ratio 3,
//   RepMixer stages 1-3, RepCPE + attention stage 4) in its reparameterised inference form, with the
//   GlobalPool2D projection to 512-d. Input `image` [batch, 3, 256, 256], output `embedding` [batch, 512],
//   not L2-normalised (the consumer normalises).
//
// The weights are deterministic synthetic numbers: He-normal draws from the project's seeded PRNG, then every
// BatchNorm of the original gets statistics calibrated on a synthetic batch (a photo-like 1/f picture and
// uniform noise, GraphBuilder.calibrate) and is folded into its conv, as a trained network's are, so that
// activations stay of order one through the whole network. Throughput measured on these models is real; their
// outputs are not meaningful (no real detections, no real embeddings).
//
// Usage: node scripts/build-vision-models.mjs [--out DIR] [--only ID] [--force]
//   DIR defaults to models/; each model goes to DIR/<id>/ (model.onnx + config.json).
// Idempotent: a model whose files exist and whose config.json carries its current BUILD_VERSION is not rebuilt.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attr, floatTensor, FLOAT, int64Tensor, normalArray, onnx, valueInfo } from './onnx-helpers.mjs';
// The project's seeded PRNG (mulberry32) and COCO names; this script runs after `npm run build`, so dist/ exists.
import { seededRandom } from '../dist/lab/stats.js';
import { COCO_CLASSES } from '../dist/inference/vision/coco.js';

/** Bump when a model's graph or weights change: older builds are then rebuilt. */
export const BUILD_VERSIONS = Object.freeze({
  'yolo11s-arch': 'yolo11s-arch/1',
  'mobileclip-s2-image-arch': 'mobileclip-s2-image-arch/1',
});

export const VISION_MODEL_IDS = Object.freeze(Object.keys(BUILD_VERSIONS));

const OPSET = 17;
const FILES = ['model.onnx', 'config.json'];

/** yolo11.yaml, scale s. `from`, `repeats`, `module`, `args` as in the yaml; channels before width scaling. */
export const YOLO11S_SHAPE = Object.freeze({
  scale: 's',
  depthMultiple: 0.5,
  widthMultiple: 0.5,
  maxChannels: 1024,
  nc: 80,
  regMax: 16,
  imgsz: 640,
  strides: [8, 16, 32],
  layers: [
    // backbone
    [-1, 1, 'Conv', [64, 3, 2]], // 0-P1/2
    [-1, 1, 'Conv', [128, 3, 2]], // 1-P2/4
    [-1, 2, 'C3k2', [256, false, 0.25]],
    [-1, 1, 'Conv', [256, 3, 2]], // 3-P3/8
    [-1, 2, 'C3k2', [512, false, 0.25]],
    [-1, 1, 'Conv', [512, 3, 2]], // 5-P4/16
    [-1, 2, 'C3k2', [512, true]],
    [-1, 1, 'Conv', [1024, 3, 2]], // 7-P5/32
    [-1, 2, 'C3k2', [1024, true]],
    [-1, 1, 'SPPF', [1024, 5]], // 9
    [-1, 2, 'C2PSA', [1024]], // 10
    // head
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 6], 1, 'Concat', [1]], // cat backbone P4
    [-1, 2, 'C3k2', [512, false]], // 13
    [-1, 1, 'Upsample', [null, 2, 'nearest']],
    [[-1, 4], 1, 'Concat', [1]], // cat backbone P3
    [-1, 2, 'C3k2', [256, false]], // 16 (P3/8-small)
    [-1, 1, 'Conv', [256, 3, 2]],
    [[-1, 13], 1, 'Concat', [1]], // cat head P4
    [-1, 2, 'C3k2', [512, false]], // 19 (P4/16-medium)
    [-1, 1, 'Conv', [512, 3, 2]],
    [[-1, 10], 1, 'Concat', [1]], // cat head P5
    [-1, 2, 'C3k2', [1024, true]], // 22 (P5/32-large)
    [[16, 19, 22], 1, 'Detect', ['nc']], // Detect(P3, P4, P5)
  ],
});

/** ml-mobileclip `mci2` (mobileclip/models/mci.py) with MobileCLIP-S2's image size and projection. */
export const MCI2_SHAPE = Object.freeze({
  imageSize: 256,
  layers: [4, 12, 24, 4],
  embedDims: [80, 160, 320, 640],
  mlpRatios: [3, 3, 3, 3],
  seDownsamples: [false, false, true, true],
  posEmbKernel: [null, null, null, 7], // RepCPE before stage 4
  tokenMixers: ['repmixer', 'repmixer', 'repmixer', 'attention'],
  repmixerKernel: 3,
  downPatchSize: 7,
  downStride: 2,
  clsRatio: 2,
  headDim: 32,
  projectionDim: 512,
});

/** The official sizes the stand-ins are measured against. */
export const OFFICIAL = Object.freeze({
  'yolo11s-arch': {
    params: 9_443_760,
    params_unfused: 9_458_752,
    gflops: 21.5,
    source: 'Ultralytics yolo11s: 9,443,760 params fused (9,458,752 unfused), 21.5 GFLOPs at 640',
  },
  'mobileclip-s2-image-arch': {
    params: 35_700_000,
    source: 'MobileCLIP paper (Vasu et al., CVPR 2024), MobileCLIP-S2 image encoder: 35.7M params',
  },
});

const DESCRIPTIONS = {
  'yolo11s-arch':
    'architecture-faithful stand-in for Ultralytics YOLO11s (ONNX export, 640x640) with synthetic weights: throughput is real, detections are not meaningful',
  'mobileclip-s2-image-arch':
    'architecture-faithful stand-in for the MobileCLIP-S2 image encoder (MCi2, reparameterised, 256x256) with synthetic weights: throughput is real, embeddings are not meaningful and are not L2-normalised',
};

// ---------------------------------------------------------------------------------------------------------------
// Deterministic numbers

/** Ultralytics' make_divisible: the smallest multiple of `divisor` not below x. */
const makeDivisible = (x, divisor) => Math.ceil(x / divisor) * divisor;

/** BatchNorm epsilon (PyTorch's default), for the folded statistics and the BatchNormalization nodes. */
const BN_EPS = 1e-5;

/**
 * The calibration batch, [2, 3, size, size] in [0, 1], deterministic: a picture with the statistics of a photo
 * (1/f "pink" noise: equal-energy octaves from a 2x2 grid down to single pixels, colour channels correlated
 * through a shared luminance), then uniform white noise, the input synthetic benchmarks feed.
 */
function calibrationBatch(size, seed) {
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

// ---------------------------------------------------------------------------------------------------------------
// ONNX graph

/**
 * Collects nodes and initializers in topological order, and counts as it goes: `params` (learned weights, as
 * PyTorch counts them), `buffers` (BatchNorm running statistics) and `macs` (multiply-accumulates of the
 * convolutions and matrix products, per image). A feature map is `{ name, c, h, w }` (batch implicit).
 *
 * Every conv that has a BatchNorm after it in the original (`bn: true`) and every BatchNormalization node has
 * two forms: the inference form that is exported (BN folded into the conv; BatchNormalization with running
 * statistics), and a calibration form that normalises that tensor per channel with the statistics of the batch,
 * as BatchNorm does in training. calibrate() runs the calibration form once and folds the statistics it
 * measured into the inference form.
 */
class GraphBuilder {
  constructor(seed) {
    this.rand = seededRandom(seed);
    this.nodes = [];
    this.inits = [];
    this.calibrationInits = [];
    this.params = 0;
    this.buffers = 0;
    this.macs = 0;
    this.convMacs = 0;
    this.counter = 0;
    this.consts = new Map();
    /** node -> { inference, calibration }: its form in each graph (a node, a list of nodes, or null). */
    this.forms = new Map();
    /** Convs with a folded BatchNorm, and BatchNormalization layers: what calibrate() sets. */
    this.folded = [];
    this.norms = [];
  }

  /** Adds a node; `outputs` is a count or a list of names. Returns the output names. */
  node(opType, inputs, attrs = {}, outputs = 1) {
    const id = this.counter++;
    const names =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, i) =>
            outputs === 1 ? `${opType}_${id}` : `${opType}_${id}_${i}`,
          )
        : outputs;
    this.nodes.push({
      opType,
      input: inputs,
      output: names,
      name: `${opType}_${id}`,
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    return names;
  }

  /** A single-output node; returns its output name. */
  op(opType, inputs, attrs = {}, outName) {
    return this.node(opType, inputs, attrs, outName ? [outName] : 1)[0];
  }

  param(name, dims, data) {
    this.inits.push(floatTensor(name, dims, data));
    this.params += data.length;
    return name;
  }

  buffer(name, dims, data) {
    this.inits.push(floatTensor(name, dims, data));
    this.buffers += data.length;
    return name;
  }

  normal(n, std) {
    return normalArray(n, std, this.rand);
  }

  /** A float constant (not a parameter), shared by value. */
  constFloat(dims, values) {
    const key = `f:${dims.join('x')}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_f_${this.consts.size}`;
      this.inits.push(floatTensor(name, dims, Float32Array.from(values)));
      this.consts.set(key, name);
    }
    return name;
  }

  scalar(value) {
    return this.constFloat([], [value]);
  }

  /** An int64 constant (shapes, axes, split sizes, indices), shared by value. */
  constInt(dims, values) {
    const key = `i:${dims.join('x')}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_i_${this.consts.size}`;
      this.inits.push(int64Tensor(name, dims, values));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A large float constant computed at build time (anchor grids): not a parameter. */
  constTensor(name, dims, data) {
    this.inits.push(floatTensor(name, dims, data));
    return name;
  }

  /**
   * BatchNorm as in training, for the calibration graph: `output` = (x - mean) / sqrt(var + eps) with the mean
   * and variance of each channel over the batch and all positions. Returns the nodes (not added to the graph).
   */
  batchStatsNodes(x, output) {
    if (this.calibrationInits.length === 0)
      this.calibrationInits.push(floatTensor('calib_eps', [], Float32Array.from([BN_EPS])));
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
   * Conv2d with bias, padding k // 2 ("same" for stride 1). `weight` overrides the default He-normal init
   * (std = gain * sqrt(1 / fan_in)); `bias` the default N(0, biasStd). `bn`: the original has a BatchNorm after
   * this conv, which the export folds into it; calibrate() sets its statistics.
   */
  conv(x, prefix, { cout, k = 1, s = 1, groups = 1, gain = Math.SQRT2, biasStd = 0.02, weight, bias, bn }) {
    const cinPerGroup = x.c / groups;
    if (!Number.isInteger(cinPerGroup) || cout % groups !== 0)
      throw new Error(`${prefix}: ${x.c} -> ${cout} channels do not split into ${groups} groups`);
    const p = Math.floor(k / 2);
    const h = Math.floor((x.h + 2 * p - k) / s) + 1;
    const w = Math.floor((x.w + 2 * p - k) / s) + 1;
    const fanIn = cinPerGroup * k * k;
    const wData = weight ?? this.normal(cout * fanIn, gain / Math.sqrt(fanIn));
    const bData = bias ?? this.normal(cout, biasStd);
    const inputs = [
      x.name,
      this.param(`${prefix}.weight`, [cout, cinPerGroup, k, k], wData),
      this.param(`${prefix}.bias`, [cout], bData),
    ];
    this.macs += cout * h * w * fanIn;
    this.convMacs += cout * h * w * fanIn;
    const name = this.op('Conv', inputs, {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
      dilations: [1, 1],
      group: groups,
    });
    if (!bn) return { name, c: cout, h, w };
    const convNode = this.nodes[this.nodes.length - 1];
    const normed = `${name}_bn`;
    // Inference: the conv itself produces the normalised tensor (BN folded); calibration: conv, then normalise.
    this.forms.set(convNode, {
      inference: { ...convNode, output: [normed] },
      calibration: [convNode, ...this.batchStatsNodes(name, normed)],
    });
    this.folded.push({ raw: name, weight: wData, bias: bData, cout });
    return { name: normed, c: cout, h, w };
  }

  /** BatchNorm2d in inference form (gamma 1, beta 0), its running statistics set by calibrate(). */
  batchNorm(x, prefix) {
    const c = x.c;
    const mean = new Float32Array(c);
    const variance = new Float32Array(c).fill(1);
    const scale = this.param(`${prefix}.weight`, [c], new Float32Array(c).fill(1));
    const bias = this.param(`${prefix}.bias`, [c], new Float32Array(c));
    const inputs = [
      x.name,
      scale,
      bias,
      this.buffer(`${prefix}.running_mean`, [c], mean),
      this.buffer(`${prefix}.running_var`, [c], variance),
    ];
    const name = this.op('BatchNormalization', inputs, { epsilon: BN_EPS });
    const node = this.nodes[this.nodes.length - 1];
    // gamma 1 and beta 0: the calibration form needs no affine step.
    this.forms.set(node, { inference: node, calibration: this.batchStatsNodes(x.name, name) });
    this.norms.push({ input: x.name, mean, variance });
    return { ...x, name };
  }

  /**
   * BatchNorm calibration on a synthetic batch, the way a trained network gets its statistics: one run of the
   * calibration graph, where every BatchNorm normalises with the statistics of the batch (so each layer sees its
   * inputs as they will be once everything before it is folded), measures each channel's mean and variance over
   * the batch at every BatchNorm; they are folded into the conv before it (w /= std; b = (b - mean) / std;
   * gamma 1, beta 0) or become the running statistics of a BatchNormalization. Statistics are rounded (1/1024
   * steps of log2 std and of mean) so that last-bit differences between CPUs do not change the weights.
   * Returns { batchNorms, ms }.
   */
  async calibrate({ id, inputs, outputs, dims, data }) {
    const t0 = performance.now();
    const ort = await import('onnxruntime-node');
    const raw = [...this.folded.map((f) => f.raw), ...this.norms.map((n) => n.input)];
    const session = await ort.InferenceSession.create(
      this.model({ id, inputs, outputs, calibrationOutputs: raw }),
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
    for (const f of this.folded) {
      const per = f.weight.length / f.cout;
      stats(f.raw).forEach(({ mean, log2Std }, ch) => {
        const scale = 2 ** -log2Std;
        for (let i = ch * per; i < (ch + 1) * per; i++) f.weight[i] *= scale;
        f.bias[ch] = (f.bias[ch] - mean) * scale;
      });
    }
    for (const n of this.norms)
      stats(n.input).forEach(({ mean, log2Std }, ch) => {
        n.mean[ch] = mean;
        n.variance[ch] = 4 ** log2Std - BN_EPS;
      });
    return { batchNorms: this.folded.length + this.norms.length, ms: Math.round(performance.now() - t0) };
  }

  /**
   * The finished model: its BatchNorms calibrated on the synthetic batch of two `size` x `size` pictures
   * (calibrationBatch), then the inference form serialised. Returns { bytes, calibration }.
   */
  async calibratedModel({ id, inputs, outputs, size, seed, metadata }) {
    const calibration = await this.calibrate({
      id,
      inputs,
      outputs,
      dims: [2, 3, size, size],
      data: calibrationBatch(size, seed),
    });
    return { bytes: this.model({ id, inputs, outputs, metadata }), calibration };
  }

  /** x @ W (+ b) on [batch, tokens, cin] -> [batch, tokens, cout]. */
  linear(x, prefix, { tokens, cin, cout, bias = true, std = Math.sqrt(1 / cin) }) {
    const wName = this.param(`${prefix}.weight`, [cin, cout], this.normal(cin * cout, std));
    this.macs += tokens * cin * cout;
    const y = this.op('MatMul', [x, wName]);
    return bias ? this.op('Add', [y, this.param(`${prefix}.bias`, [cout], new Float32Array(cout))]) : y;
  }

  /** Batched attention products, counted: [.., n, d] @ [.., d, m]. */
  matmul(a, b, macs) {
    this.macs += macs;
    return this.op('MatMul', [a, b]);
  }

  map(x, opType, inputs = [], attrs = {}) {
    return { ...x, name: this.op(opType, [x.name, ...inputs], attrs) };
  }

  add(a, b) {
    return { ...a, name: this.op('Add', [a.name, b.name]) };
  }

  concat(xs) {
    const name = this.op(
      'Concat',
      xs.map((x) => x.name),
      { axis: 1 },
    );
    return { ...xs[0], c: xs.reduce((n, x) => n + x.c, 0), name };
  }

  /** Splits the channels of x into parts of the given sizes (torch split / chunk on dim 1). */
  split(x, sizes) {
    const names = this.node(
      'Split',
      [x.name, this.constInt([sizes.length], sizes)],
      { axis: 1 },
      sizes.length,
    );
    return names.map((name, i) => ({ ...x, name, c: sizes[i] }));
  }

  /** SiLU as torch exports it: x * sigmoid(x). */
  silu(x) {
    return { ...x, name: this.op('Mul', [x.name, this.op('Sigmoid', [x.name])]) };
  }

  /** GELU as torch exports it (opset < 20): x * 0.5 * (1 + erf(x / sqrt(2))). */
  gelu(x) {
    const erf = this.op('Erf', [this.op('Div', [x.name, this.scalar(Math.SQRT2)])]);
    const name = this.op('Mul', [
      this.op('Mul', [x.name, this.op('Add', [erf, this.scalar(1)])]),
      this.scalar(0.5),
    ]);
    return { ...x, name };
  }

  /**
   * The serialised ModelProto: the inference graph, or with `calibrationOutputs` the calibration graph with those
   * intermediate tensors as extra outputs.
   */
  model({ id, inputs, outputs, metadata = {}, calibrationOutputs }) {
    const calibration = calibrationOutputs !== undefined;
    const nodes = [];
    for (const n of this.nodes) {
      const forms = this.forms.get(n);
      const form = forms ? (calibration ? forms.calibration : forms.inference) : n;
      if (Array.isArray(form)) nodes.push(...form);
      else if (form) nodes.push(form);
    }
    const version = BUILD_VERSIONS[id];
    return onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'pitlane scripts/build-vision-models.mjs',
      producerVersion: version,
      docString: DESCRIPTIONS[id],
      graph: {
        name: id,
        docString: DESCRIPTIONS[id],
        node: nodes,
        initializer: calibration ? [...this.inits, ...this.calibrationInits] : this.inits,
        input: inputs,
        output: [
          ...outputs,
          ...(calibrationOutputs ?? []).map((name) => ({ name, type: { tensorType: { elemType: FLOAT } } })),
        ],
      },
      metadataProps: [
        { key: 'pitlane.stand_in', value: DESCRIPTIONS[id] },
        ...Object.entries(metadata).map(([key, value]) => ({ key, value })),
      ],
    }).finish();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// YOLO11s (Ultralytics ultralytics/nn/modules: conv.py Conv, block.py Bottleneck / C3k / C3k2 / SPPF / C2PSA /
// PSABlock / Attention / DFL, head.py Detect), fused for export: every Conv is Conv2d(bias) + SiLU.

/** The exported graph and its architecture summary. */
async function buildYolo11sGraph(seed) {
  const S = YOLO11S_SHAPE;
  const g = new GraphBuilder(seed);
  const width = (c) => makeDivisible(Math.min(c, S.maxChannels) * S.widthMultiple, 8);
  const depth = (n) => (n > 1 ? Math.max(Math.round(n * S.depthMultiple), 1) : n);

  /** Ultralytics Conv: Conv2d + BatchNorm2d (folded) + SiLU (act=False: none). */
  const Conv = (x, prefix, c2, k = 1, s = 1, { groups = 1, act = true } = {}) => {
    const y = g.conv(x, `${prefix}.conv`, { cout: c2, k, s, groups, bn: true });
    return act ? g.silu(y) : y;
  };
  const Bottleneck = (x, prefix, c2, shortcut, k = [3, 3], e = 0.5) => {
    const c = Math.trunc(c2 * e);
    const y = Conv(Conv(x, `${prefix}.cv1`, c, k[0]), `${prefix}.cv2`, c2, k[1]);
    return shortcut && x.c === c2 ? g.add(x, y) : y;
  };
  /** C3k: a C3 whose bottlenecks use kernel k (3) with e=1.0. */
  const C3k = (x, prefix, c2, n, shortcut, e = 0.5, k = 3) => {
    const c = Math.trunc(c2 * e);
    let m = Conv(x, `${prefix}.cv1`, c);
    for (let i = 0; i < n; i++) m = Bottleneck(m, `${prefix}.m.${i}`, c, shortcut, [k, k], 1.0);
    return Conv(g.concat([m, Conv(x, `${prefix}.cv2`, c)]), `${prefix}.cv3`, c2);
  };
  /** C3k2: C2f (cv1 -> chunk(2) -> n blocks on the last chunk -> concat -> cv2) with C3k or Bottleneck blocks. */
  const C3k2 = (x, prefix, c2, n, c3k, e = 0.5, shortcut = true) => {
    const c = Math.trunc(c2 * e);
    const ys = g.split(Conv(x, `${prefix}.cv1`, 2 * c), [c, c]);
    for (let i = 0; i < n; i++) {
      const last = ys[ys.length - 1];
      ys.push(
        c3k
          ? C3k(last, `${prefix}.m.${i}`, c, 2, shortcut)
          : Bottleneck(last, `${prefix}.m.${i}`, c, shortcut),
      );
    }
    return Conv(g.concat(ys), `${prefix}.cv2`, c2);
  };
  const SPPF = (x, prefix, c2, k) => {
    const ys = [Conv(x, `${prefix}.cv1`, x.c / 2)];
    for (let i = 0; i < 3; i++)
      ys.push(
        g.map(ys[i], 'MaxPool', [], {
          kernel_shape: [k, k],
          strides: [1, 1],
          pads: [k >> 1, k >> 1, k >> 1, k >> 1],
        }),
      );
    return Conv(g.concat(ys), `${prefix}.cv2`, c2);
  };
  /** Attention (block.py): qkv 1x1, per-head q/k of key_dim = head_dim * attn_ratio, v of head_dim, dw-3x3 pe on v. */
  const Attention = (x, prefix, numHeads, attnRatio = 0.5) => {
    const headDim = x.c / numHeads;
    const keyDim = Math.trunc(headDim * attnRatio);
    const n = x.h * x.w;
    const qkv = Conv(x, `${prefix}.qkv`, x.c + 2 * keyDim * numHeads, 1, 1, { act: false });
    const heads = g.op('Reshape', [qkv.name, g.constInt([4], [0, numHeads, 2 * keyDim + headDim, n])]);
    const [q, k, v] = g.node('Split', [heads, g.constInt([3], [keyDim, keyDim, headDim])], { axis: 2 }, 3);
    const qT = g.op('Transpose', [q], { perm: [0, 1, 3, 2] });
    const scores = g.op('Mul', [g.matmul(qT, k, numHeads * n * n * keyDim), g.scalar(keyDim ** -0.5)]);
    const attn = g.op('Softmax', [scores], { axis: -1 });
    const attnT = g.op('Transpose', [attn], { perm: [0, 1, 3, 2] });
    const mixed = g.op('Reshape', [
      g.matmul(v, attnT, numHeads * headDim * n * n),
      g.constInt([4], [0, x.c, x.h, x.w]),
    ]);
    const vMap = { ...x, name: g.op('Reshape', [v, g.constInt([4], [0, x.c, x.h, x.w])]) };
    const pe = Conv(vMap, `${prefix}.pe`, x.c, 3, 1, { groups: x.c, act: false });
    return Conv(g.add({ ...x, name: mixed }, pe), `${prefix}.proj`, x.c, 1, 1, { act: false });
  };
  const PSABlock = (x, prefix, numHeads) => {
    const a = g.add(x, Attention(x, `${prefix}.attn`, numHeads));
    const ffn = Conv(Conv(a, `${prefix}.ffn.0`, a.c * 2), `${prefix}.ffn.1`, a.c, 1, 1, { act: false });
    return g.add(a, ffn);
  };
  const C2PSA = (x, prefix, c2, n, e = 0.5) => {
    const c = Math.trunc(x.c * e);
    let [a, b] = g.split(Conv(x, `${prefix}.cv1`, 2 * c), [c, c]);
    for (let i = 0; i < n; i++) b = PSABlock(b, `${prefix}.m.${i}`, Math.trunc(c / 64));
    return Conv(g.concat([a, b]), `${prefix}.cv2`, c2);
  };
  const Upsample = (x, scale) => ({
    ...x,
    h: x.h * scale,
    w: x.w * scale,
    name: g.op('Resize', [x.name, '', g.constFloat([4], [1, 1, scale, scale])], {
      coordinate_transformation_mode: 'asymmetric',
      mode: 'nearest',
      nearest_mode: 'floor',
    }),
  });
  /** Detect (head.py, legacy=False) in export mode: box branch cv2, class branch cv3 (DWConv), DFL, dist2bbox. */
  const Detect = (xs, prefix) => {
    const no = S.nc + 4 * S.regMax;
    const c2 = Math.max(16, xs[0].c / 4, 4 * S.regMax);
    const c3 = Math.max(xs[0].c, Math.min(S.nc, 100));
    const flat = xs.map((x, i) => {
      const p2 = `${prefix}.cv2.${i}`;
      let box = Conv(Conv(x, `${p2}.0`, c2, 3), `${p2}.1`, c2, 3);
      // bias_init(): box logits 1.0
      box = g.conv(box, `${p2}.2`, {
        cout: 4 * S.regMax,
        gain: 1,
        bias: new Float32Array(4 * S.regMax).fill(1),
      });
      const p3 = `${prefix}.cv3.${i}`;
      let cls = Conv(Conv(x, `${p3}.0.0`, x.c, 3, 1, { groups: x.c }), `${p3}.0.1`, c3);
      cls = Conv(Conv(cls, `${p3}.1.0`, c3, 3, 1, { groups: c3 }), `${p3}.1.1`, c3);
      // bias_init(): class logits log(5 / nc / (640 / stride)^2), about 0.01 objects per image
      const clsBias = Math.log(5 / S.nc / (S.imgsz / S.strides[i]) ** 2);
      cls = g.conv(cls, `${p3}.2`, { cout: S.nc, gain: 1, bias: new Float32Array(S.nc).fill(clsBias) });
      return g.op('Reshape', [g.concat([box, cls]).name, g.constInt([3], [0, no, -1])]);
    });
    // make_anchors(offset 0.5): cell centres in grid units, and the stride of each anchor.
    const grids = xs.map((x) => [x.h, x.w]);
    const anchorsN = grids.reduce((n, [h, w]) => n + h * w, 0);
    const anchors = new Float32Array(2 * anchorsN);
    const strides = new Float32Array(anchorsN);
    let a = 0;
    grids.forEach(([h, w], i) => {
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++, a++) {
          anchors[a] = x + 0.5;
          anchors[anchorsN + a] = y + 0.5;
          strides[a] = S.strides[i];
        }
    });
    const xCat = g.op('Concat', flat, { axis: 2 });
    const [box, cls] = g.node('Split', [xCat, g.constInt([2], [4 * S.regMax, S.nc])], { axis: 1 }, 2);
    // DFL: view(b, 4, 16, a).transpose(2, 1).softmax(1) -> 1x1 conv with weights 0..15 -> view(b, 4, a)
    const dist4 = g.op('Transpose', [g.op('Reshape', [box, g.constInt([4], [0, 4, S.regMax, anchorsN])])], {
      perm: [0, 2, 1, 3],
    });
    const dflW = g.param(
      `${prefix}.dfl.conv.weight`,
      [1, S.regMax, 1, 1],
      Float32Array.from({ length: S.regMax }, (_, i) => i),
    );
    g.macs += S.regMax * 4 * anchorsN;
    g.convMacs += S.regMax * 4 * anchorsN;
    const dfl = g.op('Conv', [g.op('Softmax', [dist4], { axis: 1 }), dflW], { kernel_shape: [1, 1] });
    const dist = g.op('Reshape', [dfl, g.constInt([3], [0, 4, anchorsN])]);
    // dist2bbox(xywh=True): lt, rb = chunk(2); centre = anchor + (rb - lt) / 2; size = lt + rb; then * stride.
    const anchorPts = g.constTensor(`${prefix}.anchors`, [1, 2, anchorsN], anchors);
    const strideT = g.constTensor(`${prefix}.strides`, [1, anchorsN], strides);
    const [lt, rb] = g.node('Split', [dist, g.constInt([2], [2, 2])], { axis: 1 }, 2);
    const x1y1 = g.op('Sub', [anchorPts, lt]);
    const x2y2 = g.op('Add', [anchorPts, rb]);
    const cxy = g.op('Div', [g.op('Add', [x1y1, x2y2]), g.scalar(2)]);
    const wh = g.op('Sub', [x2y2, x1y1]);
    const dbox = g.op('Mul', [g.op('Concat', [cxy, wh], { axis: 1 }), strideT]);
    return g.op('Concat', [dbox, g.op('Sigmoid', [cls])], { axis: 1 }, 'output0');
  };

  const input = { name: 'images', c: 3, h: S.imgsz, w: S.imgsz };
  const outs = [];
  const summary = [];
  let output;
  S.layers.forEach(([from, repeats, module, args], i) => {
    const n = depth(repeats);
    const prefix = `model.${i}`;
    const src = (f) => (f === -1 ? (outs[i - 1] ?? input) : outs[f]);
    const x = Array.isArray(from) ? from.map(src) : src(from);
    let y;
    switch (module) {
      case 'Conv':
        y = Conv(x, prefix, width(args[0]), args[1], args[2]);
        break;
      case 'C3k2': {
        // parse_model: scales m/l/x force c3k=True; s keeps the yaml's flag.
        const c3k = 'mlx'.includes(S.scale) ? true : (args[1] ?? false);
        y = C3k2(x, prefix, width(args[0]), n, c3k, args[2] ?? 0.5);
        break;
      }
      case 'SPPF':
        y = SPPF(x, prefix, width(args[0]), args[1]);
        break;
      case 'C2PSA':
        y = C2PSA(x, prefix, width(args[0]), n);
        break;
      case 'Upsample':
        y = Upsample(x, args[1]);
        break;
      case 'Concat':
        y = g.concat(x);
        break;
      case 'Detect':
        output = Detect(x, prefix);
        break;
      default:
        throw new Error(`yolo11: unknown module ${module}`);
    }
    outs.push(y);
    summary.push({
      index: i,
      from,
      n,
      module,
      args,
      out: y ? [y.c, y.h, y.w] : [4 + S.nc, (S.imgsz / 8) ** 2 + (S.imgsz / 16) ** 2 + (S.imgsz / 32) ** 2],
    });
  });
  if (!output) throw new Error('yolo11: no Detect layer');
  const anchorsN = summary[summary.length - 1].out[1];
  const id = 'yolo11s-arch';
  const inputs = [valueInfo('images', FLOAT, ['batch', 3, S.imgsz, S.imgsz])];
  const outputs = [valueInfo('output0', FLOAT, ['batch', 4 + S.nc, anchorsN])];
  const { bytes, calibration } = await g.calibratedModel({
    id,
    inputs,
    outputs,
    size: S.imgsz,
    seed,
    // What Ultralytics writes into its ONNX metadata, for consumers that read it.
    metadata: {
      task: 'detect',
      stride: String(Math.max(...S.strides)),
      imgsz: `[${S.imgsz}, ${S.imgsz}]`,
      names: `{${COCO_CLASSES.map((c, i) => `${i}: '${c}'`).join(', ')}}`,
    },
  });
  return {
    bytes,
    params: g.params,
    macs: g.macs,
    convMacs: g.convMacs,
    summary,
    anchors: anchorsN,
    calibration,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// MobileCLIP-S2 image encoder: MCi2 (ml-mobileclip mobileclip/models/mci.py, modules/common/mobileone.py,
// modules/image/replknet.py, modules/image/image_projection.py) after reparameterize_model(): every MobileOne
// block, RepMixer, RepCPE and ReparamLargeKernelConv is one Conv2d with bias; ConvFFN's conv + BatchNorm fold
// into one depthwise Conv2d with bias; the attention stage keeps its BatchNorm2d pre-norm.

/**
 * Layer scale of MCi2's residual branches (initialised at 1e-5 in training; trained values are mostly well below
 * 1): 0.1 keeps the 44-block residual stream of order one with these random weights.
 */
const LAYER_SCALE = 0.1;

/** A depthwise k x k kernel near the identity (what RepMixer / RepCPE reparameterise to), with noise `std`. */
function nearIdentityDepthwise(g, channels, k, std) {
  const w = g.normal(channels * k * k, std);
  const centre = (k * k) >> 1;
  for (let c = 0; c < channels; c++) w[c * k * k + centre] += 1;
  return w;
}

async function buildMci2Graph(seed) {
  const S = MCI2_SHAPE;
  const g = new GraphBuilder(seed);
  const root = 'image_encoder.model';

  /** timm SqueezeExcite (SEModule), as ReparamLargeKernelConv uses it: mean -> fc1 -> ReLU -> fc2 -> sigmoid gate. */
  const squeezeExcite = (x, prefix, rdChannels, pool) => {
    let s = { ...x, h: 1, w: 1, name: pool(x.name) };
    s = g.map(g.conv(s, `${prefix}.${pool.fc[0]}`, { cout: rdChannels }), 'Relu');
    s = g.conv(s, `${prefix}.${pool.fc[1]}`, { cout: x.c, gain: 1 });
    return { ...x, name: g.op('Mul', [x.name, g.op('Sigmoid', [s.name])]) };
  };
  const meanPool = Object.assign((name) => g.op('ReduceMean', [name], { axes: [2, 3], keepdims: 1 }), {
    fc: ['fc1', 'fc2'],
  });
  const avgPool = Object.assign((name) => g.op('GlobalAveragePool', [name]), { fc: ['reduce', 'expand'] });

  /** MobileOneBlock in inference mode: reparam_conv -> SE (optional) -> GELU. */
  const mobileOne = (x, prefix, { cout, k, s = 1, groups = 1, se = false }) => {
    let y = g.conv(x, `${prefix}.reparam_conv`, { cout, k, s, groups, bn: true });
    if (se) y = squeezeExcite(y, `${prefix}.se`, Math.trunc(cout * 0.0625), avgPool);
    return g.gelu(y);
  };
  /** ConvFFN: depthwise 7x7 (+ folded BN) -> fc1 1x1 -> GELU -> fc2 1x1. */
  const convFfn = (x, prefix, hidden) => {
    let y = g.conv(x, `${prefix}.conv.conv`, { cout: x.c, k: 7, groups: x.c, gain: 1, bn: true });
    y = g.gelu(g.conv(y, `${prefix}.fc1`, { cout: hidden }));
    return g.conv(y, `${prefix}.fc2`, { cout: x.c, gain: 1 });
  };
  const layerScale = (x, name) =>
    g.map(x, 'Mul', [g.param(name, [x.c, 1, 1], new Float32Array(x.c).fill(LAYER_SCALE))]);
  /** RepMixerBlock: x = reparam dw-3x3(x); x = x + layer_scale * ConvFFN(x). */
  const repMixerBlock = (x, prefix, mlpRatio) => {
    const k = S.repmixerKernel;
    const mixed = g.conv(x, `${prefix}.token_mixer.reparam_conv`, {
      cout: x.c,
      k,
      groups: x.c,
      weight: nearIdentityDepthwise(g, x.c, k, 0.05),
    });
    return g.add(
      mixed,
      layerScale(convFfn(mixed, `${prefix}.convffn`, x.c * mlpRatio), `${prefix}.layer_scale`),
    );
  };
  /** MHSA (head_dim 32, no qkv bias) on a [b, c, h, w] map, as tokens [b, h*w, c]. */
  const mhsa = (x, prefix) => {
    const heads = x.c / S.headDim;
    const n = x.h * x.w;
    const tokens = g.op('Transpose', [g.op('Reshape', [x.name, g.constInt([3], [0, x.c, -1])])], {
      perm: [0, 2, 1],
    });
    const qkv = g.linear(tokens, `${prefix}.qkv`, { tokens: n, cin: x.c, cout: 3 * x.c, bias: false });
    const qkv5 = g.op('Transpose', [g.op('Reshape', [qkv, g.constInt([5], [0, n, 3, heads, S.headDim])])], {
      perm: [2, 0, 3, 1, 4],
    });
    const [q, k, v] = [0, 1, 2].map((i) => g.op('Gather', [qkv5, g.constInt([], [i])], { axis: 0 }));
    const kT = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    const scores = g.matmul(g.op('Mul', [q, g.scalar(S.headDim ** -0.5)]), kT, heads * n * n * S.headDim);
    const attn = g.op('Softmax', [scores], { axis: -1 });
    const ctx = g.op('Reshape', [
      g.op('Transpose', [g.matmul(attn, v, heads * n * n * S.headDim)], { perm: [0, 2, 1, 3] }),
      g.constInt([3], [0, n, x.c]),
    ]);
    const proj = g.linear(ctx, `${prefix}.proj`, { tokens: n, cin: x.c, cout: x.c });
    const back = g.op('Reshape', [
      g.op('Transpose', [proj], { perm: [0, 2, 1] }),
      g.constInt([4], [0, x.c, x.h, x.w]),
    ]);
    return { ...x, name: back };
  };
  /** AttentionBlock: x = x + ls1 * MHSA(BN(x)); x = x + ls2 * ConvFFN(x). */
  const attentionBlock = (x, prefix, mlpRatio) => {
    const normed = g.batchNorm(x, `${prefix}.norm`);
    const a = g.add(x, layerScale(mhsa(normed, `${prefix}.token_mixer`), `${prefix}.layer_scale_1`));
    return g.add(a, layerScale(convFfn(a, `${prefix}.convffn`, a.c * mlpRatio), `${prefix}.layer_scale_2`));
  };
  /** PatchEmbed: ReparamLargeKernelConv (7x7, stride 2, groups = cin, SE optional, GELU) -> MobileOne 1x1. */
  const patchEmbed = (x, prefix, cout, useSe) => {
    let y = g.conv(x, `${prefix}.proj.0.lkb_reparam`, {
      cout,
      k: S.downPatchSize,
      s: S.downStride,
      groups: x.c,
      bn: true,
    });
    if (useSe) y = squeezeExcite(y, `${prefix}.proj.0.se`, makeDivisible(cout * 0.25, 8), meanPool);
    return mobileOne(g.gelu(y), `${prefix}.proj.1`, { cout, k: 1 });
  };

  const summary = [];
  const dims = S.embedDims;
  let x = { name: 'image', c: 3, h: S.imageSize, w: S.imageSize };
  // Convolutional stem: 3x3/2 -> depthwise 3x3/2 -> 1x1, each MobileOne + GELU.
  x = mobileOne(x, `${root}.patch_embed.0`, { cout: dims[0], k: 3, s: 2 });
  x = mobileOne(x, `${root}.patch_embed.1`, { cout: dims[0], k: 3, s: 2, groups: dims[0] });
  x = mobileOne(x, `${root}.patch_embed.2`, { cout: dims[0], k: 1 });
  summary.push({ stage: 'stem', out: [x.c, x.h, x.w] });
  let net = 0;
  for (let i = 0; i < S.layers.length; i++) {
    const kPe = S.posEmbKernel[i];
    if (kPe) {
      // RepCPE, reparameterised: one depthwise 7x7 conv that includes the identity shortcut.
      x = g.conv(x, `${root}.network.${net++}.reparam_conv`, {
        cout: x.c,
        k: kPe,
        groups: x.c,
        weight: nearIdentityDepthwise(g, x.c, kPe, 0.02),
      });
    }
    const stage = `${root}.network.${net++}`;
    for (let b = 0; b < S.layers[i]; b++)
      x =
        S.tokenMixers[i] === 'repmixer'
          ? repMixerBlock(x, `${stage}.${b}`, S.mlpRatios[i])
          : attentionBlock(x, `${stage}.${b}`, S.mlpRatios[i]);
    summary.push({
      stage: i + 1,
      blocks: S.layers[i],
      token_mixer: S.tokenMixers[i],
      pos_emb: kPe ? `RepCPE ${kPe}x${kPe}` : null,
      mlp_hidden: dims[i] * S.mlpRatios[i],
      out: [x.c, x.h, x.w],
    });
    if (i < S.layers.length - 1) {
      x = patchEmbed(x, `${root}.network.${net++}`, dims[i + 1], S.seDownsamples[i + 1]);
      summary.push({
        stage: `downsample ${i + 1}->${i + 2}`,
        se: S.seDownsamples[i + 1],
        out: [x.c, x.h, x.w],
      });
    }
  }
  // conv_exp: MobileOne depthwise-expanding 3x3 (640 -> 1280, groups 640) with SE, then GELU.
  x = mobileOne(x, `${root}.conv_exp`, { cout: dims[3] * S.clsRatio, k: 3, groups: dims[3], se: true });
  summary.push({ stage: 'conv_exp', out: [x.c, x.h, x.w] });
  // head: GlobalPool2D (mean over h, w) @ proj [1280, 512].
  const pooled = g.op('ReduceMean', [x.name], { axes: [2, 3], keepdims: 0 });
  const proj = g.param(
    `${root}.head.proj`,
    [x.c, S.projectionDim],
    g.normal(x.c * S.projectionDim, x.c ** -0.5),
  );
  g.macs += x.c * S.projectionDim;
  g.op('MatMul', [pooled, proj], {}, 'embedding');
  summary.push({ stage: 'head', pool: 'mean', out: [S.projectionDim] });

  const id = 'mobileclip-s2-image-arch';
  const inputs = [valueInfo('image', FLOAT, ['batch', 3, S.imageSize, S.imageSize])];
  const outputs = [valueInfo('embedding', FLOAT, ['batch', S.projectionDim])];
  const { bytes, calibration } = await g.calibratedModel({
    id,
    inputs,
    outputs,
    size: S.imageSize,
    seed,
    metadata: { normalized: 'false', embedding_dim: String(S.projectionDim) },
  });
  return { bytes, params: g.params, buffers: g.buffers, macs: g.macs, summary, calibration };
}

// ---------------------------------------------------------------------------------------------------------------

function isUpToDate(dir, version) {
  if (!FILES.every((f) => existsSync(join(dir, f)))) return false;
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).pitlane_build_version === version;
  } catch {
    return false;
  }
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

function writeBuild(id, dir, bytes, config) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), bytes);
  // config.json last: its stamp marks a complete build.
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

function result(id, dir, built, t0) {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  return {
    id,
    outDir: dir,
    built,
    ms: performance.now() - t0,
    params: config.params,
    gflops: config.gflops,
    files: FILES.map((name) => ({ name, bytes: statSync(join(dir, name)).size })),
  };
}

/**
 * Builds yolo11s-arch into `outDir` unless it is already there at its BUILD_VERSION (or `force`).
 * Resolves to { id, outDir, built, ms, params, gflops, files: [{ name, bytes }] }.
 */
export async function buildYolo11sArch(outDir, { force = false, seed = 1111 } = {}) {
  const id = 'yolo11s-arch';
  const t0 = performance.now();
  const dir = resolve(outDir);
  const version = BUILD_VERSIONS[id];
  let built = false;
  if (force || !isUpToDate(dir, version)) {
    const S = YOLO11S_SHAPE;
    const { bytes, params, macs, convMacs, summary, anchors, calibration } = await buildYolo11sGraph(seed);
    writeBuild(id, dir, bytes, {
      _name: id,
      description: DESCRIPTIONS[id],
      synthetic_weights: true,
      stands_in_for:
        'Ultralytics YOLO11s (yolo11s.pt), exported with `yolo export model=yolo11s.pt format=onnx`',
      pitlane_build_version: version,
      seed,
      model_type: 'yolo11',
      task: 'detect',
      scale: S.scale,
      depth_multiple: S.depthMultiple,
      width_multiple: S.widthMultiple,
      max_channels: S.maxChannels,
      nc: S.nc,
      reg_max: S.regMax,
      strides: S.strides,
      imgsz: S.imgsz,
      params,
      params_official: OFFICIAL[id].params,
      gflops: round((2 * macs) / 1e9, 2),
      gflops_convs: round((2 * convMacs) / 1e9, 2),
      gflops_note:
        'GFLOPs = 2 x multiply-accumulates (Ultralytics convention) at 640x640, batch 1; gflops counts the convolutions and the attention products, gflops_convs only the convolutions (what Ultralytics counts)',
      gflops_official: OFFICIAL[id].gflops,
      official_source: OFFICIAL[id].source,
      weights: {
        init: `He-normal conv weights from the project's seeded PRNG (seed ${seed}); every Conv's BatchNorm calibrated on a synthetic batch (a 1/f picture and uniform noise) and folded into weight and bias (gamma 1, beta 0)`,
        detect_head:
          'Detect.bias_init(): box logits 1.0, class logits log(5 / 80 / (640 / stride)^2); last 1x1 convs N(0, 1 / fan_in)',
        calibrated_batchnorms: calibration.batchNorms,
      },
      preprocessing: 'RGB, letterboxed to 640x640 (pad 114), scaled to [0, 1], NCHW float32',
      output_layout:
        'output0[b, 0:4, a] = box centre x, centre y, width, height in input pixels; output0[b, 4:84, a] = sigmoid class scores; anchors a: 80x80 at stride 8, then 40x40 at stride 16, then 20x20 at stride 32 (no NMS in the graph)',
      anchors,
      names: COCO_CLASSES,
      layers: summary,
      onnx: {
        file: 'model.onnx',
        opset: OPSET,
        inputs: [{ name: 'images', dtype: 'float32', shape: ['batch', 3, S.imgsz, S.imgsz] }],
        outputs: [{ name: 'output0', dtype: 'float32', shape: ['batch', 4 + S.nc, anchors] }],
      },
    });
    built = true;
  }
  return result(id, dir, built, t0);
}

/**
 * Builds mobileclip-s2-image-arch into `outDir` unless it is already there at its BUILD_VERSION (or `force`).
 * Resolves to { id, outDir, built, ms, params, gflops, files: [{ name, bytes }] }.
 */
export async function buildMobileClipS2ImageArch(outDir, { force = false, seed = 2222 } = {}) {
  const id = 'mobileclip-s2-image-arch';
  const t0 = performance.now();
  const dir = resolve(outDir);
  const version = BUILD_VERSIONS[id];
  let built = false;
  if (force || !isUpToDate(dir, version)) {
    const S = MCI2_SHAPE;
    const { bytes, params, buffers, macs, summary, calibration } = await buildMci2Graph(seed);
    writeBuild(id, dir, bytes, {
      _name: id,
      description: DESCRIPTIONS[id],
      synthetic_weights: true,
      stands_in_for: 'Apple MobileCLIP-S2 image encoder (MCi2), reparameterised for inference',
      pitlane_build_version: version,
      seed,
      model_type: 'mobileclip',
      image_encoder: 'mci2',
      image_size: S.imageSize,
      layers: S.layers,
      embed_dims: S.embedDims,
      mlp_ratios: S.mlpRatios,
      token_mixers: S.tokenMixers,
      pos_embs: S.posEmbKernel.map((k) => (k ? `RepCPE(${k}x${k})` : null)),
      se_downsamples: S.seDownsamples,
      head_dim: S.headDim,
      embedding_dim: S.projectionDim,
      normalized: false,
      normalization_note:
        'the embedding is not L2-normalised: the consumer L2-normalises it (as MobileCLIP does)',
      params,
      params_buffers: buffers,
      params_official: OFFICIAL[id].params,
      gflops: round((2 * macs) / 1e9, 2),
      gmacs: round(macs / 1e9, 2),
      gflops_note:
        'GFLOPs = 2 x multiply-accumulates (convolutions, linear layers, attention products) at 256x256, batch 1',
      official_source: OFFICIAL[id].source,
      weights: {
        init: `He-normal conv and linear weights from the project's seeded PRNG (seed ${seed}); every BatchNorm of the training-time model (MobileOne branches, ReparamLargeKernelConv, ConvFFN, attention pre-norm) calibrated on a synthetic batch (a 1/f picture and uniform noise) and folded, gamma 1, beta 0`,
        reparameterised_kernels:
          'RepMixer and RepCPE depthwise kernels: identity + N(0, 0.05) and identity + N(0, 0.02)',
        layer_scale: LAYER_SCALE,
        projection: 'GlobalPool2D proj N(0, 1 / 1280), its own init',
        calibrated_batchnorms: calibration.batchNorms,
      },
      preprocessing:
        'RGB, resized and centre-cropped to 256x256, scaled to [0, 1] (no mean/std), NCHW float32',
      stages: summary,
      onnx: {
        file: 'model.onnx',
        opset: OPSET,
        inputs: [{ name: 'image', dtype: 'float32', shape: ['batch', 3, S.imageSize, S.imageSize] }],
        outputs: [{ name: 'embedding', dtype: 'float32', shape: ['batch', S.projectionDim] }],
      },
    });
    built = true;
  }
  return result(id, dir, built, t0);
}

const BUILDERS = {
  'yolo11s-arch': buildYolo11sArch,
  'mobileclip-s2-image-arch': buildMobileClipS2ImageArch,
};

/** Builds every vision model (or only `only`) into `root`/<id>, one after the other; resolves to their results. */
export async function buildVisionModels(root, { force = false, only } = {}) {
  if (only !== undefined && !BUILDERS[only])
    throw new Error(`unknown model ${only}: expected one of ${VISION_MODEL_IDS.join(', ')}`);
  const results = [];
  for (const id of VISION_MODEL_IDS)
    if (only === undefined || id === only) results.push(await BUILDERS[id](join(root, id), { force }));
  return results;
}

async function main(argv) {
  const here = dirname(fileURLToPath(import.meta.url));
  const usage = 'usage: node scripts/build-vision-models.mjs [--out DIR] [--only ID] [--force]';
  let out = join(here, '..', 'models');
  let force = false;
  let only;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) out = argv[++i];
    else if (argv[i] === '--only' && argv[i + 1]) only = argv[++i];
    else if (argv[i] === '--force') force = true;
    else {
      console.error(`build-vision-models: unknown argument ${argv[i]}\n${usage}`);
      process.exit(2);
    }
  }
  if (only !== undefined && !BUILDERS[only]) {
    console.error(
      `build-vision-models: unknown model ${only} (one of ${VISION_MODEL_IDS.join(', ')})\n${usage}`,
    );
    process.exit(2);
  }
  for (const r of await buildVisionModels(out, { force, only })) {
    console.log(
      `${r.built ? 'built' : 'up to date'}: ${r.id} (${(r.params / 1e6).toFixed(2)}M params, ${r.gflops} GFLOPs) in ${r.outDir} (${(r.ms / 1000).toFixed(2)} s)`,
    );
    for (const f of r.files)
      console.log(`  ${f.name.padEnd(15)} ${(f.bytes / 1048576).toFixed(2).padStart(8)} MiB`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main(process.argv.slice(2));
