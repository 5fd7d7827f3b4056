// `pitlane serve ingest` as a user runs it: a real process on a real port, the bundled real models (COCO-SSD,
// its MobileNetV2 backbone, BlazeFace, PaddleOCR), a real SQLite file, and the real photos of Debian's darknet
// package, plus the astronaut portrait of Debian's python3-skimage (test-data/astronaut.png, unpacked by
// scripts/setup-test-deps.sh: none of the darknet photos shows a face from the front). Also through `pitlane serve models` (KServe v2) with `--inference`, over HTTP and over gRPC.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ROOT, pitlane, postJson, startService, upload, tempDir } from './helpers.mjs';
import {
  DARKNET,
  dogCopies,
  errorTriples,
  flippedGiraffe,
  horsesPng,
  photo,
  photoFolder,
  startIngestOn,
} from './ingest-fixtures.mjs';

const PHOTOS = ['dog', 'person', 'horses', 'giraffe', 'eagle', 'scream'];
const ASTRONAUT = join(ROOT, 'test-data', 'astronaut.png');

const labelsOf = (outcome) => new Set(outcome.detections.map((d) => d.label));

describe('pitlane serve ingest on real photos', () => {
  const temp = tempDir('pitlane-ingest-', () => server?.stop());
  const root = join(temp, 'photos');
  const db = join(temp, 'index.db');
  let server;
  let url;
  const ids = {};
  let textImage;

  before(async () => {
    photoFolder(root, PHOTOS);
    copyFileSync(ASTRONAUT, join(root, 'astronaut.png'));
    textImage = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="200"><rect width="100%" height="100%" fill="white"/>' +
          '<text x="40" y="120" font-family="DejaVu Sans" font-size="64">PITLANE 2026</text></svg>',
      ),
    )
      .jpeg()
      .toBuffer();
    server = startService('ingest', ['--db', db, '--root', root, '--max-batch', '16']);
    url = (await server.ready).url;
  });

  test('GET /health is exactly the documented answer', async () => {
    const res = await fetch(`${url}/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ['api_version', 'service', 'status', 'version']);
    assert.equal(body.status, 'ok');
    assert.equal(body.service, 'pitlane-ingest');
    assert.equal(body.api_version, 'v1');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
  });

  test('a folder of photos by server-side paths: the detector finds what they show; a face in the portrait', async () => {
    const paths = [...PHOTOS.map((p) => join(root, `${p}.jpg`)), join(root, 'astronaut.png')];
    const all = [...PHOTOS, 'astronaut'];
    const { status, json } = await postJson(`${url}/ingest/batch?details=true`, {
      paths,
      enable_faces: true,
    });
    assert.equal(status, 200, JSON.stringify(json));
    const { images, errors, ...summary } = json;
    assert.deepEqual(Object.keys(summary).sort(), [
      'duplicates',
      'errors_count',
      'indexed',
      'near_duplicates',
      'processed',
      'status',
      'total',
      'total_time_ms',
    ]);
    assert.equal(json.status, 'success');
    assert.equal(json.total, all.length);
    assert.equal(json.processed, all.length);
    assert.equal(json.errors_count, 0);
    assert.deepEqual(errors, []);
    assert.equal(json.duplicates, 0);
    assert.equal(json.near_duplicates, 0, 'different photos are not near duplicates of each other');
    assert.equal(json.indexed.global, all.length);
    assert.equal(json.indexed.faces, 1, 'one face: the astronaut');
    assert.equal(typeof json.total_time_ms, 'number');
    const by = Object.fromEntries(
      images.map((o) => [
        o.name
          .split('/')
          .pop()
          .replace(/\.(jpg|png)$/, ''),
        o,
      ]),
    );
    for (const p of all) {
      assert.equal(by[p].status, 'indexed');
      ids[p] = by[p].id;
    }
    for (const l of ['dog', 'bicycle', 'car'])
      assert.ok(labelsOf(by.dog).has(l), `dog.jpg: ${[...labelsOf(by.dog)]}`);
    assert.ok(labelsOf(by.horses).has('horse'), `horses.jpg: ${[...labelsOf(by.horses)]}`);
    assert.ok(labelsOf(by.person).has('person'), `person.jpg: ${[...labelsOf(by.person)]}`);
    assert.ok(labelsOf(by.giraffe).has('giraffe'), `giraffe.jpg: ${[...labelsOf(by.giraffe)]}`);
    assert.ok(labelsOf(by.eagle).has('bird'), `eagle.jpg: ${[...labelsOf(by.eagle)]}`);
    assert.ok(labelsOf(by.astronaut).has('person'), `astronaut.png: ${[...labelsOf(by.astronaut)]}`);
    assert.equal(by.astronaut.faces, 1);
    // person.jpg shows the person from behind: no face.
    assert.equal(by.person.faces, 0);
    assert.equal(by.dog.faces, 0);
    // The dog box is in the lower left of dog.jpg (768x576).
    const dog = by.dog.detections.find((d) => d.label === 'dog');
    assert.ok(dog.box[0] < 384 && dog.box[3] > 288, `dog box ${dog.box}`);

    const image = await (await fetch(`${url}/images/${ids.astronaut}`)).json();
    assert.equal(image.name, join(root, 'astronaut.png'));
    assert.equal(image.format, 'png');
    assert.deepEqual([image.width, image.height], [512, 512]);
    const [face] = image.faces;
    // Eileen Collins' face: centre-right of the upper half of the 512x512 portrait.
    const [x1, y1, x2, y2] = face.box;
    assert.ok(x1 > 120 && x2 < 330 && y1 > 40 && y2 < 220 && x2 - x1 > 60, `face box ${face.box}`);
    assert.ok(face.score > 0.65);
    assert.equal(image.embedding, undefined, 'no embedding unless asked');
  });

  test('an exact copy is a duplicate; a re-encoded smaller copy is a near duplicate; a new photo is neither', async () => {
    const { status, json } = await upload(`${url}/ingest/batch?details=true`, [
      ...(await dogCopies()),
      ['kite.jpg', photo('kite')],
    ]);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.duplicates, 1);
    assert.equal(json.near_duplicates, 1);
    assert.equal(json.indexed.global, 2);
    const [copy, small, fresh] = json.images;
    assert.equal(copy.status, 'duplicate');
    assert.equal(copy.duplicate_of, ids.dog);
    assert.equal(small.status, 'indexed');
    assert.equal(small.near_duplicate_of, ids.dog);
    assert.equal(fresh.near_duplicate_of, null);
    assert.ok(labelsOf(fresh).has('kite'), `kite.jpg: ${[...labelsOf(fresh)]}`);
  });

  test('concurrent batches see each other: the same new photo in two batches at once is indexed once', async () => {
    const bytes = await sharp(photo('giraffe')).rotate(90).jpeg({ quality: 88 }).toBuffer();
    const near = await sharp(bytes).resize(400).jpeg({ quality: 75 }).toBuffer();
    const answers = await Promise.all([
      upload(`${url}/ingest/batch?details=true`, [['giraffe-a.jpg', bytes]]),
      upload(`${url}/ingest/batch?details=true`, [['giraffe-b.jpg', bytes]]),
      upload(`${url}/ingest/batch?details=true`, [['giraffe-small.jpg', near]]),
    ]);
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.json));
    const outcomes = answers.map((a) => a.json.images[0]);
    const copies = outcomes.slice(0, 2);
    assert.deepEqual(copies.map((o) => o.status).sort(), ['duplicate', 'indexed'], JSON.stringify(copies));
    const kept = copies.find((o) => o.status === 'indexed');
    assert.equal(copies.find((o) => o.status === 'duplicate').duplicate_of, kept.id);
    assert.equal(
      answers.reduce((n, a) => n + a.json.duplicates, 0),
      1,
    );
    // The smaller re-encode is a near duplicate of the rotated giraffe whichever batch committed first, or the
    // rotated giraffe is the near duplicate of it: one near duplicate either way.
    assert.equal(
      answers.reduce((n, a) => n + a.json.near_duplicates, 0),
      1,
      JSON.stringify(outcomes),
    );
  });

  test('OCR reads text rendered into an image', async () => {
    const { json } = await upload(`${url}/ingest/batch?details=true`, [['sign.jpg', textImage]], {
      enable_ocr: 'true',
    });
    assert.equal(json.indexed.ocr, 2, JSON.stringify(json));
    const image = await (await fetch(`${url}/images/${json.images[0].id}`)).json();
    assert.deepEqual(
      image.ocr.map((l) => l.text.trim().toUpperCase()),
      ['PITLANE', '2026'],
    );
  });

  test('bad inputs fail alone, with their names and reasons; the rest is indexed', async () => {
    const good = await flippedGiraffe();
    const png = await horsesPng();
    const webp = await sharp(join(DARKNET, 'eagle.jpg'))
      .extract({ left: 100, top: 50, width: 400, height: 300 })
      .webp()
      .toBuffer();
    const truncated = photo('person').subarray(0, 4000);
    // 20000 x 20000 pixels in a few hundred kilobytes: refused from its header, never decoded.
    const bomb = await sharp({
      create: { width: 20000, height: 20000, channels: 3, background: '#808080' },
      limitInputPixels: false,
    })
      .png({ compressionLevel: 9 })
      .toBuffer();
    const files = [
      ['flopped-giraffe.jpg', good],
      ['crop.png', png],
      ['crop.webp', webp],
      ['truncated.jpg', truncated],
      ['empty.jpg', Buffer.alloc(0)],
      ['bomb.png', bomb],
      ['notes.txt', Buffer.from('not an image at all')],
    ];
    const { status, json } = await upload(`${url}/ingest/batch`, files);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.total, 7);
    assert.equal(json.errors_count, 4);
    assert.equal(json.processed, 3);
    assert.equal(json.indexed.global, 3, 'the good JPEG, the PNG and the WebP are indexed');
    assert.deepEqual(errorTriples(json), [
      [3, 'truncated.jpg', 'corrupt'],
      [4, 'empty.jpg', 'empty'],
      [5, 'bomb.png', 'too-many-pixels'],
      [6, 'notes.txt', 'not-an-image'],
    ]);
    for (const e of json.errors) assert.ok(e.message.length > 10);
  });

  test('paths outside the roots are refused per image; too many images are refused whole', async () => {
    const { json } = await postJson(`${url}/ingest/batch`, {
      paths: ['/etc/passwd', join(root, '..', 'index.db'), join(root, 'missing.jpg')],
    });
    assert.deepEqual(
      json.errors.map((e) => [e.index, e.reason]),
      [
        [0, 'outside-roots'],
        [1, 'outside-roots'],
        [2, 'unreadable'],
      ],
    );
    assert.equal(json.indexed.global, 0);
    const many = await postJson(`${url}/ingest/batch`, {
      paths: Array.from({ length: 17 }, (_, i) => `${root}/${i}.jpg`),
    });
    assert.equal(many.status, 413);
    assert.match(many.json.error, /16/);
    const bad = await postJson(`${url}/ingest/batch`, { paths: 'dog.jpg' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /paths/);
  });

  test('search by indexed id, by vector, by uploaded image, with class filters', async () => {
    const byId = await postJson(`${url}/search`, { id: ids.dog, k: 3 });
    assert.equal(byId.status, 200);
    assert.equal(byId.json.hits[0].image.name, 'dog-600-q70.jpg', 'the near copy is the closest other image');
    assert.ok(
      byId.json.hits.every((h) => h.id !== ids.dog),
      'the query image itself is left out',
    );
    const image = await (await fetch(`${url}/images/${ids.horses}?embedding=true`)).json();
    const byVector = await postJson(`${url}/search`, { vector: image.embedding, k: 1 });
    assert.equal(byVector.json.hits[0].id, ids.horses);
    assert.ok(byVector.json.hits[0].score > 0.999);
    const form = await upload(`${url}/search`, [['q.jpg', photo('giraffe')]], {
      k: '5',
      labels: 'giraffe',
    });
    assert.equal(form.status, 200, JSON.stringify(form.json));
    assert.equal(form.json.hits[0].id, ids.giraffe);
    for (const h of form.json.hits) assert.ok(h.image.detections.some((d) => d.label === 'giraffe'));
    const wrong = await postJson(`${url}/search`, { vector: [1, 2, 3] });
    assert.equal(wrong.status, 400);
    assert.match(wrong.json.error, /1280/);
    assert.equal((await fetch(`${url}/images/nope`)).status, 404);
  });

  test('what was acknowledged is there after a restart', async () => {
    const before = await postJson(`${url}/search`, { id: ids.eagle, k: 20 });
    await server.stop();
    server = startService('ingest', ['--db', db, '--root', root, '--max-batch', '16']);
    url = (await server.ready).url;
    const again = await postJson(`${url}/search`, { id: ids.eagle, k: 20 });
    assert.deepEqual(
      again.json.hits.map((h) => h.id),
      before.json.hits.map((h) => h.id),
    );
    const dup = await postJson(`${url}/ingest/batch`, { paths: [join(root, 'eagle.jpg')] });
    assert.equal(dup.json.duplicates, 1);
  });
});

describe('pitlane serve ingest through pitlane serve models (KServe v2)', () => {
  const temp = tempDir('pitlane-ingest-kserve-', async () => {
    await ingest?.stop();
    await models?.stop();
  });
  let models;
  let ingest;

  test('the same detections and embedding as in-process inference', async () => {
    models = startService('models', ['--model', 'coco-ssd', '--model', 'mobilenetv2-coco-embed']);
    const modelsUrl = (await models.ready).url;
    const meta = await (await fetch(`${modelsUrl}/v2/models/coco-ssd`)).json();
    assert.equal(meta.name, 'coco-ssd');
    assert.deepEqual(meta.inputs[0], { name: 'image_tensor', datatype: 'INT32', shape: [-1, -1, -1, 3] });
    ingest = startIngestOn(modelsUrl, join(temp, 'i.db'));
    const url = (await ingest.ready).url;
    const dog = photo('dog');
    const { json } = await upload(`${url}/ingest/batch?details=true`, [['dog.jpg', dog]]);
    assert.equal(json.indexed.global, 1, JSON.stringify(json));
    const labels = labelsOf(json.images[0]);
    for (const l of ['dog', 'bicycle', 'car']) assert.ok(labels.has(l), `${[...labels]}`);
    const faces = await upload(`${url}/ingest/batch`, [['x.jpg', dog]], { enable_faces: 'true' });
    assert.equal(faces.status, 400);
    assert.match(faces.json.error, /face/);
    const metrics = await (await fetch(`${modelsUrl}/metrics`)).text();
    assert.match(metrics, /nv_inference_request_success\{model="coco-ssd",version="1"\} [1-9]/);
  });

  test('over grpc:// the same detections, duplicates and near duplicates as over http://', async () => {
    const ready = await models.ready;
    assert.match(ready.grpc_url, /^grpc:\/\//);
    const files = [
      ['dog.jpg', photo('dog')],
      ['horses.jpg', photo('horses')],
      ['person.jpg', photo('person')],
      ...(await dogCopies()),
    ];
    const answers = [];
    for (const [name, inference] of [
      ['http', ready.url],
      ['grpc', ready.grpc_url],
    ]) {
      const service = startIngestOn(inference, join(temp, `${name}.db`));
      try {
        const { json } = await upload(`${(await service.ready).url}/ingest/batch?details=true`, files);
        answers.push(json);
      } finally {
        await service.stop();
      }
    }
    const [overHttp, overGrpc] = answers;
    assert.equal(overHttp.processed, 5, JSON.stringify(overHttp));
    assert.equal(overHttp.duplicates, 1);
    assert.equal(overHttp.near_duplicates, 1);
    for (const key of ['processed', 'duplicates', 'near_duplicates', 'errors_count', 'indexed']) {
      assert.deepEqual(overGrpc[key], overHttp[key], key);
    }
    const detections = (json) => json.images.map((i) => (i.detections ?? []).map((d) => [d.label, d.box]));
    assert.deepEqual(detections(overGrpc), detections(overHttp));
  });
});

describe('pitlane serve ingest with an --inference URL nothing listens on', () => {
  test('a user error (PL_ERR_UNREACHABLE, exit 2) in one line naming the URL, not an internal error', async () => {
    // A port that was free a moment ago: listened on, then closed.
    const probe = createServer();
    await new Promise((r) => probe.listen(0, '127.0.0.1', r));
    const port = probe.address().port;
    await new Promise((r) => probe.close(r));
    const temp = mkdtempSync(join(tmpdir(), 'pitlane-ingest-unreachable-'));
    try {
      // Over HTTP and over gRPC alike.
      for (const inference of [`http://127.0.0.1:${port}`, `grpc://127.0.0.1:${port}`]) {
        const r = await pitlane([
          'serve',
          'ingest',
          '--inference',
          inference,
          '--no-faces',
          '--no-ocr',
          '--port',
          '0',
          '--db',
          join(temp, 'i.db'),
        ]);
        assert.equal(r.code, 2, r.stderr);
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('error '));
        assert.equal(errors.length, 1, r.stderr);
        assert.match(
          errors[0],
          new RegExp(`^error PL_ERR_UNREACHABLE: --inference ${inference}: cannot reach`),
        );
        assert.doesNotMatch(r.stderr, /PL_ERR_INTERNAL|\n {4}at /);
      }
      const bad = await pitlane(['serve', 'ingest', '--inference', 'ftp://x', '--no-faces', '--no-ocr']);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(
        bad.stderr,
        /--inference ftp:\/\/x: give the KServe v2 server as http:\/\/host:port \(HTTP\) or grpc:\/\/host:port \(gRPC\)/,
      );
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});

describe('pitlane serve ingest with the YOLO11s and MobileCLIP-S2 stand-ins', () => {
  const temp = tempDir('pitlane-ingest-arch-', () => ingest?.stop());
  let ingest;

  test('the YOLO (letterboxed FP32 NCHW, raw output) and CLIP (FP32 crop) paths run end to end', async () => {
    const args = [
      '--detector',
      'yolo11s-arch',
      '--embedder',
      'mobileclip-s2-image-arch',
      '--no-faces',
      '--no-ocr',
    ];
    ingest = startService('ingest', [...args, '--db', join(temp, 'i.db')]);
    const url = (await ingest.ready).url;
    const files = ['dog', 'kite'].map((p) => [`${p}.jpg`, photo(p)]);
    const { status, json } = await upload(`${url}/ingest/batch?details=true`, files);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.indexed.global, 2);
    assert.equal(json.errors_count, 0);
    // Synthetic weights: the detections mean nothing, but they are decoded into COCO labels and source pixels.
    for (const o of json.images) {
      for (const d of o.detections) {
        assert.ok(typeof d.label === 'string' && d.classId >= 0 && d.classId < 80);
        assert.ok(d.box[0] >= 0 && d.box[2] <= 1352 && d.box[1] >= 0 && d.box[3] <= 900);
      }
    }
    const image = await (await fetch(`${url}/images/${json.images[0].id}?embedding=true`)).json();
    assert.equal(image.embedding.length, 512);
    const norm = Math.hypot(...image.embedding);
    assert.ok(Math.abs(norm - 1) < 1e-5, `L2 norm ${norm}`);
  });
});

// Hostile but honest uploads (issue 13, defects 4 and 10): real multipart bodies over real sockets, a service with
// small limits and a temp folder of its own (TMPDIR), checked for leftovers after every request.
describe('pitlane serve ingest under hostile uploads: limits, broken bodies, temp files, failed copies', () => {
  const temp = tempDir('pitlane-ingest-hostile-', () => server?.stop());
  const spoolRoot = join(temp, 'tmp');
  const root = join(temp, 'photos');
  let server;
  let url;
  let port;
  let big;
  let stalePid;
  const BOUNDARY = 'pitlane-test-boundary';

  /** What the service left in its temp folder. */
  const leftovers = () => readdirSync(spoolRoot);
  /** Waits (polling) until the service's temp folder is empty or 30 s have passed; returns what is left. */
  const settled = async () => {
    const deadline = Date.now() + 30_000;
    while (leftovers().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return leftovers();
  };
  const filePart = (field, name, bytes) =>
    Buffer.concat([
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\n` +
          'Content-Type: image/jpeg\r\n\r\n',
      ),
      bytes,
      Buffer.from('\r\n'),
    ]);
  const closing = Buffer.from(`--${BOUNDARY}--\r\n`);

  /**
   * POSTs `chunks` to /ingest/batch over one connection and resolves with the answer (status and parsed JSON) as
   * soon as it arrives, whether or not the service read everything (after a refusal it reads and drops the rest,
   * so that the client sees the answer, not a reset connection). `length`: a Content-Length header (else
   * chunked); `keepOpen`: do not end the request after the chunks (a client that stops sending).
   */
  const post = (chunks, { length, keepOpen = false, contentType } = {}) =>
    new Promise((resolve, reject) => {
      const headers = { 'content-type': contentType ?? `multipart/form-data; boundary=${BOUNDARY}` };
      if (length !== undefined) headers['content-length'] = String(length);
      const req = request(
        { host: '127.0.0.1', port, path: '/ingest/batch', method: 'POST', headers },
        (res) => {
          let body = '';
          res.on('data', (b) => (body += b));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode, headers: res.headers, json: JSON.parse(body) });
          });
        },
      );
      req.on('error', reject);
      req.on('close', () => reject(new Error('the connection closed without an answer')));
      (async () => {
        for (const c of chunks) {
          if (req.destroyed) return;
          if (req.write(c)) continue;
          await new Promise((resolve) => {
            const done = () => {
              req.off('drain', done).off('close', done);
              resolve();
            };
            req.on('drain', done).on('close', done);
          });
        }
        if (!keepOpen) req.end();
      })().catch(reject);
    });

  before(async () => {
    mkdirSync(spoolRoot);
    photoFolder(root, ['giraffe']);
    // A spool folder of a service that was killed (its pid no longer runs): removed when the service starts.
    const dead = spawn(process.execPath, ['-e', '']);
    stalePid = dead.pid;
    await new Promise((r) => dead.on('exit', r));
    mkdirSync(join(spoolRoot, `pitlane-ingest-upload-${stalePid}-abc123`));
    writeFileSync(join(spoolRoot, `pitlane-ingest-upload-${stalePid}-abc123`, '0'), 'left behind');
    // Noise does not compress: about 1.5 MB of JPEG, over the 1 MiB per-file limit.
    big = await sharp({
      create: { width: 1200, height: 1000, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 } },
    })
      .jpeg({ quality: 100 })
      .toBuffer();
    writeFileSync(join(root, 'big.jpg'), big);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = spoolRoot;
    try {
      server = startService('ingest', [
        '--db',
        join(temp, 'index.db'),
        '--root',
        root,
        '--no-faces',
        '--no-ocr',
        '--max-batch',
        '8',
        '--max-file-mb',
        '1',
        '--max-request-mb',
        '4',
      ]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    url = (await server.ready).url;
    port = Number(new URL(url).port);
  });

  test('a spool folder left by a killed service is removed when the service starts', () => {
    assert.ok(big.length > 1024 * 1024, `the big image is ${big.length} bytes`);
    assert.deepEqual(leftovers(), []);
  });

  test('a file over --max-file-mb fails alone, naming the file, its field and the limit; the rest is indexed', async () => {
    const { status, json } = await upload(`${url}/ingest/batch?details=true`, [
      ['dog.jpg', photo('dog')],
      ['big.jpg', big],
      ['eagle.jpg', photo('eagle')],
    ]);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.total, 3);
    assert.equal(json.indexed.global, 2);
    assert.deepEqual(errorTriples(json), [[1, 'big.jpg', 'too-large']]);
    const [{ message }] = json.errors;
    assert.match(message, /^big\.jpg: .*'file1'.* over the limit of 1 MiB \(--max-file-mb\)/);
    assert.deepEqual(
      json.images.map((o) => o.status),
      ['indexed', 'error', 'indexed'],
    );
    assert.deepEqual(leftovers(), [], 'the spooled uploads are removed when the request ends');
  });

  test('a server-side file over --max-file-mb fails alone too', async () => {
    const { status, json } = await postJson(`${url}/ingest/batch`, {
      paths: [join(root, 'big.jpg'), join(root, 'giraffe.jpg')],
    });
    assert.equal(status, 200, JSON.stringify(json));
    assert.deepEqual(
      json.errors.map((e) => [e.index, e.reason]),
      [[0, 'too-large']],
    );
    assert.match(json.errors[0].message, /over the per-file limit of 1 MiB \(--max-file-mb\)/);
    assert.equal(json.indexed.global, 1);
  });

  test('a body over --max-request-mb is refused with 413 naming the limit and the flag, with or without Content-Length', async () => {
    const parts = Array.from({ length: 5 }, (_, i) =>
      filePart(`f${i}`, `p${i}.jpg`, Buffer.alloc(900 * 1024, i)),
    );
    const body = Buffer.concat([...parts, closing]);
    const declared = await post([body], { length: body.length });
    assert.equal(declared.status, 413, JSON.stringify(declared.json));
    assert.match(declared.json.error, /request body is .*MiB; the limit is 4 MiB \(--max-request-mb\)/);
    // Chunked: no Content-Length, the bytes are counted as they arrive; 64 KiB chunks, 6 MiB in all.
    const chunks = [];
    for (let i = 0; i < body.length; i += 64 * 1024) chunks.push(body.subarray(i, i + 64 * 1024));
    chunks.push(...Array.from({ length: 24 }, () => Buffer.alloc(64 * 1024, 7)));
    const counted = await post(chunks, { keepOpen: true });
    assert.equal(counted.status, 413, JSON.stringify(counted.json));
    assert.match(counted.json.error, /request body is over the limit of 4 MiB \(--max-request-mb\)/);
    assert.deepEqual(await settled(), []);
    assert.equal((await fetch(`${url}/health`)).status, 200);
  });

  test('more images than --max-batch: 413 naming the limit and the flag', async () => {
    const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })
      .jpeg()
      .toBuffer();
    const { status, json } = await upload(
      `${url}/ingest/batch`,
      Array.from({ length: 9 }, (_, i) => [`t${i}.jpg`, tiny]),
    );
    assert.equal(status, 413, JSON.stringify(json));
    assert.match(json.error, /8 files \(--max-batch\)/);
    assert.deepEqual(leftovers(), []);
  });

  test('a broken multipart body is a 400 naming the problem, never a 500', async () => {
    const dog = photo('dog');
    const whole = Buffer.concat([filePart('f', 'dog.jpg', dog), closing]);
    const cut = whole.subarray(0, 20_000);
    const cases = [
      ['no boundary', [whole], { length: whole.length, contentType: 'multipart/form-data' }, /boundary/i],
      [
        'another boundary',
        [whole],
        { length: whole.length, contentType: 'multipart/form-data; boundary=other' },
        /multipart/,
      ],
      // All the declared bytes arrive, but the part never ends (the client waits for the answer).
      ['cut mid-part (Content-Length)', [cut], { length: cut.length, keepOpen: true }, /unexpected end/i],
      ['cut mid-part (chunked)', [cut], {}, /unexpected end/i],
      ['not multipart at all', [Buffer.from('x'.repeat(500))], { length: 500 }, /multipart/],
    ];
    for (const [what, chunks, opts, pattern] of cases) {
      const { status, json } = await post(chunks, opts);
      assert.equal(status, 400, `${what}: ${JSON.stringify(json)}`);
      assert.equal(json.status, 'error');
      assert.match(json.error, pattern, what);
    }
    assert.deepEqual(await settled(), []);
  });

  test('the spooled files are removed when the client goes away mid-upload or mid-processing', async () => {
    const dog = photo('dog');
    // Mid-upload: one whole file, then half of the next; wait until the service has spooled something; hang up.
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/ingest/batch',
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    });
    req.on('error', () => {});
    req.write(filePart('a', 'dog.jpg', dog));
    req.write(filePart('b', 'big.jpg', big).subarray(0, 500_000));
    const deadline = Date.now() + 30_000;
    while (leftovers().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(leftovers().length, 1, 'the upload is being spooled');
    req.destroy();
    assert.deepEqual(await settled(), [], 'removed after the client hung up mid-upload');

    // Mid-processing: the whole batch is sent, the client hangs up before the answer.
    const photos = ['person', 'horses', 'giraffe', 'scream'].map((p) => filePart(p, `${p}.jpg`, photo(p)));
    const body = Buffer.concat([...photos, closing]);
    const gone = request({
      host: '127.0.0.1',
      port,
      path: '/ingest/batch',
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': body.length },
    });
    gone.on('error', () => {});
    gone.end(body);
    while (leftovers().length === 0 && Date.now() < deadline + 30_000)
      await new Promise((r) => setTimeout(r, 5));
    gone.destroy();
    assert.deepEqual(await settled(), [], 'removed after the client hung up mid-processing');
    assert.equal((await fetch(`${url}/health`)).status, 200);
  });

  test('two identical corrupt images: both fail with the same reason; no duplicate points at a missing image', async () => {
    const corrupt = photo('person').subarray(0, 6000);
    const good = await sharp(join(DARKNET, 'horses.jpg')).flop().jpeg({ quality: 81 }).toBuffer();
    const { status, json } = await upload(`${url}/ingest/batch?details=true`, [
      ['bad-a.jpg', corrupt],
      ['bad-b.jpg', corrupt],
      ['good.jpg', good],
      ['good-again.jpg', good],
      ['bad-c.jpg', corrupt],
    ]);
    assert.equal(status, 200, JSON.stringify(json));
    assert.deepEqual(errorTriples(json), [
      [0, 'bad-a.jpg', 'corrupt'],
      [1, 'bad-b.jpg', 'corrupt'],
      [4, 'bad-c.jpg', 'corrupt'],
    ]);
    assert.match(json.errors[1].message, /^bad-b\.jpg: .*bad-a\.jpg.*failed/);
    assert.equal(json.duplicates, 1);
    assert.equal(json.processed, 2);
    assert.equal(json.indexed.global, 1);
    const [a, b, g, again, c] = json.images;
    assert.deepEqual(
      [a, b, c].map((o) => [o.status, o.id, o.duplicate_of]),
      [
        ['error', null, null],
        ['error', null, null],
        ['error', null, null],
      ],
    );
    assert.equal(again.status, 'duplicate');
    assert.equal(again.duplicate_of, g.id);
    for (const o of json.images) {
      for (const id of [o.duplicate_of, o.near_duplicate_of]) {
        if (id !== null) assert.equal((await fetch(`${url}/images/${id}`)).status, 200, `${o.name} → ${id}`);
      }
    }
  });
});
