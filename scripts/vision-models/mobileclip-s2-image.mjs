// mobileclip-s2-image-arch: builds the MobileCLIP-S2 image encoder stand-in (mci2-graph.mjs) into its model
// folder, with the config.json that records its architecture, its sizes against the official ones, how its
// weights were made and its preprocessing.
import { DESCRIPTIONS, OFFICIAL, OPSET } from './catalog.mjs';
import { buildMci2Graph, LAYER_SCALE, MCI2_SHAPE } from './mci2-graph.mjs';
import { buildModelFolder, round } from './model-folder.mjs';

/**
 * Builds mobileclip-s2-image-arch into `outDir` unless it is already there at its BUILD_VERSION (or `force`).
 * Resolves to { id, outDir, built, ms, params, gflops, files: [{ name, bytes }] }.
 */
export async function buildMobileClipS2ImageArch(outDir, { force = false, seed = 2222 } = {}) {
  const id = 'mobileclip-s2-image-arch';
  return buildModelFolder(id, outDir, force, async (version) => {
    const S = MCI2_SHAPE;
    const { bytes, params, buffers, macs, summary, calibration } = await buildMci2Graph(seed);
    const config = {
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
    };
    return { bytes, config };
  });
}
