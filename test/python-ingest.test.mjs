// The Python baseline photo-ingest service (baselines/python/ingest) against pitlane's own `serve ingest`, as
// the benchmark suite runs them: one real `pitlane serve models` (COCO-SSD, MobileNetV2 embedder) on a free port,
// the Python service (Debian's /usr/bin/python3, 2 uvicorn workers) and `pitlane serve ingest --inference` in
// front of it, each with a fresh SQLite file, fed the real photos of Debian's darknet package. The two must
// agree: same ids (imohash), same detections (class, box IoU), same embeddings (cosine), same duplicate, error
// and limit behaviour. A second Python service talks to the same model server over KServe v2 gRPC
// (`--inference grpc://`, grpcio) and must give the same answers as the one over HTTP. Also runs the baseline's
// own unittest suite.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { ROOT, postJson, run, startService, upload } from './helpers.mjs';
import * as fixtures from './ingest-fixtures.mjs';

const SYSTEM_PYTHON = process.env.PITLANE_INGEST_PYTHON ?? '/usr/bin/python3';
const SERVER = join(ROOT, 'baselines', 'python', 'ingest', 'server.py');
const PHOTOS = ['dog', 'eagle', 'giraffe', 'horses', 'kite', 'person', 'scream'];

test('baselines/python/ingest unittest suite passes', async () => {
  const r = await run(SYSTEM_PYTHON, [
    '-m',
    'unittest',
    'discover',
    '-s',
    'baselines/python/ingest',
    '-p',
    'test_*.py',
  ]);
  assert.equal(r.code, 0, r.stderr.split('\n').slice(-40).join('\n'));
  assert.match(r.stderr, /Ran \d+ tests?/);
  assert.doesNotMatch(r.stderr, /Ran 0 tests|skipped/);
});

/** Starts the Python service on a free port; resolves once its listening line is printed. */
function startPython(args) {
  const child = spawn(SYSTEM_PYTHON, [SERVER, '--port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  const listening = new Promise((resolve, reject) => {
    child.stderr.on('data', (b) => {
      stderr += b;
      const m = /listening on (http:\/\/[\d.]+:(\d+)) \(workers (\d+)/.exec(stderr);
      if (m) resolve({ url: m[1], workers: Number(m[3]) });
    });
    void exited.then((r) =>
      reject(new Error(`the Python service exited before listening: ${JSON.stringify(r)}`)),
    );
  });
  return { child, listening, exited };
}

/** GET on a fresh connection (no keep-alive), so that consecutive calls may reach different uvicorn workers. */
function getFresh(url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Waits until /health is 200 on several fresh connections in a row (every worker has loaded its models); also
 * returns the first 503 answer seen while the workers were loading, if the polling caught one. Each connection
 * reaches one of the 2 workers at random: 24 answers in a row from a ready one while the other still loads has a
 * chance of 2^-24 (with 8 it was 1 in 256, and a loaded CI machine met it).
 */
async function untilHealthy(url) {
  const deadline = Date.now() + 30_000;
  let ok = 0;
  let last;
  let loading = null;
  while (ok < 24) {
    if (Date.now() > deadline) throw new Error(`${url}/health never became ready: ${JSON.stringify(last)}`);
    last = await getFresh(`${url}/health`).catch((err) => ({ status: 0, json: String(err) }));
    if (last.status === 200) ok++;
    else {
      ok = 0;
      if (last.status === 503) loading ??= last.json;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { ready: last.json, loading };
}

function iou(a, b) {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  if (inter === 0) return 0;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

const cosine = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

/** A PNG whose header claims width x height, with no pixels: refused from its header. */
function pngHeaderOnly(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey)
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(0))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('the Python baseline ingest service against pitlane serve ingest, one model server', () => {
  const temp = mkdtempSync(join(tmpdir(), 'pitlane-python-ingest-'));
  let models;
  let python;
  let pitlane;
  let pythonGrpc;
  let py; // Python service URL
  let pyGrpc; // Python service over gRPC: URL
  let pl; // pitlane service URL
  let grpcUrl; // the model server's gRPC address, grpc://host:port
  const ids = {};
  let health;

  before(async () => {
    assert.ok(existsSync(SYSTEM_PYTHON), `${SYSTEM_PYTHON} is missing (Debian's python3)`);
    // With --port 0, gRPC listens on a free port too (grpc_url in the ready line).
    models = startService('models', ['--model', 'coco-ssd', '--model', 'mobilenetv2-coco-embed']);
    const modelsReady = await models.ready;
    const modelsUrl = modelsReady.url;
    grpcUrl = `grpc://${new URL(modelsReady.grpc_url).host}`;
    // A 2 MiB per-file limit on both (every darknet photo is under it), so that a test can go over it cheaply.
    python = startPython([
      '--inference',
      modelsUrl,
      '--db',
      join(temp, 'python.db'),
      '--workers',
      '2',
      '--max-file-mb',
      '2',
    ]);
    pythonGrpc = startPython([
      '--inference',
      grpcUrl,
      '--db',
      join(temp, 'python-grpc.db'),
      '--workers',
      '1',
      '--max-file-mb',
      '2',
    ]);
    pitlane = fixtures.startIngestOn(modelsUrl, join(temp, 'pitlane.db'), ['--max-file-mb', '2']);
    const [listening, listeningGrpc, ready] = await Promise.all([
      python.listening,
      pythonGrpc.listening,
      pitlane.ready,
    ]);
    assert.equal(listening.workers, 2);
    py = listening.url;
    pyGrpc = listeningGrpc.url;
    pl = ready.url;
    health = await untilHealthy(py);
    await untilHealthy(pyGrpc);
  });

  after(async () => {
    for (const service of [python, pythonGrpc]) {
      if (service !== undefined && service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGTERM');
        await service.exited;
      }
    }
    await pitlane?.stop();
    await models?.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  test('GET /health: 503 "loading" until the models are read, then exactly the documented answer', async () => {
    const body = { service: 'python-ingest', version: '0.1.0', api_version: 'v1' };
    assert.deepEqual(health.ready, { status: 'ok', ...body });
    // The socket listens before the workers have loaded, so the first poll nearly always sees them loading.
    if (health.loading !== null) assert.deepEqual(health.loading, { status: 'loading', ...body });
    const again = await getFresh(`${py}/health`);
    assert.deepEqual(again, { status: 200, json: health.ready });
    // Each worker process keeps its own counters (the pid label), and whichever worker takes the connection
    // answers: one that has answered nothing yet has no request lines. Every /metrics answer counts, so asking
    // again soon reaches a worker that has.
    const counted = /^python_ingest_requests_total\{route="[^"]+",status="\d{3}",pid="\d+"\} [1-9]\d*$/m;
    let metrics = '';
    for (let i = 0; i < 20 && !counted.test(metrics); i++)
      metrics = await (await fetch(`${py}/metrics`)).text();
    assert.match(metrics, /^python_ingest_images_total\{outcome="indexed",pid="\d+"\} \d+$/m);
    assert.match(metrics, counted);
  });

  test('the darknet photos: same ids, same detections (IoU ≥ 0.9), same embeddings (cosine ≥ 0.99)', async (t) => {
    const files = PHOTOS.map((p) => [`${p}.jpg`, fixtures.photo(p)]);
    const [a, b] = await Promise.all([
      upload(`${py}/ingest/batch?details=true`, files),
      upload(`${pl}/ingest/batch?details=true`, files),
    ]);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(b.status, 200, JSON.stringify(b.json));
    const { images, ...summary } = a.json;
    assert.deepEqual(
      Object.keys(summary).sort(),
      Object.keys(b.json)
        .filter((k) => k !== 'images')
        .sort(),
    );
    assert.deepEqual(
      { ...summary, total_time_ms: 0 },
      {
        status: 'success',
        total: PHOTOS.length,
        processed: PHOTOS.length,
        duplicates: 0,
        errors_count: 0,
        indexed: { global: PHOTOS.length, vehicles: 0, people: 0, faces: 0, ocr: 0 },
        near_duplicates: 0,
        total_time_ms: 0,
        errors: [],
      },
    );
    assert.deepEqual(Object.keys(images[0]).sort(), Object.keys(b.json.images[0]).sort());

    let worst = { iou: 1, where: 'none' };
    const cosines = [];
    for (const [i, photo] of PHOTOS.entries()) {
      const mine = images[i];
      const theirs = b.json.images[i];
      assert.equal(mine.status, 'indexed', photo);
      assert.equal(mine.id, theirs.id, `${photo}: the imohash ids differ`);
      ids[photo] = mine.id;
      // Every confident detection of either service has a twin of the same class in the other's.
      for (const [from, to, who] of [
        [theirs.detections, mine.detections, 'pitlane'],
        [mine.detections, theirs.detections, 'python'],
      ]) {
        for (const d of from.filter((x) => x.score >= 0.6)) {
          const best = Math.max(0, ...to.filter((x) => x.label === d.label).map((x) => iou(d.box, x.box)));
          if (best < worst.iou)
            worst = { iou: best, where: `${photo}.jpg ${d.label} ${d.score.toFixed(3)} (${who})` };
        }
      }
      const [ea, eb] = await Promise.all(
        [py, pl].map(
          async (u) => (await (await fetch(`${u}/images/${mine.id}?embedding=true`)).json()).embedding,
        ),
      );
      assert.equal(ea.length, 1280);
      cosines.push([photo, cosine(ea, eb)]);
    }
    t.diagnostic(
      `worst IoU ${worst.iou.toFixed(4)} (${worst.where}); cosines ${cosines.map(([p, c]) => `${p} ${c.toFixed(5)}`).join(', ')}`,
    );
    assert.ok(
      worst.iou >= 0.9,
      `worst detection IoU between the services: ${worst.iou.toFixed(4)} at ${worst.where}`,
    );
    const low = cosines.filter(([, c]) => !(c >= 0.99));
    assert.deepEqual(low, [], `embedding cosines between the services: ${JSON.stringify(cosines)}`);

    const dog = new Set(images[0].detections.map((d) => d.label));
    for (const l of ['dog', 'bicycle', 'car']) assert.ok(dog.has(l), `dog.jpg: ${[...dog]}`);
    const image = await (await fetch(`${py}/images/${ids.dog}`)).json();
    assert.deepEqual(
      { ...image, ingestedAt: 'T', detections: image.detections.length },
      {
        id: ids.dog,
        imohash: ids.dog,
        name: 'dog.jpg',
        width: 768,
        height: 576,
        format: 'jpeg',
        bytes: files[0][1].length,
        ingestedAt: 'T',
        detections: images[0].detections.length,
        faces: [],
        ocr: [],
        nearDuplicateOf: null,
      },
    );
    assert.match(image.ingestedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(image.embedding, undefined, 'no embedding unless asked');
  });

  test('over grpc://: the same ids, detections, embeddings and duplicates as over http://', async (t) => {
    const files = PHOTOS.map((p) => [`${p}.jpg`, fixtures.photo(p)]);
    const overGrpc = await upload(`${pyGrpc}/ingest/batch?details=true`, files);
    assert.equal(overGrpc.status, 200, JSON.stringify(overGrpc.json));
    assert.equal(overGrpc.json.processed, PHOTOS.length, JSON.stringify(overGrpc.json));
    let worst = { score: 0, box: 0, cosine: 1 };
    for (const [i, photo] of PHOTOS.entries()) {
      const image = overGrpc.json.images[i];
      assert.equal(image.id, ids[photo], `${photo}: the id over gRPC`);
      const [viaGrpc, viaHttp] = await Promise.all(
        [pyGrpc, py].map(async (u) => (await fetch(`${u}/images/${image.id}?embedding=true`)).json()),
      );
      // The same pixels reach the same model server: the same detections, up to float rounding in batches.
      assert.deepEqual(
        viaGrpc.detections.map((d) => d.label),
        viaHttp.detections.map((d) => d.label),
        photo,
      );
      for (const [k, d] of viaGrpc.detections.entries()) {
        const h = viaHttp.detections[k];
        worst.score = Math.max(worst.score, Math.abs(d.score - h.score));
        worst.box = Math.max(worst.box, ...d.box.map((v, j) => Math.abs(v - h.box[j])));
      }
      worst.cosine = Math.min(worst.cosine, cosine(viaGrpc.embedding, viaHttp.embedding));
    }
    t.diagnostic(`gRPC against HTTP: ${JSON.stringify(worst)}`);
    assert.ok(worst.score < 1e-4 && worst.box < 0.5 && worst.cosine > 0.9999, JSON.stringify(worst));

    const copies = await upload(`${pyGrpc}/ingest/batch?details=true`, await fixtures.dogCopies());
    assert.equal(copies.status, 200, JSON.stringify(copies.json));
    const [copy, small] = copies.json.images;
    assert.deepEqual(
      [
        copies.json.duplicates,
        copies.json.near_duplicates,
        copy.status,
        copy.duplicate_of,
        small.near_duplicate_of,
      ],
      [1, 1, 'duplicate', ids.dog, ids.dog],
    );
  });

  test('a model unloaded under the services: the image fails alone, over gRPC with the HTTP status of the refusal', async () => {
    const modelsUrl = (await models.ready).url;
    const embedder = `${modelsUrl}/v2/repository/models/mobilenetv2-coco-embed`;
    const unloaded = await fetch(`${embedder}/unload`, { method: 'POST' });
    assert.equal(unloaded.status, 200, await unloaded.text());
    try {
      const kite = await sharp(join(fixtures.DARKNET, 'kite.jpg'))
        .flip()
        .flop()
        .jpeg({ quality: 77 })
        .toBuffer();
      const answers = {};
      for (const [who, url] of [
        ['http', py],
        ['grpc', pyGrpc],
      ]) {
        const { status, json } = await upload(`${url}/ingest/batch`, [['kite-upside-down.jpg', kite]]);
        assert.equal(status, 200, `${who}: ${JSON.stringify(json)}`);
        assert.deepEqual(fixtures.errorTriples(json), [[0, 'kite-upside-down.jpg', 'inference']], who);
        answers[who] = json.errors[0].message;
      }
      assert.match(answers.http, /model server 503 for 'mobilenetv2-coco-embed': .*not ready/);
      assert.match(
        answers.grpc,
        /model server UNAVAILABLE \(503\) for ModelInfer of 'mobilenetv2-coco-embed': .*not ready/,
      );
    } finally {
      const loaded = await fetch(`${embedder}/load`, { method: 'POST' });
      assert.equal(loaded.status, 200, await loaded.text());
    }
    const again = await upload(`${pyGrpc}/ingest/batch`, [['horses.jpg', fixtures.photo('horses')]]);
    assert.deepEqual([again.status, again.json.errors_count, again.json.duplicates], [200, 0, 1]);
  });

  test('over grpc://: a model the server lacks, or no server, stops the service at start naming it', async () => {
    const db = join(temp, 'refused.db');
    const unknown = await run(SYSTEM_PYTHON, [
      SERVER,
      '--port',
      '0',
      '--inference',
      grpcUrl,
      '--db',
      db,
      '--detector',
      'no-such-ssd',
    ]);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(
      unknown.stderr,
      /--detector no-such-ssd: the model server at grpc:\/\/\S+ does not serve it \(model server NOT_FOUND \(404\) .*no-such-ssd/,
    );
    const closed = await run(SYSTEM_PYTHON, [
      SERVER,
      '--port',
      '0',
      '--inference',
      'grpc://127.0.0.1:1',
      '--db',
      db,
    ]);
    assert.equal(closed.code, 1, closed.stderr);
    assert.match(closed.stderr, /cannot reach the model server at grpc:\/\/127\.0\.0\.1:1 .*--grpc-port/);
    const bad = await run(SYSTEM_PYTHON, [
      SERVER,
      '--port',
      '0',
      '--inference',
      'grpc://127.0.0.1:1/v2',
      '--db',
      db,
    ]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(
      bad.stderr,
      /--inference must be .* such as grpc:\/\/127\.0\.0\.1:8001, got 'grpc:\/\/127\.0\.0\.1:1\/v2'/,
    );
  });

  test('an exact copy is a duplicate, a 600-px q70 re-encode a near duplicate; search finds the near copy', async () => {
    const { status, json } = await upload(`${py}/ingest/batch?details=true`, await fixtures.dogCopies());
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.duplicates, 1);
    assert.equal(json.near_duplicates, 1);
    assert.equal(json.indexed.global, 1);
    const [copy, small] = json.images;
    assert.deepEqual([copy.status, copy.id, copy.duplicate_of], ['duplicate', null, ids.dog]);
    assert.deepEqual([small.status, small.near_duplicate_of], ['indexed', ids.dog]);
    const hits = await postJson(`${py}/search`, { id: ids.dog, k: 3 });
    assert.equal(hits.status, 200, JSON.stringify(hits.json));
    assert.equal(hits.json.hits[0].image.name, 'dog-600-q70.jpg');
    assert.ok(
      hits.json.hits.every((h) => h.id !== ids.dog),
      'the query image itself is left out',
    );
    const wrong = await postJson(`${py}/search`, { vector: [1, 2, 3] });
    assert.equal(wrong.status, 400);
    assert.match(wrong.json.error, /1280/);
  });

  test('a corrupt JPEG, an empty file, a text file and a bomb fail alone; the rest is indexed', async () => {
    const good = await fixtures.flippedGiraffe();
    const png = await fixtures.horsesPng();
    const files = [
      ['flopped-giraffe.jpg', good],
      ['truncated.jpg', fixtures.photo('person').subarray(0, 40000)],
      ['empty.jpg', Buffer.alloc(0)],
      ['notes.txt', Buffer.from('not an image at all')],
      ['bomb.png', pngHeaderOnly(20000, 20000)],
      ['crop.png', png],
    ];
    for (const url of [py, pl]) {
      const { status, json } = await upload(`${url}/ingest/batch`, files);
      assert.equal(status, 200, JSON.stringify(json));
      assert.deepEqual(
        [json.total, json.processed, json.errors_count, json.indexed.global],
        [6, 2, 4, 2],
        `${url}: ${JSON.stringify(json)}`,
      );
      assert.deepEqual(
        fixtures.errorTriples(json),
        [
          [1, 'truncated.jpg', 'corrupt'],
          [2, 'empty.jpg', 'empty'],
          [3, 'notes.txt', 'not-an-image'],
          [4, 'bomb.png', 'too-many-pixels'],
        ],
        url,
      );
      for (const e of json.errors)
        assert.ok(e.message.startsWith(`${e.name}: `) && e.message.length > 20, e.message);
    }
  });

  test('a file over --max-file-mb fails alone; identical corrupt images both fail, neither is a duplicate', async () => {
    // Noise does not compress: about 3.2 MB of JPEG, over the 2 MiB per-file limit.
    const big = await sharp({
      create: { width: 1800, height: 1400, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 } },
    })
      .jpeg({ quality: 100 })
      .toBuffer();
    const corrupt = fixtures.photo('scream').subarray(0, 9000);
    const good = await sharp(join(fixtures.DARKNET, 'eagle.jpg')).flip().jpeg({ quality: 83 }).toBuffer();
    const files = [
      ['bad-a.jpg', corrupt],
      ['big.jpg', big],
      ['bad-b.jpg', corrupt],
      ['good.jpg', good],
      ['good-again.jpg', good],
    ];
    const answers = [];
    for (const url of [py, pl]) {
      const { status, json } = await upload(`${url}/ingest/batch?details=true`, files);
      assert.equal(status, 200, `${url}: ${JSON.stringify(json)}`);
      assert.deepEqual(
        fixtures.errorTriples(json),
        [
          [0, 'bad-a.jpg', 'corrupt'],
          [1, 'big.jpg', 'too-large'],
          [2, 'bad-b.jpg', 'corrupt'],
        ],
        url,
      );
      assert.match(
        json.errors[1].message,
        /^big\.jpg: .*'file1'.* over the limit of 2 MiB \(--max-file-mb\)/,
        url,
      );
      assert.match(json.errors[2].message, /^bad-b\.jpg: .*bad-a\.jpg.*failed/, url);
      assert.deepEqual(
        [json.total, json.processed, json.duplicates, json.errors_count, json.indexed.global],
        [5, 2, 1, 3, 1],
        url,
      );
      assert.deepEqual(
        json.images.map((o) => [o.status, o.duplicate_of === null]),
        [
          ['error', true],
          ['error', true],
          ['error', true],
          ['indexed', true],
          ['duplicate', false],
        ],
        url,
      );
      assert.equal(json.images[4].duplicate_of, json.images[3].id);
      assert.equal((await fetch(`${url}/images/${json.images[3].id}`)).status, 200);
      answers.push(json.images.map((o) => [o.id, o.duplicate_of]));
    }
    assert.deepEqual(answers[0], answers[1], 'the same ids and duplicate links');
  });

  test('limits and refusals: 257 images → 413, faces/OCR → 400, unknown image → 404', async () => {
    const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })
      .jpeg()
      .toBuffer();
    const many = Array.from({ length: 257 }, (_, i) => [`t${i}.jpg`, tiny]);
    for (const url of [py, pl]) {
      const r = await upload(`${url}/ingest/batch`, many);
      assert.equal(r.status, 413, `${url}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.status, 'error');
      assert.match(r.json.error, /256/);
    }
    const faces = await upload(`${py}/ingest/batch`, [['x.jpg', tiny]], { enable_faces: 'true' });
    assert.equal(faces.status, 400);
    assert.match(faces.json.error, /face/);
    const ocr = await upload(`${py}/ingest/batch?enable_ocr=true`, [['x.jpg', tiny]]);
    assert.equal(ocr.status, 400);
    assert.match(ocr.json.error, /OCR/);
    const bad = await upload(`${py}/ingest/batch`, [['x.jpg', tiny]], { box_embeddings: 'maybe' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /box_embeddings/);
    const missing = await fetch(`${py}/images/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { status: 'error', error: "no indexed image has id 'nope'" });
  });

  test('two concurrent batches holding the same new photo: one indexes it, the other finds a duplicate', async () => {
    for (const [i, photo] of ['horses', 'kite', 'eagle'].entries()) {
      const bytes = await sharp(join(fixtures.DARKNET, `${photo}.jpg`))
        .flop()
        .jpeg({ quality: 80 + i })
        .toBuffer();
      const other = await sharp(join(fixtures.DARKNET, `${photo}.jpg`))
        .flip()
        .jpeg({ quality: 80 + i })
        .toBuffer();
      const [a, b] = await Promise.all([
        upload(`${py}/ingest/batch?details=true`, [['same.jpg', bytes]]),
        upload(`${py}/ingest/batch?details=true`, [
          ['other.jpg', other],
          ['same-again.jpg', bytes],
        ]),
      ]);
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.equal(b.status, 200, JSON.stringify(b.json));
      const same = [a.json.images[0], b.json.images[1]];
      assert.deepEqual(same.map((o) => o.status).sort(), ['duplicate', 'indexed'], JSON.stringify(same));
      const indexed = same.find((o) => o.status === 'indexed');
      assert.equal(same.find((o) => o.status === 'duplicate').duplicate_of, indexed.id);
      assert.equal(a.json.duplicates + b.json.duplicates, 1);
      assert.equal(a.json.indexed.global + b.json.indexed.global, 2);
    }
  });

  test('SIGTERM stops the service cleanly: the parent exits 0 and no worker process is left', async () => {
    const pid = python.child.pid;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    assert.ok(children.length >= 2, `worker processes of ${pid}: ${children}`);
    python.child.kill('SIGTERM');
    const { code, signal } = await python.exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    const alive = (p) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 5000;
    while (children.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(children.filter(alive), [], 'orphaned worker processes');
  });
});
