// `pitlane serve embed` as a user runs it: a real process on a real port, the bundled models.yaml, signals.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cosine } from '../dist/core/cosine.js';
import { ROOT, pitlane, pitlaneListing, startService, tempDir } from './helpers.mjs';

/** Starts the server with --json on a free port; `ready` resolves once it prints its ready line. */
const startServer = (args) => startService('embed', args);

async function embed(url, body, path = '/v1/embeddings') {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('pitlane serve embed', () => {
  const temp = tempDir('pitlane-serve-');

  test('serves every bundled text model; SIGTERM stops it with exit 0', async () => {
    const server = startServer([]);
    const ready = await server.ready;
    assert.deepEqual(ready.models, [
      'minilm-l6-arch',
      'minilm-l6-arch-int8',
      'bge-small-en-v1.5-arch',
      'bge-small-en-v1.5-arch-int8',
      'use-lite',
    ]);
    assert.equal((await fetch(`${ready.url}/health`)).status, 200);

    const mini = await embed(ready.url, { model: 'minilm-l6-arch', input: ['a test sentence'] });
    assert.equal(mini.status, 200);
    assert.equal(mini.json.data[0].embedding.length, 384);
    // The int8 models (pitlane quantize, built at install) and the bge-small stand-in serve the same way.
    for (const model of ['minilm-l6-arch-int8', 'bge-small-en-v1.5-arch', 'bge-small-en-v1.5-arch-int8']) {
      const r = await embed(ready.url, { model, input: ['a test sentence'] });
      assert.equal(r.status, 200, model);
      assert.equal(r.json.data[0].embedding.length, 384, model);
    }

    // The real Universal Sentence Encoder: similar sentences are closer than unrelated ones.
    const texts = [
      'The cat sits on the mat.',
      'A cat is sitting on a mat.',
      'Quarterly revenue rose by four percent.',
    ];
    const use = await embed(ready.url, { model: 'use-lite', input: texts });
    assert.equal(use.status, 200);
    const [a, b, c] = use.json.data.map((d) => d.embedding);
    assert.equal(a.length, 512);
    assert.ok(cosine(a, b) > cosine(a, c) + 0.2, `similar ${cosine(a, b)} vs unrelated ${cosine(a, c)}`);
    const tei = await embed(ready.url, { model: 'use-lite', inputs: texts[0] }, '/embed');
    assert.ok(cosine(tei.json[0], a) > 0.99999);
    // USE's graph pools inside and its tokenizer neither places nor decodes tokens: /embed_all and /decode say
    // so (424, as TEI for a model that cannot), /tokenize gives ids and pieces without places.
    const all = await embed(ready.url, { model: 'use-lite', inputs: 'a cat' }, '/embed_all');
    assert.equal(all.status, 424);
    assert.match(all.json.error, /model "use-lite" gives pooled vectors only/);
    const decode = await embed(ready.url, { model: 'use-lite', ids: [1, 2] }, '/decode');
    assert.equal(decode.status, 424);
    assert.match(decode.json.error, /its use tokenizer cannot decode/);
    const tok = await embed(ready.url, { model: 'use-lite', inputs: 'a cat' }, '/tokenize');
    assert.equal(tok.status, 200);
    for (const t of tok.json[0]) assert.deepEqual(Object.keys(t), ['id', 'text', 'special', 'start', 'stop']);
    assert.equal(tok.json[0][0].start, null);

    server.child.kill('SIGTERM');
    const { code, stderr } = await server.exited;
    assert.equal(code, 0, stderr);
  });

  test('a model file that is not ONNX: refuses to start, naming the file (exit 2)', async () => {
    const bad = join(temp, 'broken.onnx');
    writeFileSync(bad, 'this is not a protobuf');
    writeFileSync(
      join(temp, 'models.yaml'),
      `models:\n  broken:\n    name: broken\n    paths: { onnx: broken.onnx, tokenizer: ${join(ROOT, 'models/minilm-l6-arch/tokenizer.json')} }\n`,
    );
    const r = await pitlane(['serve', 'embed', '--port', '0', '--models', join(temp, 'models.yaml')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error PL_ERR_FILE: .*broken\.onnx: is not an ONNX model ONNX Runtime can load/);
  });

  test('a missing model file or an unknown --model: exit 2 with the path', async () => {
    writeFileSync(
      join(temp, 'missing.yaml'),
      'models:\n  gone:\n    name: gone\n    paths: { onnx: nowhere/model.onnx }\n',
    );
    const r = await pitlane(['serve', 'embed', '--port', '0', '--models', join(temp, 'missing.yaml')]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /missing\.yaml:4:\d+ {2}\$\.models\.gone\.paths\.onnx {2}no such file: .*nowhere\/model\.onnx/,
    );
    const u = await pitlane(['serve', 'embed', '--port', '0', '--model', 'bert-huge']);
    assert.equal(u.code, 2);
    assert.match(
      u.stderr,
      /--model bert-huge: not in .*models\.yaml; text-embedding models: minilm-l6-arch, minilm-l6-arch-int8, bge-small-en-v1.5-arch, bge-small-en-v1.5-arch-int8, use-lite/,
    );
    const t = await pitlane(['serve', 'embed', '--port', '0', '--model', 'coco-ssd']);
    assert.equal(t.code, 2);
    assert.match(
      t.stderr,
      /--model coco-ssd: a tensor model, not a text-embedding one; serve it with `pitlane serve models`/,
    );
  });

  test('--help explains every flag', async () => {
    const r = await pitlaneListing(
      ['serve', 'embed', '--help'],
      [
        '--models',
        '--model',
        '--host',
        '--port',
        '--tokenizer-threads',
        '--intra-op-threads',
        '--max-body-mb',
        '--max-client-batch-size',
        '--max-request-tokens',
        '--max-concurrent-requests',
        '--auto-truncate',
        '--max-batch-tokens',
        '--max-batch-requests',
        '--model-id',
        '--hostname',
        '--tokenization-workers',
        '--served-model-name',
        '--json',
      ],
    );
    // The defaults --help shows are the app's defaults.
    const { EMBED_LIMIT_DEFAULTS, DEFAULT_EMBED_BODY_LIMIT_BYTES } =
      await import('../dist/services/embed/app.js');
    const oneLine = r.stdout.replace(/\s+/g, ' ');
    assert.match(
      oneLine,
      new RegExp(`--max-body-mb <mb> .*\\(default: ${DEFAULT_EMBED_BODY_LIMIT_BYTES / 2 ** 20}\\)`),
    );
    assert.match(
      oneLine,
      new RegExp(`--max-client-batch-size <n> .*\\(default: ${EMBED_LIMIT_DEFAULTS.maxClientBatchSize}\\)`),
    );
    assert.match(
      oneLine,
      new RegExp(`--max-request-tokens <n> .*\\(default: ${EMBED_LIMIT_DEFAULTS.maxRequestTokens}\\)`),
    );
    assert.match(
      oneLine,
      new RegExp(
        `--max-concurrent-requests <n> .*\\(default: ${EMBED_LIMIT_DEFAULTS.maxConcurrentRequests}\\)`,
      ),
    );
  });

  test('over-limit requests are refused naming the limit and flag; the server goes on; /info hides absolute paths', async () => {
    const server = startServer([
      '--model',
      'minilm-l6-arch',
      '--max-client-batch-size',
      '4',
      '--max-body-mb',
      '1',
    ]);
    try {
      const { url } = await server.ready;
      const five = ['a', 'b', 'c', 'd', 'e'];
      const tei = await embed(url, { inputs: five }, '/embed');
      assert.equal(tei.status, 422);
      assert.match(
        tei.json.error,
        /^batch size 5 > maximum allowed batch size 4: .*\(--max-client-batch-size\)$/,
      );
      const oai = await embed(url, { input: five });
      assert.equal(oai.status, 400);
      assert.match(oai.json.error.message, /--max-client-batch-size/);
      // 200,000 one-character inputs (800 kB): refused before they are parsed.
      const many = await fetch(`${url}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"inputs":[${'"a",'.repeat(199_999)}"a"]}`,
      });
      assert.equal(many.status, 422);
      assert.match(
        (await many.json()).error,
        /200,002 JSON values; .* at most 4 inputs \(--max-client-batch-size\)/,
      );
      // 3×10^6 of them (12 MB): over the body limit.
      // The rest of the body is read and dropped before the answer, so the client gets it, not a broken pipe.
      const huge = await fetch(`${url}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"input":[${'"a",'.repeat(2_999_999)}"a"]}`,
      });
      assert.equal(huge.status, 413);
      assert.equal(
        (await huge.json()).error.message,
        'the request body is over the limit of 1 MiB (--max-body-mb)',
      );
      const ok = await embed(url, { input: five.slice(0, 4) });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.data.length, 4);
      const info = await (await fetch(`${url}/info`)).json();
      assert.equal(info.model_path, 'models/minilm-l6-arch/model.onnx');
      assert.equal(info.max_client_batch_size, 4);
      assert.ok(!JSON.stringify(info).includes(ROOT), 'no absolute path of the server in /info');
    } finally {
      await server.stop();
    }
  });

  test("--served-model-name: the int8 model answers under its FP32 original's name, as a drop-in does", async () => {
    const server = startServer([
      '--model',
      'minilm-l6-arch-int8',
      '--served-model-name',
      'minilm-l6-arch',
      '--port',
      '0',
    ]);
    try {
      const { url, models } = await server.ready;
      assert.deepEqual(models, ['minilm-l6-arch']);
      const listed = await (await fetch(`${url}/v1/models`)).json();
      assert.deepEqual(
        listed.data.map((m) => m.id),
        ['minilm-l6-arch'],
      );
      assert.equal((await (await fetch(`${url}/info`)).json()).model_id, 'minilm-l6-arch');
      const r = await embed(url, { input: 'hello there', model: 'minilm-l6-arch' });
      assert.equal(r.status, 200);
      assert.equal(r.json.model, 'minilm-l6-arch');
      assert.equal(r.json.data[0].embedding.length, 384);
      const other = await embed(url, { input: 'hello', model: 'minilm-l6-arch-int8' });
      assert.equal(other.status, 404, 'only the served name is known');
    } finally {
      await server.stop();
    }
    // One model served: it runs on the server's thread when its 2 intra-op threads (models.yaml) take every core
    // of this machine, else on a thread of its own; the start-up line says which and why.
    const { stderr } = await server.exited;
    const line = stderr.split('\n').find((l) => l.includes('minilm-l6-arch: onnxruntime-node'));
    assert.ok(line, stderr);
    assert.match(
      line,
      availableParallelism() <= 2
        ? /runs on the server's thread \(instance_kind auto: 2 intra-op threads take all \d+ cores\)/
        : /runs on a thread of its own \(instance_kind auto: 2 intra-op threads leave cores/,
    );
  });

  test("TEI's flag names are the same settings; an unknown or bad one is a usage error naming it", async () => {
    const server = startServer([
      '--model-id',
      'minilm-l6-arch',
      '--hostname',
      '127.0.0.1',
      '--port',
      '0',
      '--max-client-batch-size',
      '2',
      '--max-concurrent-requests',
      '5',
      '--max-batch-tokens',
      '1024',
      '--max-batch-requests',
      '8',
      '--tokenization-workers',
      '0',
      '--auto-truncate',
    ]);
    try {
      const { url, models } = await server.ready;
      assert.deepEqual(models, ['minilm-l6-arch']);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const info = await (await fetch(`${url}/info`)).json();
      assert.equal(info.model_id, 'minilm-l6-arch');
      assert.equal(info.max_client_batch_size, 2);
      assert.equal(info.max_concurrent_requests, 5);
      assert.equal(info.max_batch_tokens, 1024);
      assert.equal(info.max_batch_requests, 8);
      assert.equal(info.tokenization_workers, 0);
      assert.equal(info.auto_truncate, true);
      // --auto-truncate: a text over the model's limit is cut, not refused, when the request does not say.
      const long = Array.from({ length: 700 }, (_, i) => `word${i % 50}`).join(' ');
      assert.equal((await embed(url, { inputs: long }, '/embed')).status, 200);
      assert.equal((await embed(url, { inputs: ['a', 'b', 'c'] }, '/embed')).status, 422);
    } finally {
      await server.stop();
    }
    const usage = [
      [['--revision', 'main'], /unknown option '--revision'/],
      [['--pooling', 'cls'], /unknown option '--pooling'/],
      [
        ['--model', 'minilm-l6-arch', '--max-batch-tokens', '100'],
        /--max-batch-tokens 100 is less than the max_sequence_length of model minilm-l6-arch \(512\)/,
      ],
      [['--hostname', '127.0.0.1', '--host', '0.0.0.0'], /--hostname and --host are one setting/],
      [['--model-id', 'minilm-l6-arch', '--model', 'use-lite'], /--model-id and --model are one setting/],
      [['--auto-truncate', 'maybe'], /--auto-truncate takes true or false, got "maybe"/],
      [
        ['--model', 'minilm-l6-arch', '--model', 'use-lite', '--served-model-name', 'x'],
        /--served-model-name names one model, and 2 are served \(minilm-l6-arch, use-lite\)/,
      ],
    ];
    for (const [args, message] of usage) {
      const r = await pitlane(['serve', 'embed', '--port', '0', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
