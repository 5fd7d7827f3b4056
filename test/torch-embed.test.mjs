// The Python PyTorch contestant of examples/suites/embeddings.yaml (embeddings/torch-server.py) checked against
// pitlane itself on the real minilm-l6-arch: its WordPiece ids equal pitlane's tokenizer's, its vectors agree with
// `pitlane serve embed` (one by one, as one batch and from concurrent requests), /health says loading then names
// torch, the BLAS and the threads, bad requests are 400s in OpenAI's shape, and --expect-blas refuses another BLAS.
// Needs Debian's python3-torch, python3-onnx, python3-fastapi, python3-uvicorn (scripts/setup-test-deps.sh).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cosine } from '../dist/core/cosine.js';
import { loadWordPieceTokenizer } from '../dist/inference/text/wordpiece-tokenizer.js';
import { ROOT, postJson, run, startService, tempDir } from './helpers.mjs';

const PYTHON = '/usr/bin/python3';
const SUITE_DIR = join(ROOT, 'examples/suites/embeddings');
const SERVER = join(SUITE_DIR, 'torch-server.py');
const MODEL_DIR = join(ROOT, 'models/minilm-l6-arch');
const MAX_LENGTH = 512; // models.yaml's max_sequence_length for minilm-l6-arch

const suiteTexts = (file) =>
  readFileSync(join(SUITE_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l).input);

const LONG_TEXT = 'The quarterly report, once again, was late; nobody knows why. '.repeat(60);

/** Texts where BERT's rules are easy to get wrong. */
const TRICKY = [
  '',
  '   \t\n  ',
  'Crème brûlée in São Paulo, ÅNGSTRÖM naïve façade',
  '我爱北京天安门 and 東京タワー, 안녕하세요 세계',
  'emoji 👍🏽 party 🎉🎉 🫠 ❤️ done',
  'wait...!!! ?!?! (((ok))) --- *** ### $$$ ~~ ^_^ <=> `code`',
  'a'.repeat(150),
  `super${'califragilistic'.repeat(8)}expialidocious and more`,
  'control\u0000chars\u0007here\u000bvt\u000cff\u0085nel\u200bzero-width\u00a0nbsp\ufffdreplacement',
  'ＦＵＬＬ－ＷＩＤＴＨ １２３ ½ ¼ x² ﬁnance',
  'ΟΔΥΣΣΕΥΣ İstanbul Straße',
  'مرحبا بالعالم नमस्ते दुनिया',
  'the [MASK] and [CLS] tokens, <b>html</b> [unknown]',
  LONG_TEXT,
];

/** Token ids from the Python tokenizer (torch_embed/tokenizer.py), one list per text. */
async function pythonIds(texts) {
  const script = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(SUITE_DIR)})`,
    'from pathlib import Path',
    'from torch_embed.tokenizer import WordPieceTokenizer',
    `tok = WordPieceTokenizer.from_file(Path(${JSON.stringify(join(MODEL_DIR, 'tokenizer.json'))}))`,
    'texts = json.load(sys.stdin)',
    `json.dump([tok.encode(t, ${MAX_LENGTH}).ids for t in texts], sys.stdout)`,
  ].join('\n');
  const r = await run(PYTHON, ['-c', script], { input: JSON.stringify(texts) });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Starts torch-server.py on a free port; `listening` resolves with its URL once the port is bound. */
function startTorchServer(args = [], env = {}) {
  const child = spawn(PYTHON, [SERVER, '--port', '0', '--threads', '2', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const listening = new Promise((resolve, reject) => {
    child.stdout.on('data', (b) => {
      stdout += b;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]);
    });
    void exited.then((r) =>
      reject(new Error(`torch-server.py exited before listening: ${JSON.stringify(r)}`)),
    );
  });
  const stop = async () => {
    child.kill('SIGTERM');
    return exited;
  };
  return { child, listening, exited, stop };
}

async function waitHealthy(url) {
  for (;;) {
    const res = await fetch(`${url}/health`);
    if (res.status === 200) return res.json();
    assert.equal(res.status, 503);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const embedOne = async (url, input, extra = {}) => {
  const r = await postJson(`${url}/v1/embeddings`, { model: 'minilm-l6-arch', input, ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
};

describe('the Python torch embeddings contestant', () => {
  const temp = tempDir('pitlane-torch-');

  test('tokenizer: the same ids as pitlane for every suite text and the tricky ones', async () => {
    const texts = [...suiteTexts('texts.jsonl'), ...suiteTexts('queries.jsonl'), ...TRICKY];
    const tokenizer = loadWordPieceTokenizer(join(MODEL_DIR, 'tokenizer.json'));
    const expected = texts.map((t) => tokenizer.encode(t, { maxLength: MAX_LENGTH }).ids);
    const actual = await pythonIds(texts);
    assert.equal(actual.length, texts.length);
    texts.forEach((text, i) =>
      assert.deepEqual(actual[i], expected[i], `text ${i}: ${JSON.stringify(text)}`),
    );
    // The long text was cut at 512 with [SEP] kept; the 150-letter word is one [UNK].
    const long = actual[texts.indexOf(LONG_TEXT)];
    assert.equal(long.length, MAX_LENGTH);
    assert.equal(long.at(-1), tokenizer.vocab.get('[SEP]'));
    assert.deepEqual(actual[texts.indexOf('a'.repeat(150))], [101, tokenizer.unkId, 102]);
  });

  describe('the server', () => {
    let torch;
    let pitlane;
    let torchUrl;
    let pitlaneUrl;
    let firstHealth;
    let loadingEmbed;
    before(async () => {
      torch = startTorchServer(['--expect-blas', 'openblas']);
      pitlane = startService('embed', ['--model', 'minilm-l6-arch', '--log-level', 'warn']);
      torchUrl = await torch.listening;
      // Bound before torch is imported: the model is still loading.
      const res = await fetch(`${torchUrl}/health`);
      firstHealth = { status: res.status, json: await res.json() };
      loadingEmbed = await postJson(`${torchUrl}/v1/embeddings`, { input: 'too early' });
      pitlaneUrl = (await pitlane.ready).url;
    });
    after(async () => {
      await Promise.all([torch?.stop(), pitlane?.stop()]);
    });

    test('/health and /v1/embeddings: 503 while loading, then 200 naming torch, the BLAS and the threads', async () => {
      assert.deepEqual(firstHealth, { status: 503, json: { status: 'loading' } });
      assert.equal(loadingEmbed.status, 503);
      assert.equal(loadingEmbed.json.error.type, 'server_error');
      assert.match(
        loadingEmbed.json.error.message,
        /the model is loading; retry when GET \/health answers 200/,
      );
      const health = await waitHealthy(torchUrl);
      assert.equal(health.status, 'ok');
      assert.match(health.torch, /^1\.13\./);
      assert.match(health.debian_package['python3-torch'], /^1\.13\.1/);
      assert.equal(health.blas.kind, 'openblas');
      assert.match(health.blas.library, /openblas/);
      assert.equal(health.blas.torch_built_with, 'BLAS_INFO=generic'); // Debian's torch: whatever libblas.so.3 is
      assert.deepEqual(health.threads, { intra_op: 2, inter_op: 1, omp_wait_policy: 'PASSIVE' });
      assert.deepEqual([health.layers, health.hidden, health.heads], [6, 384, 12]);
    });

    test('vectors agree with pitlane serve embed (cosine >= 0.999): one by one, as one batch, concurrently', async () => {
      await waitHealthy(torchUrl);
      const texts = [
        ...suiteTexts('texts.jsonl').filter((_, i) => i % 25 === 0),
        ...suiteTexts('queries.jsonl').filter((_, i) => i % 40 === 0),
        TRICKY[2],
        TRICKY[3],
        TRICKY[4],
        LONG_TEXT,
      ];
      const reference = [];
      // pitlane refuses a text over the model's limit unless asked to cut it; torch-server.py cuts it, as
      // sentence-transformers does.
      for (const t of texts) {
        reference.push((await embedOne(pitlaneUrl, t, { truncate: true })).data[0].embedding);
      }
      const check = (vectors, how) =>
        vectors.forEach((v, i) => {
          assert.equal(v.length, 384);
          const c = cosine(v, reference[i]);
          assert.ok(c >= 0.999, `${how}, text ${i} (${JSON.stringify(texts[i]).slice(0, 60)}): cosine ${c}`);
        });

      const single = [];
      for (const t of texts) single.push((await embedOne(torchUrl, t)).data[0].embedding);
      check(single, 'one by one');

      const batch = await embedOne(torchUrl, texts);
      assert.deepEqual(
        batch.data.map((d) => d.index),
        texts.map((_, i) => i),
      );
      assert.equal(batch.model, 'minilm-l6-arch');
      const tokenizer = loadWordPieceTokenizer(join(MODEL_DIR, 'tokenizer.json'));
      const tokens = texts.reduce((n, t) => n + tokenizer.encode(t, { maxLength: MAX_LENGTH }).ids.length, 0);
      assert.deepEqual(batch.usage, { prompt_tokens: tokens, total_tokens: tokens });
      check(
        batch.data.map((d) => d.embedding),
        'as one batch',
      );

      // Concurrent requests are batched together by the server, padded to the longest text among them.
      const concurrent = await Promise.all(texts.map((t) => embedOne(torchUrl, t)));
      check(
        concurrent.map((r) => r.data[0].embedding),
        'concurrently',
      );

      // encoding_format base64: the same float32 vector, little-endian.
      const b64 = await postJson(`${torchUrl}/v1/embeddings`, { input: texts[0], encoding_format: 'base64' });
      assert.equal(b64.status, 200);
      const bytes = Buffer.from(b64.json.data[0].embedding, 'base64');
      const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
      assert.ok(cosine(decoded, single[0]) > 0.999999);
    });

    test('bad requests: 400 in OpenAI error shape naming the field; the server stays up', async () => {
      await waitHealthy(torchUrl);
      const cases = [
        ['not json', null, /body is not JSON/],
        [[1, 2], null, /body must be a JSON object/],
        [{ model: 'minilm-l6-arch' }, 'input', /'input' is required/],
        [{ input: [] }, 'input', /empty array/],
        [{ input: 42 }, 'input', /'input' is int; it must be a string or an array of strings/],
        [{ input: ['ok', 7] }, 'input[1]', /input\[1\] is int, not a string/],
        [{ input: Array(2049).fill('x') }, 'input', /2049 items; at most 2048/],
        [{ input: 'x', model: 3 }, 'model', /'model' must be a string/],
        [{ input: 'x', encoding_format: 'int8' }, 'encoding_format', /'encoding_format' is 'int8'/],
      ];
      for (const [body, param, message] of cases) {
        const res = await fetch(`${torchUrl}/v1/embeddings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
        const json = await res.json();
        assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
        assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
        assert.equal(json.error.type, 'invalid_request_error');
        assert.equal(json.error.param, param);
        assert.match(json.error.message, message);
      }
      assert.equal((await embedOne(torchUrl, 'still serving')).data.length, 1);
    });
  });

  test('--expect-blas mkl: exits 1 naming the BLAS torch calls', async () => {
    const server = startTorchServer(['--expect-blas', 'mkl']);
    const { code, stderr } = await server.exited;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /torch calls the openblas BLAS \(\S*openblas\S*\), not mkl as --expect-blas asks/);
  });

  test('the reference BLAS (what Debian selects without OpenBLAS) with --expect-blas openblas: exits 1 naming it', async () => {
    // The dynamic linker finds libblas.so.3 on LD_LIBRARY_PATH before the alternatives system's choice.
    const server = startTorchServer(['--expect-blas', 'openblas'], {
      LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/blas',
    });
    const { code, stderr } = await server.exited;
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /torch calls the reference BLAS \(\/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\S*\), not openblas/,
    );
    assert.match(stderr, /update-alternatives --display libblas\.so\.3-x86_64-linux-gnu/);
  });

  test('a model file without an initializer the encoder needs: exits 1 naming it', async () => {
    const dir = temp;
    symlinkSync(join(MODEL_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const script = [
      'import onnx, sys',
      'm = onnx.load(sys.argv[1])',
      'keep = [i for i in m.graph.initializer if i.name != "encoder.layer.3.intermediate.dense.bias"]',
      'del m.graph.initializer[:]',
      'm.graph.initializer.extend(keep)',
      'onnx.save(m, sys.argv[2])',
    ].join('\n');
    const made = await run(PYTHON, ['-c', script, join(MODEL_DIR, 'model.onnx'), join(dir, 'model.onnx')]);
    assert.equal(made.code, 0, made.stderr);
    const server = startTorchServer(['--model-dir', dir]);
    const { code, stderr } = await server.exited;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /model\.onnx: initializer encoder\.layer\.3\.intermediate\.dense\.bias is missing/);
  });

  test('--help explains every flag; a bad value is refused', async () => {
    const help = await run(PYTHON, [SERVER, '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const flag of [
      '--port',
      '--model-dir',
      '--threads',
      '--max-batch',
      '--max-length',
      '--expect-blas',
    ]) {
      assert.ok(help.stdout.includes(flag), `${flag} in:\n${help.stdout}`);
    }
    const bad = await run(PYTHON, [SERVER, '--max-batch', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-batch must be at least 1/);
  });
});
