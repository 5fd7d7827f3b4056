// prepareImage (decode once with shrink-on-load, letterbox 640 + centre crop 256 as float32 CHW) on one core:
// a 12-megapixel JPEG (dog.jpg upscaled to 4000×3000, quality 90, written to /tmp) and dog.jpg itself (768×576).
// Target: median ≤ 40 ms for the 12 MP JPEG. Also times the steps on their own, and the alternatives the module
// did not take (two separate decodes; decoding at the bare JPEG shrink and resizing both outputs from it).
// One core: sharp.concurrency(1) is set here; libuv's pool must be one thread before Node starts, and taskset pins
// the process to one CPU. Build first (npx tsc -p tsconfig.json), then:
//   UV_THREADPOOL_SIZE=1 taskset -c 0 node bench/image-prep.mjs [--runs 30]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { prepareImage } from '../dist/inference/vision/image-prep.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
const RUNS = Number(values.runs);
sharp.concurrency(1);
// libvips' operation cache would serve repeated runs on the same buffer from memory.
sharp.cache(false);

const DOG = '/usr/share/darknet/data/dog.jpg';
const BIG = '/tmp/pitlane-bench-12mp.jpg';
if (!existsSync(BIG)) {
  writeFileSync(BIG, await sharp(DOG).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer());
}
const inputs = { '12 MP JPEG 4000×3000': readFileSync(BIG), 'dog.jpg 768×576': readFileSync(DOG) };

async function median(fn) {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  // The fastest run too: on a busy machine it shows what the step costs when nothing else competes.
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0] };
}
const fmt = (t) =>
  typeof t === 'number'
    ? `${t.toFixed(1).padStart(6)} ms`
    : `${t.median.toFixed(1).padStart(6)} ms (min ${t.min.toFixed(1)})`;

console.log(
  `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, concurrency ${sharp.concurrency()}, ` +
    `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '(default 4)'}, median of ${RUNS} runs`,
);
for (const [label, bytes] of Object.entries(inputs)) {
  const meta = await sharp(bytes).metadata();
  const s = Math.min(640 / meta.width, 640 / meta.height);
  const [lw, lh] = [Math.round(meta.width * s), Math.round(meta.height * s)];
  const parts = { decode: [], tensors: [] };
  const total = await median(async () => {
    const p = await prepareImage(bytes);
    parts.decode.push(p.decodeMs);
    parts.tensors.push(p.tensorMs);
  });
  const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`\n${label}`);
  console.log(`  prepareImage                          ${fmt(total)}   (target ≤ 40 ms for 12 MP)`);
  console.log(`    header + decode to ${lw}×${lh} raw       ${fmt(mid(parts.decode))}`);
  console.log(`    both tensors from the raw buffer    ${fmt(mid(parts.tensors))}`);
  console.log(`  header only (metadata)                ${fmt(await median(() => sharp(bytes).metadata()))}`);
  const decodeTo = (w, h, opts = {}) =>
    sharp(bytes, { ignoreIcc: true, ...opts })
      .resize(w, h, { fit: 'fill' })
      .raw()
      .toBuffer();
  console.log(`  decode to ${lw}×${lh} alone               ${fmt(await median(() => decodeTo(lw, lh)))}`);
  console.log(
    `  ... applying the ICC profile          ${fmt(await median(() => decodeTo(lw, lh, { ignoreIcc: false })))}`,
  );
  for (const k of [2, 4, 8]) {
    const [w, h] = [Math.ceil(meta.width / k), Math.ceil(meta.height / k)];
    console.log(`  decode resized to 1/${k} (${w}×${h})   ${fmt(await median(() => decodeTo(w, h)))}`);
  }
  console.log(
    `  full decode, no shrink                ${fmt(await median(() => sharp(bytes, { ignoreIcc: true }).raw().toBuffer()))}`,
  );
  // Alternative: two pipelines from the encoded bytes, each decoding the file.
  const twice = () =>
    Promise.all([
      decodeTo(lw, lh),
      sharp(bytes, { ignoreIcc: true }).resize(256, 256, { fit: 'cover' }).raw().toBuffer(),
    ]);
  console.log(`  alternative: two decodes (raw only)   ${fmt(await median(twice))}`);
}
