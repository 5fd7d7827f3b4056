// The graph builder shared by the vision stand-ins: GraphBuilder collects ONNX nodes and initializers in
// topological order with the layers the model families are made of (conv with a folded BatchNorm, BatchNorm,
// linear, attention products, SiLU, GELU, split, concat), counts parameters and multiply-accumulates as it goes,
// and serialises the finished ModelProto, after calibrating its BatchNorms (calibration.mjs).
import { attr, floatTensor, FLOAT, int64Tensor, normalArray, onnx } from '../onnx-helpers.mjs';
import { seededRandom } from '../../dist/lab/stats.js';
import {
  BN_EPS,
  calibrate,
  calibrationBatch,
  calibrationEpsilon,
  trainingNormNodes,
} from './calibration.mjs';
import { BUILD_VERSIONS, DESCRIPTIONS, OPSET } from './catalog.mjs';

/** Ultralytics' make_divisible: the smallest multiple of `divisor` not below x. */
export const makeDivisible = (x, divisor) => Math.ceil(x / divisor) * divisor;

/**
 * Collects nodes and initializers in topological order, and counts as it goes: `params` (learned weights, as
 * PyTorch counts them), `buffers` (BatchNorm running statistics) and `macs` (multiply-accumulates of the
 * convolutions and matrix products, per image). A feature map is `{ name, c, h, w }` (batch implicit).
 *
 * Every conv that has a BatchNorm after it in the original (`bn: true`) and every BatchNormalization node has
 * two forms: the inference form that is exported (BN folded into the conv; BatchNormalization with running
 * statistics), and a calibration form that normalises that tensor per channel with the statistics of the batch,
 * as BatchNorm does in training. calibrate() (calibration.mjs) runs the calibration form once and folds the
 * statistics it measured into the inference form.
 */
export class GraphBuilder {
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
    if (this.calibrationInits.length === 0) this.calibrationInits.push(calibrationEpsilon());
    return trainingNormNodes(x, output);
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
   * The finished model: its BatchNorms calibrated on the synthetic batch of two `size` x `size` pictures
   * (calibrationBatch), then the inference form serialised. Returns { bytes, calibration }.
   */
  async calibratedModel({ id, inputs, outputs, size, seed, metadata }) {
    const calibration = await calibrate(this, {
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
