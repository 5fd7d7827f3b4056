// The MobileCLIP-S2 image encoder graph: MCi2 (MCI2_SHAPE, a FastViT hybrid) in its reparameterised inference
// form with the GlobalPool2D projection to 512-d, built with synthetic weights calibrated by GraphBuilder. Owns
// the architecture only; mobileclip-s2-image.mjs writes the model folder.
import { FLOAT, valueInfo } from '../onnx-helpers.mjs';
import { GraphBuilder, makeDivisible } from './graph-builder.mjs';

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

// MobileCLIP-S2 image encoder: MCi2 (ml-mobileclip mobileclip/models/mci.py, modules/common/mobileone.py,
// modules/image/replknet.py, modules/image/image_projection.py) after reparameterize_model(): every MobileOne
// block, RepMixer, RepCPE and ReparamLargeKernelConv is one Conv2d with bias; ConvFFN's conv + BatchNorm fold
// into one depthwise Conv2d with bias; the attention stage keeps its BatchNorm2d pre-norm.

/**
 * Layer scale of MCi2's residual branches (initialised at 1e-5 in training; trained values are mostly well below
 * 1): 0.1 keeps the 44-block residual stream of order one with these random weights.
 */
export const LAYER_SCALE = 0.1;

/** A depthwise k x k kernel near the identity (what RepMixer / RepCPE reparameterise to), with noise `std`. */
function nearIdentityDepthwise(g, channels, k, std) {
  const w = g.normal(channels * k * k, std);
  const centre = (k * k) >> 1;
  for (let c = 0; c < channels; c++) w[c * k * k + centre] += 1;
  return w;
}

/** The exported graph and its architecture summary. */
export async function buildMci2Graph(seed) {
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
