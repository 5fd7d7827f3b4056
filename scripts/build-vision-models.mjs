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
// uniform noise, vision-models/calibration.mjs) and is folded into its conv, as a trained network's are, so that
// activations stay of order one through the whole network. Throughput measured on these models is real; their
// outputs are not meaningful (no real detections, no real embeddings).
//
// The builders live in scripts/vision-models/: catalog.mjs (ids, build versions, descriptions, official sizes),
// graph-builder.mjs (GraphBuilder: ONNX nodes, initializers, counts, serialisation), calibration.mjs (the
// synthetic batch and the BatchNorm calibration), yolo11s-graph.mjs and mci2-graph.mjs (the two architectures),
// yolo11s.mjs and mobileclip-s2-image.mjs (each model's folder and config.json), model-folder.mjs (the
// build-unless-current step they share). This file is the entry point: the list of builders and the command line.
//
// Usage: node scripts/build-vision-models.mjs [--out DIR] [--only ID] [--force]
//   DIR defaults to models/; each model goes to DIR/<id>/ (model.onnx + config.json).
// Idempotent: a model whose files exist and whose config.json carries its current BUILD_VERSION is not rebuilt.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VISION_MODEL_IDS } from './vision-models/catalog.mjs';
import { buildMobileClipS2ImageArch } from './vision-models/mobileclip-s2-image.mjs';
import { buildYolo11sArch } from './vision-models/yolo11s.mjs';

export { BUILD_VERSIONS, OFFICIAL, VISION_MODEL_IDS } from './vision-models/catalog.mjs';
export { MCI2_SHAPE } from './vision-models/mci2-graph.mjs';
export { YOLO11S_SHAPE } from './vision-models/yolo11s-graph.mjs';
export { buildMobileClipS2ImageArch, buildYolo11sArch };

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
