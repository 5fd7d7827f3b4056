// Does the ingest benchmark's photo corpus (src/lab/photo-corpus/) do what its manifest claims, to the real image
// embedder? Embeds every image in-process as the ingest service does (prepareImage, hwc-uint8, centre crop 256,
// model mobilenetv2-coco-embed from models.yaml) and prints:
//   - the cosine of each near copy to its original (min, median; target: every one ≥ 0.985), and of near copies of
//     one original to each other;
//   - the highest cosines between two distinct originals (top 5 pairs; target: none ≥ 0.97), and how many pairs
//     reach 0.97 and the service's near-duplicate threshold 0.98;
//   - near copies that have a closer image outside their group (≥ 0.98), which a service could name instead;
//   - what a service would report for the corpus uploaded in file-name order (exact by bytes, near when its top-1
//     indexed image is ≥ 0.98), next to what the manifest expects (expectedDuplicates), and how many near copies
//     the load tool's manifest check (ingest-bench) would then count as missed.
// Exits 1 when a target is missed. Build first (npx tsc -p tsconfig.json), then:
//   node bench/photo-corpus-check.mjs [--dir D] [--count 100] [--models models.yaml] [--json out.json]
// Without --dir it makes (or reuses) a corpus of --count images in scratch/photo-corpus-<count>.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalInference } from '../dist/inference/tensor/local-inference.js';
import { loadModelRepository } from '../dist/inference/tensor/model-repository.js';
import { prepareImage } from '../dist/inference/vision/image-prep.js';
import { dot } from '../dist/services/ingest/pipeline/commit.js';
import { openImageEmbedder } from '../dist/services/ingest/vision/image-embedder.js';
import { makePhotoCorpus } from '../dist/lab/photo-corpus/make-corpus.js';
import { expectedDuplicates, groupOf, readPhotoCorpusManifest } from '../dist/lab/photo-corpus/manifest.js';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    count: { type: 'string', default: '100' },
    models: { type: 'string', default: join(ROOT, 'models.yaml') },
    model: { type: 'string', default: 'mobilenetv2-coco-embed' },
    concurrency: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});
const NEAR_TARGET = 0.985;
const ORIGINALS_TARGET = 0.97;
const SERVICE_THRESHOLD = 0.98;

/** A progress line on a terminal; every tenth otherwise. */
function progress(what, done, total) {
  if (process.stderr.isTTY) process.stderr.write(`\r${what}: ${done}/${total}${done === total ? '\n' : ''}`);
  else if (done === total || done % Math.max(1, Math.round(total / 10)) === 0)
    console.error(`${what}: ${done}/${total}`);
}

let dir = values.dir;
if (dir === undefined) {
  dir = join(ROOT, 'scratch', `photo-corpus-${values.count}`);
  const t0 = performance.now();
  const r = await makePhotoCorpus(
    { out: dir, count: Number(values.count), onWarning: (m) => console.error(`warning: ${m}`) },
    ({ done, total }) => progress('making corpus', done, total),
  );
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`corpus ${dir}: ${r.cached ? 'cached' : `made in ${s} s`}`);
}
dir = resolve(dir);
const manifest = await readPhotoCorpusManifest(dir);
const expected = expectedDuplicates(manifest);
const kinds = { original: 0, exact: 0, near: 0 };
for (const i of manifest.images) kinds[i.kind]++;
console.log(
  `${manifest.count} images (${kinds.original} originals, ${kinds.exact} exact, ${kinds.near} near), ` +
    `${(manifest.total_bytes / 1e6).toFixed(1)} MB, ${(manifest.total_bytes / manifest.count / 1e6).toFixed(2)} MB/image`,
);

// The embedder, as serve ingest builds it.
const specs = (await loadModelRepository(resolve(values.models))).filter((s) => s.id === values.model);
if (specs.length === 0) throw new Error(`model '${values.model}' is not in ${values.models}`);
const engine = await createLocalInference(specs);
const embedder = await openImageEmbedder(engine, values.model);
const vectors = new Map();
const sha = new Map();
const t0 = performance.now();
let next = 0;
let done = 0;
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    while (next < manifest.images.length) {
      const image = manifest.images[next++];
      const bytes = await readFile(join(dir, image.file));
      sha.set(image.file, createHash('sha256').update(bytes).digest('hex'));
      const prepared = await prepareImage(bytes, {
        name: image.file,
        layout: embedder.layout,
        cropSize: embedder.inputSize ?? 256,
      });
      vectors.set(image.file, await embedder.embed(prepared));
      progress('embedding', ++done, manifest.images.length);
    }
  }),
);
await engine.close();
const embedS = (performance.now() - t0) / 1000;
console.log(
  `embedded ${done} images in ${embedS.toFixed(1)} s (${((embedS * 1000) / done).toFixed(0)} ms/image)`,
);

const cos = (a, b) => dot(vectors.get(a), vectors.get(b));
const groupMap = groupOf(manifest);
const group = (file) => groupMap.get(file);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};
const f4 = (x) => (Number.isFinite(x) ? x.toFixed(4) : '-');
const byFile = new Map(manifest.images.map((i) => [i.file, i]));

// Exact copies: the same bytes as their original.
const badExact = manifest.images.filter((i) => i.kind === 'exact' && sha.get(i.file) !== sha.get(i.of));
console.log(`exact copies byte-identical to their original: ${kinds.exact - badExact.length}/${kinds.exact}`);

// Near copies: to their original, and to each other within a group.
const near = manifest.images
  .filter((i) => i.kind === 'near')
  .map((i) => ({ file: i.file, of: i.of, edit: i.edit, cos: cos(i.file, i.of) }));
const nearCos = near.map((n) => n.cos);
console.log(
  `near copy → original: min ${f4(Math.min(...nearCos))}, median ${f4(median(nearCos))}, max ${f4(Math.max(...nearCos))} (target ≥ ${NEAR_TARGET})`,
);
for (const n of [...near].sort((a, b) => a.cos - b.cos).slice(0, 3)) {
  console.log(`  ${f4(n.cos)}  ${n.file} ← ${n.of} (${n.edit})`);
}
const siblings = [];
const nearByGroup = new Map();
for (const n of near) nearByGroup.set(n.of, [...(nearByGroup.get(n.of) ?? []), n]);
for (const list of nearByGroup.values()) {
  for (let i = 0; i < list.length; i++)
    for (let j = i + 1; j < list.length; j++) siblings.push(cos(list[i].file, list[j].file));
}
if (siblings.length > 0)
  console.log(
    `near copies of one original, to each other: min ${f4(Math.min(...siblings))} (${siblings.length} pairs)`,
  );

// Originals: pairwise.
const originals = manifest.images.filter((i) => i.kind === 'original').map((i) => i.file);
const pairs = [];
for (let i = 0; i < originals.length; i++) {
  for (let j = i + 1; j < originals.length; j++)
    pairs.push([cos(originals[i], originals[j]), originals[i], originals[j]]);
}
pairs.sort((a, b) => b[0] - a[0]);
const pairCos = pairs.map((p) => p[0]);
const atLeast = (t) => pairCos.filter((c) => c >= t).length;
const crowded = originals.filter((a) =>
  originals.some((b) => a !== b && cos(a, b) >= SERVICE_THRESHOLD),
).length;
console.log(
  `originals, pairwise (${pairs.length} pairs): max ${f4(pairCos[0])}, median ${f4(median(pairCos))}; ` +
    `≥ ${ORIGINALS_TARGET}: ${atLeast(ORIGINALS_TARGET)}, ≥ ${SERVICE_THRESHOLD}: ${atLeast(SERVICE_THRESHOLD)} ` +
    `(${crowded} originals have another original ≥ ${SERVICE_THRESHOLD}) (target: none ≥ ${ORIGINALS_TARGET})`,
);
for (const [c, a, b] of pairs.slice(0, 5)) {
  console.log(`  ${f4(c)}  ${a} [${byFile.get(a).recipe}]`);
  console.log(`          ${b} [${byFile.get(b).recipe}]`);
}

// Near copies whose nearest other image (any order) is outside their group: a service that names its top-1 hit
// could name that one, and the load tool's manifest check would count the copy as missed.
const outranked = near.filter((n) => {
  const own = group(n.file);
  let bestOut = -1;
  for (const other of manifest.images)
    if (group(other.file) !== own) bestOut = Math.max(bestOut, cos(n.file, other.file));
  return bestOut >= SERVICE_THRESHOLD && bestOut > n.cos;
}).length;
console.log(
  `near copies with a closer image ≥ ${SERVICE_THRESHOLD} outside their group: ${outranked}/${near.length}`,
);

// What a service would report, uploading in file-name order one at a time: exact by bytes, else indexed and named
// a near duplicate of its top-1 indexed image when that is ≥ the threshold. Then the load tool's manifest check:
// in a group with near copies, every distinct picture after the first must name a member of its group.
const got = { exact: 0, near: 0, unexpected: 0, missedNear: 0 };
const indexed = [];
const firstOfBytes = new Set();
const nearOf = new Map();
for (const image of manifest.images) {
  const h = sha.get(image.file);
  if (firstOfBytes.has(h)) {
    got.exact++;
    continue;
  }
  firstOfBytes.add(h);
  let best = null;
  for (const other of indexed) {
    const c = cos(image.file, other);
    if (best === null || c > best.c) best = { other, c };
  }
  if (best !== null && best.c >= SERVICE_THRESHOLD) {
    got.near++;
    nearOf.set(image.file, best.other);
    if (group(best.other) !== group(image.file)) got.unexpected++;
  }
  indexed.push(image.file);
}
const groupsWithNear = new Set(near.map((n) => n.of));
for (const g of groupsWithNear) {
  const members = indexed.filter((f) => group(f) === g);
  const lone = members.filter((f) => !nearOf.has(f) || group(nearOf.get(f)) !== g);
  got.missedNear += Math.max(0, lone.length - 1);
}
console.log(
  `a service at ${SERVICE_THRESHOLD} (name order, one at a time) would report ${got.exact} exact and ${got.near} near ` +
    `duplicates (${got.unexpected} of them outside the group); the manifest expects ${expected.exact} and ${expected.near}; ` +
    `the load tool's check would find ${got.missedNear} near cop${got.missedNear === 1 ? 'y' : 'ies'} missed`,
);

const nearOk = near.length === 0 || Math.min(...nearCos) >= NEAR_TARGET;
const originalsOk = pairs.length === 0 || pairCos[0] < ORIGINALS_TARGET;
console.log(
  `targets: near copies ≥ ${NEAR_TARGET}: ${nearOk ? 'met' : 'MISSED'}; originals < ${ORIGINALS_TARGET}: ${originalsOk ? 'met' : 'MISSED'}`,
);
if (values.json !== undefined) {
  await writeFile(
    values.json,
    JSON.stringify(
      {
        dir,
        count: manifest.count,
        total_bytes: manifest.total_bytes,
        near: { min: Math.min(...nearCos), median: median(nearCos), pairs: near },
        originals: {
          pairs: pairs.length,
          max: pairCos[0],
          median: median(pairCos),
          at_least_097: atLeast(0.97),
          at_least_098: atLeast(0.98),
          /** Every pair at or above the target (at most 500), with the originals' recipes. */
          close: pairs
            .filter((p) => p[0] >= ORIGINALS_TARGET)
            .slice(0, 500)
            .map(([c, a, b]) => ({
              cos: c,
              a,
              b,
              a_recipe: byFile.get(a).recipe,
              b_recipe: byFile.get(b).recipe,
            })),
        },
        near_outranked: outranked,
        service: got,
        expected,
      },
      null,
      2,
    ),
  );
}
process.exitCode = nearOk && originalsOk && badExact.length === 0 ? 0 : 1;
