// The model folder of a vision stand-in, DIR/<id>/ with model.onnx and config.json: whether it is already built
// at the current build version, writing it (config.json last, so that its stamp marks a complete build), and the
// result a builder resolves to. buildModelFolder() is the build-unless-current step every model family shares.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUILD_VERSIONS } from './catalog.mjs';

const FILES = ['model.onnx', 'config.json'];

function isUpToDate(dir, version) {
  if (!FILES.every((f) => existsSync(join(dir, f)))) return false;
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).pitlane_build_version === version;
  } catch {
    return false;
  }
}

/** `x` rounded to `digits` decimals (the GFLOPs figures of config.json). */
export const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

function writeBuild(dir, bytes, config) {
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
 * Builds model `id` into `outDir` unless it is already there at its BUILD_VERSION (or `force`): `build(version)`
 * resolves to { bytes, config }, the serialised model and the object written as config.json.
 * Resolves to { id, outDir, built, ms, params, gflops, files: [{ name, bytes }] }.
 */
export async function buildModelFolder(id, outDir, force, build) {
  const t0 = performance.now();
  const dir = resolve(outDir);
  const version = BUILD_VERSIONS[id];
  let built = false;
  if (force || !isUpToDate(dir, version)) {
    const { bytes, config } = await build(version);
    writeBuild(dir, bytes, config);
    built = true;
  }
  return result(id, dir, built, t0);
}
