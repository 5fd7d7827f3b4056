// `pitlane ingest-bench`, the batch-ingest load tool, as a user runs it: Go-style flags, against a real
// `pitlane serve ingest` process (real models, real SQLite file) over real photos with a corpus manifest; and
// what it does when the folder is wrong, nothing listens, batches fail with 5xx, or the service dies mid-run.
// The 5xx server is a fault injection (a service answering 503 cannot be caused on demand otherwise).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { PITLANE, ROOT, pitlane, pitlaneListing, startService, tempDir } from './helpers.mjs';
import { DARKNET, photoFolder } from './ingest-fixtures.mjs';

/** A free port nobody listens on. */
async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

describe('pitlane ingest-bench', () => {
  const temp = tempDir('pitlane-ingest-bench-', () => service?.stop());
  const photos = join(temp, 'photos');
  /** The photos, one image a batch and one worker: each batch's fate is one image's. */
  const oneImageABatch = ['-dir', photos, '-batch', '1', '-workers', '1'];
  let service;
  let port;

  before(async () => {
    photoFolder(photos, ['dog', 'horses', 'giraffe', 'eagle', 'kite', 'person']);
    copyFileSync(join(DARKNET, 'dog.jpg'), join(photos, 'IMG_9001.jpg'));
    writeFileSync(
      join(photos, 'horses-small.jpg'),
      await sharp(join(DARKNET, 'horses.jpg')).resize(500).jpeg({ quality: 72 }).toBuffer(),
    );
    writeFileSync(join(photos, 'broken.jpg'), Buffer.from('not a photo at all'));
    const image = (file, kind, of = null) => ({ file, kind, of });
    writeFileSync(
      join(photos, 'manifest.json'),
      JSON.stringify({
        version: 1,
        images: [
          ...['dog', 'horses', 'giraffe', 'eagle', 'kite', 'person'].map((p) =>
            image(`${p}.jpg`, 'original'),
          ),
          image('IMG_9001.jpg', 'exact', 'dog.jpg'),
          image('horses-small.jpg', 'near', 'horses.jpg'),
        ],
      }),
    );
    service = startService('ingest', ['--db', join(temp, 'index.db'), '--no-faces', '--no-ocr']);
    port = new URL((await service.ready).url).port;
  });

  test('-help lists every flag with its default, Go style', async () => {
    const flags = ['-dir', '-workers', '-batch', '-queue', '-report', '-faces', '-ocr', '-port', '-url'];
    const r = await pitlaneListing(
      ['ingest-bench', '-help'],
      flags.map((flag) => `  ${flag}`),
    );
    assert.match(r.stdout, /-workers int\n\s+.*\(default 16\)/);
    assert.match(r.stdout, /-batch int\n\s+.*\(default 64\)/);
  });

  test('bad flags and folders are refused with what is wrong, exit 2', async () => {
    const cases = [
      [['ingest-bench'], /-dir is required/],
      [['ingest-bench', '-dir', photos, '-workers', 'many'], /invalid value "many" for flag -workers/],
      [['ingest-bench', '-dir', photos, '-bogus'], /flag provided but not defined: -bogus/],
      [['ingest-bench', '-dir', photos, '-faces', 'false'], /unexpected arguments: false/],
      [['ingest-bench', '-dir', join(temp, 'nope')], /nope: no such folder/],
      [['ingest-bench', '-dir', join(ROOT, 'schemas')], /holds no JPEG, PNG or WebP images/],
    ];
    for (const [args, message] of cases) {
      const r = await pitlane(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('the guide’s flags against pitlane serve ingest: counts, errors, and the manifest check', async () => {
    const out = join(temp, 'results.json');
    const r = await pitlane([
      'ingest-bench',
      '-dir',
      photos,
      '-workers',
      '2',
      '-batch',
      '3',
      '-queue',
      '4',
      '-report',
      '1',
      '-faces=false',
      '-ocr=false',
      '-port',
      port,
      '-out',
      out,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const res = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(res.images.found, 9);
    assert.equal(res.images.answered, 9);
    assert.equal(res.images.errors, 1);
    assert.equal(res.images.processed, 8);
    assert.deepEqual(res.errors_by_reason, { 'not-an-image': 1 });
    assert.equal(res.batches.ok, 3);
    assert.equal(res.batches.failed, 0);
    assert.equal(res.duplicates, 1);
    assert.equal(res.near_duplicates, 1);
    assert.equal(res.indexed.global, 7);
    assert.equal(res.batch_latencies_ms.length, 3);
    assert.ok(res.batch_latency_ms.p50 > 0 && res.batch_latency_ms.p99 >= res.batch_latency_ms.p50);
    assert.ok(res.images_per_s > 0);
    assert.equal(res.complete, true);
    assert.equal(res.check.basis, 'per_image');
    assert.deepEqual(res.check.expected, { exact: 1, near: 1 });
    assert.deepEqual(res.check.found, { exact: 1, near: 1 });
    assert.equal(res.check.correct, true);
    const dog = res.outcomes.find((o) => o.name === 'dog.jpg' || o.name === 'IMG_9001.jpg');
    assert.ok(dog.detections.some((d) => d.label === 'dog') || dog.status === 'duplicate');
    assert.match(r.stdout, /throughput\s+[0-9.]+ images\/s/);
    assert.match(r.stdout, /vs manifest\s+correct/);
  });

  test('a service that misses a known copy is marked incorrect (exit 3)', async () => {
    // A manifest that claims the eagle is a near copy of the giraffe: no honest service reports that.
    const pair = photoFolder(join(temp, 'pair'), ['giraffe', 'eagle']);
    writeFileSync(
      join(pair, 'manifest.json'),
      JSON.stringify({
        images: [
          { file: 'giraffe.jpg', kind: 'original', of: null },
          { file: 'eagle.jpg', kind: 'near', of: 'giraffe.jpg' },
        ],
      }),
    );
    const fresh = startService('ingest', ['--db', join(temp, 'pair.db'), '--no-faces', '--no-ocr']);
    try {
      const freshPort = new URL((await fresh.ready).url).port;
      const r = await pitlane(['ingest-bench', '-dir', pair, '-port', freshPort, '-json']);
      assert.equal(r.code, 3, r.stderr);
      const res = JSON.parse(r.stdout);
      assert.equal(res.complete, true);
      assert.equal(res.check.correct, false);
      assert.deepEqual(res.check.expected, { exact: 0, near: 1 });
      assert.deepEqual(res.check.found, { exact: 0, near: 0 });
      assert.equal(res.check.missed_near.length, 1);
    } finally {
      await fresh.stop();
    }
  });

  test('nothing listening: the run ends at once, partial and marked so (exit 3)', async () => {
    const r = await pitlane(['ingest-bench', '-dir', photos, '-port', String(await closedPort()), '-json']);
    assert.equal(r.code, 3, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.complete, false);
    assert.match(
      res.stopped_because,
      /could not connect to http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED|refused or dropped 3 connections in a row/,
    );
    assert.ok(res.failed_batches_by_cause.connect >= 1);
    assert.equal(res.images.processed, 0);
  });

  test('batches answered 5xx are counted as failed and the run goes on (exit 3)', async () => {
    let n = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        n++;
        if (n % 2 === 0) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end('{"status":"error","error":"index unavailable"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: 'success',
            total: 1,
            processed: 1,
            duplicates: 0,
            errors_count: 0,
            indexed: { global: 1 },
            near_duplicates: 0,
          }),
        );
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await pitlane([
        'ingest-bench',
        ...oneImageABatch,
        '-url',
        `http://127.0.0.1:${server.address().port}`,
        '-manifest',
        'none',
        '-json',
      ]);
      assert.equal(r.code, 3, r.stderr);
      const res = JSON.parse(r.stdout);
      assert.equal(res.complete, true);
      assert.equal(res.batches.ok, 5);
      assert.equal(res.batches.failed, 4);
      assert.deepEqual(res.failed_batches_by_cause, { 503: 4 });
      assert.equal(res.images.in_failed_batches, 4);
      assert.match(res.first_errors[0], /HTTP 503: .*index unavailable/);
      assert.equal(res.check, null);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('the service dies mid-run: partial results, marked, no hang', async () => {
    const victim = startService('ingest', ['--db', join(temp, 'victim.db'), '--no-faces', '--no-ocr']);
    const victimPort = new URL((await victim.ready).url).port;
    const child = spawn(
      process.execPath,
      [PITLANE, 'ingest-bench', ...oneImageABatch, '-report', '1', '-port', victimPort, '-json'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => {
      stderr += b;
      // Kill the service once a progress line shows an answered image.
      if (/\] [1-9][0-9]* images/.test(stderr)) victim.child.kill('SIGKILL');
    });
    const code = await new Promise((r) => child.on('exit', r));
    await victim.exited;
    assert.equal(code, 3, stderr);
    const res = JSON.parse(stdout);
    assert.equal(res.complete, false);
    assert.ok(res.images.answered >= 1 && res.images.answered < 9, JSON.stringify(res.images));
    assert.ok(res.batches.failed >= 1);
    assert.match(res.stopped_because ?? res.first_errors.join(' '), /refused|dropped|connect/);
  });
});
