// pitlane's side of the ingest suite's preprocessing probe (the Python side is
// baselines/python/ingest/prep_bench.py): the preprocessing `pitlane serve ingest` does for every photo — read
// the file, decode once with shrink-on-load, letterbox to 640 (pad 114) and centre-crop to 256, as RGB bytes for
// COCO-SSD and its backbone embedder — over the photos of a folder, one after another, no inference, no HTTP.
// Prints JSON: images, CPU per image (process CPU time, every thread: libvips' included), median and p90 wall
// time per image. The first 3 images are a warm-up and are not counted.
//   node bench/ingest-prep.mjs --dir FOLDER [--limit N] [--json]
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareImage } from '../dist/inference/vision/image-prep.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    limit: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
if (values.dir === undefined) {
  process.stderr.write('usage: node bench/ingest-prep.mjs --dir FOLDER [--limit N] [--json]\n');
  process.exit(2);
}
const limit = Number(values.limit);
const walk = (d) =>
  readdirSync(d)
    .sort()
    .flatMap((name) => {
      const p = join(d, name);
      return statSync(p).isDirectory() ? walk(p) : /\.(jpe?g|png|webp)$/i.test(name) ? [p] : [];
    });
const all = walk(values.dir);
const files = limit > 0 ? all.slice(0, limit + 3) : all;
if (files.length < 4) {
  process.stderr.write(`${values.dir}: needs at least 4 photos, found ${files.length}\n`);
  process.exit(2);
}

// The service's options for COCO-SSD and mobilenetv2-coco-embed (src/services/ingest/pipeline/ingest-types.ts).
const prepare = async (path) =>
  prepareImage(await readFile(path), { name: path, layout: 'hwc-uint8', maxPixels: 50_000_000 });

for (const f of files.slice(0, 3)) await prepare(f);
const measured = files.slice(3);
const wall = [];
let failed = 0;
const cpu0 = process.cpuUsage();
for (const f of measured) {
  const t = performance.now();
  try {
    await prepare(f);
  } catch {
    failed++;
  }
  wall.push(performance.now() - t);
}
const cpu = process.cpuUsage(cpu0);
wall.sort((a, b) => a - b);
const result = {
  images: measured.length,
  failed,
  cpu_ms_per_image: (cpu.user + cpu.system) / 1000 / measured.length,
  wall_ms_median: wall[Math.floor(wall.length / 2)],
  wall_ms_p90: wall[Math.min(wall.length - 1, Math.ceil(wall.length * 0.9) - 1)],
};
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(
    `${result.images} images: CPU ${result.cpu_ms_per_image.toFixed(1)} ms/image, wall median ${result.wall_ms_median.toFixed(1)} ms, p90 ${result.wall_ms_p90.toFixed(1)} ms\n`,
  );
}
