// Builds the int8 versions of the text stand-ins (scripts/build-models.mjs) with `pitlane quantize`'s quantiser
// (dist/inference/onnx/quantize.js: dynamic int8, per-column weight scales, ONNX Runtime's DynamicQuantizeMatMul):
//   minilm-l6-arch-int8          from minilm-l6-arch
//   bge-small-en-v1.5-arch-int8  from bge-small-en-v1.5-arch
// Each folder gets model.onnx, the source's tokenizer.json and vocab.txt, and a config.json saying what it is.
//
// Usage: node scripts/build-quantized-models.mjs [--model ID] [--force]   (after build-models.mjs; ID: an int8 id)
// Idempotent: a folder whose config.json carries QUANTIZED_BUILD_VERSION and the source's current build version
// is left alone.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// This script runs after `npm run build`, so dist/ exists.
import { quantizeOnnxFile } from '../dist/inference/onnx/quantize.js';
import { STAND_INS } from './build-models.mjs';

/** Bump when the quantiser's output for the same source changes: every int8 folder is then rebuilt. */
export const QUANTIZED_BUILD_VERSION = 'int8/1';

/** The int8 models, by id, and the stand-in each is quantised from. */
export const QUANTIZED = Object.freeze({
  'minilm-l6-arch-int8': 'minilm-l6-arch',
  'bge-small-en-v1.5-arch-int8': 'bge-small-en-v1.5-arch',
});

const COPIED = ['tokenizer.json', 'vocab.txt'];
const FILES = ['model.onnx', ...COPIED, 'config.json'];

function isUpToDate(dir, sourceVersion) {
  if (!FILES.every((f) => existsSync(join(dir, f)))) return false;
  try {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    return (
      config.pitlane_build_version === QUANTIZED_BUILD_VERSION &&
      config.source_build_version === sourceVersion
    );
  } catch {
    return false;
  }
}

/**
 * Quantises the stand-in in `sourceDir` (built by build-models.mjs) into `outDir` as the int8 model `id`, unless
 * it is there already. Returns { outDir, built, ms, summary (null when up to date), files: [{ name, bytes }] }.
 */
export async function buildQuantized(id, sourceDir, outDir, { force = false } = {}) {
  const sourceId = QUANTIZED[id];
  if (sourceId === undefined) {
    throw new Error(`build-quantized-models: no int8 model '${id}' (${Object.keys(QUANTIZED).join(', ')})`);
  }
  const source = STAND_INS[sourceId];
  const sourceConfig = JSON.parse(readFileSync(join(sourceDir, 'config.json'), 'utf8'));
  if (sourceConfig.pitlane_build_version !== source.buildVersion) {
    throw new Error(
      `${sourceDir} holds ${sourceConfig.pitlane_build_version}, not ${source.buildVersion}: run scripts/build-models.mjs first`,
    );
  }
  const t0 = performance.now();
  const dir = resolve(outDir);
  let summary = null;
  if (force || !isUpToDate(dir, source.buildVersion)) {
    mkdirSync(dir, { recursive: true });
    summary = await quantizeOnnxFile(join(sourceDir, 'model.onnx'), join(dir, 'model.onnx'));
    for (const f of COPIED) copyFileSync(join(sourceDir, f), join(dir, f));
    const config = {
      ...sourceConfig,
      _name: id,
      description: `int8 dynamic quantisation of ${sourceId} (synthetic weights): ${summary.nodesQuantized} MatMul nodes as ONNX Runtime's DynamicQuantizeMatMul, int8 weights with one scale per output column; throughput is real, vectors are not meaningful`,
      pitlane_build_version: QUANTIZED_BUILD_VERSION,
      source: sourceId,
      source_build_version: source.buildVersion,
      quantization: {
        tool: 'pitlane quantize',
        mode: 'dynamic int8 (activations uint8 at run time)',
        weights: 'int8, symmetric, per output column',
        nodes_quantized: summary.nodesQuantized,
        nodes_kept_fp32: summary.nodesKept,
      },
    };
    // config.json last: its stamp marks a complete build.
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  }
  return {
    outDir: dir,
    built: summary !== null,
    ms: performance.now() - t0,
    summary,
    files: FILES.map((name) => ({ name, bytes: statSync(join(dir, name)).size })),
  };
}

async function main(argv) {
  const models = join(dirname(fileURLToPath(import.meta.url)), '..', 'models');
  const usage = 'usage: node scripts/build-quantized-models.mjs [--model ID] [--force]';
  let force = false;
  let only;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--force') force = true;
    else if (argv[i] === '--model' && argv[i + 1] && QUANTIZED[argv[i + 1]] !== undefined) only = argv[++i];
    else {
      console.error(
        `build-quantized-models: unknown argument ${argv[i]} (models: ${Object.keys(QUANTIZED).join(', ')})\n${usage}`,
      );
      process.exit(2);
    }
  }
  for (const id of only !== undefined ? [only] : Object.keys(QUANTIZED)) {
    const r = await buildQuantized(id, join(models, QUANTIZED[id]), join(models, id), { force });
    const what = r.summary === null ? '' : `, ${r.summary.nodesQuantized} MatMul nodes int8`;
    console.log(
      `${r.built ? 'built' : 'up to date'}: ${id} (from ${QUANTIZED[id]}${what}) in ${r.outDir} (${(r.ms / 1000).toFixed(2)} s)`,
    );
    for (const f of r.files)
      console.log(`  ${f.name.padEnd(15)} ${(f.bytes / 1048576).toFixed(2).padStart(8)} MiB`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main(process.argv.slice(2));
