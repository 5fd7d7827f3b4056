// Memory of `pitlane serve ingest` under one large multipart upload (issue 13, defect 4): starts the service
// (in-process inference, COCO-SSD and its embedder, no faces, no OCR, a fresh SQLite index), warms it up with a
// batch of as many small photos, takes its idle RSS, then uploads FILES files of MB MiB each in one multipart request (streamed
// from disk by the client: fs.openAsBlob) while sampling the service's RSS from /proc every 50 ms. The files are
// valid JPEGs of noise (one image, made distinct by a JPEG comment segment after SOI, so every file has its own
// imohash and is decoded) or, with --kind random, random bytes (refused at the header, never decoded).
// Prints JSON: RSS when ready, idle (after the warm-up), peak and after RSS in MiB, peak / idle, the HTTP status and the answer's counts, and the
// service's temp entries left in os.tmpdir() after the request.
//   node bench/ingest-multipart-memory.mjs [--files 24] [--mb 45] [--kind jpeg|random] [--warmup N] [-- serve flags]
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openAsBlob,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { rssMiB, startServed } from './served-process.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    files: { type: 'string', default: '24' },
    mb: { type: 'string', default: '45' },
    kind: { type: 'string', default: 'jpeg' },
    warmup: { type: 'string' },
  },
});
const count = Number(values.files);
const warmups = Number(values.warmup ?? values.files);
const bytesEach = Math.round(Number(values.mb) * 1048576);

const serviceTemps = () => readdirSync(tmpdir()).filter((n) => n.startsWith('pitlane-ingest-upload-'));

/** A JPEG of noise of about `bytes` bytes (cached under os.tmpdir(): it takes a few seconds to encode). */
async function noiseJpeg(bytes) {
  const cache = join(tmpdir(), `pitlane-bench-noise-${bytes}.jpg`);
  if (existsSync(cache)) return readFileSync(cache);
  // q100 4:4:4 noise is about 2.7 bytes per pixel.
  const pixels = bytes / 2.7;
  const width = Math.round(Math.sqrt(pixels * 1.25));
  const height = Math.round(pixels / width);
  const jpeg = await sharp({
    create: { width, height, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 } },
  })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toBuffer();
  writeFileSync(cache, jpeg);
  return jpeg;
}

/** File i: the base JPEG with a comment segment (FF FE) carrying i right after SOI, or random bytes. */
function variant(base, i, kind = values.kind) {
  if (kind === 'random') {
    const b = Buffer.allocUnsafe(bytesEach);
    for (let o = 0; o < b.length; o += 65536) b.writeUInt32LE((i * 2654435761 + o) >>> 0, o);
    return b;
  }
  const text = Buffer.from(`pitlane bench file ${i}`);
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([base.subarray(0, 2), com, text, base.subarray(2)]);
}

const work = mkdtempSync(join(tmpdir(), 'pitlane-bench-multipart-'));
const dir = join(work, 'files');
mkdirSync(dir);
const base = values.kind === 'random' ? null : await noiseJpeg(bytesEach);
const paths = [];
for (let i = 0; i < count; i++) {
  const p = join(dir, `f${i}.jpg`);
  writeFileSync(p, variant(base, i));
  paths.push(p);
}

const { child, url } = await startServed('ingest', [
  '--no-faces',
  '--no-ocr',
  '--db',
  join(work, 'index.db'),
  ...positionals,
]);

try {
  const temps0 = serviceTemps().length;
  const readyRss = rssMiB(child.pid);
  // Warm-up: the same number of small photos (--warmup N: N of them) (640×480 crops of a real portrait, each its own imohash), so that the
  // idle figure includes what the models need for a batch of this many images; what the big upload adds beyond
  // it is what the size of its files costs.
  const portrait = await sharp(join(ROOT, 'test-data', 'astronaut.png'))
    .resize(640, 480)
    .jpeg()
    .toBuffer();
  const warm = new FormData();
  for (let i = 0; i < count; i++)
    warm.append('file', new Blob([variant(portrait, i, 'jpeg')]), `warm${i}.jpg`);
  await (await fetch(`${url}/ingest/batch`, { method: 'POST', body: warm })).json();
  await new Promise((r) => setTimeout(r, 2000));
  const idle = rssMiB(child.pid);

  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(child.pid))), 50);
  const form = new FormData();
  for (const p of paths) form.append('file', await openAsBlob(p), p.split('/').pop());
  const t0 = performance.now();
  let status;
  let answer;
  try {
    const res = await fetch(`${url}/ingest/batch`, { method: 'POST', body: form });
    status = res.status;
    answer = await res.json();
  } catch (err) {
    status = `client error: ${err.cause?.code ?? err.message}`;
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB(child.pid));
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssMiB(child.pid);
  const r1 = (x) => Math.round(x * 10) / 10;
  process.stdout.write(
    JSON.stringify(
      {
        files: count,
        warmup_images: warmups,
        mib_each: Number(values.mb),
        kind: values.kind,
        status,
        answer:
          answer?.status === 'success'
            ? {
                indexed: answer.indexed.global,
                duplicates: answer.duplicates,
                errors: answer.errors_count,
                reasons: [...new Set(answer.errors.map((e) => e.reason))],
              }
            : answer,
        ready_rss_mib: r1(readyRss),
        idle_rss_mib: r1(idle),
        peak_rss_mib: r1(peak),
        after_rss_mib: r1(after),
        peak_over_idle: Math.round((peak / idle) * 100) / 100,
        seconds_taken_while_other_work_was_running: r1(seconds),
        temp_entries_left: serviceTemps().length - temps0,
      },
      null,
      2,
    ) + '\n',
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}
