// The embeddings API as a TypeScript/JavaScript user would write it today: node:http plus the
// @huggingface/transformers `feature-extraction` pipeline (mean pooling, L2 normalisation), called once per
// request, no batching across requests. POST /v1/embeddings takes and answers the OpenAI shape; GET /health is
// 503 until the model is loaded, then 200.
//   node transformers-server.mjs --port 8080 [--model-dir DIR] [--threads 2] [--max-length 512]
//
// transformers.js loads a model folder laid out like a Hugging Face repository (onnx/model.onnx,
// tokenizer.json, tokenizer_config.json, config.json). pitlane's model folder is flat and has no
// tokenizer_config.json, so at start this builds such a folder in a temporary directory from symlinks to the
// real files and a written BERT tokenizer_config.json (deleted at exit). transformers.js truncates at
// tokenizer_config's `model_max_length` and ignores tokenizer.json's `truncation`, so `--max-length` is what
// this contestant truncates at (default 512, as in the real all-MiniLM-L6-v2 repository).
// ONNX Runtime threads are set through the pipeline's `session_options`, which transformers.js passes
// unchanged to InferenceSession.create (src/models/session.js).
import http from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { env, pipeline } from '@huggingface/transformers';

const HERE = dirname(fileURLToPath(import.meta.url));
const MODEL_ID = 'minilm-l6-arch';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const port = Number(arg('port', process.env.PORT ?? 8080));
const modelDir = resolve(arg('model-dir', join(HERE, '../../../models/minilm-l6-arch')));
const threads = Number(arg('threads', 2));
const maxLength = Number(arg('max-length', 512));

/** A Hugging Face style folder `<tmp>/minilm-l6-arch/` pointing at the files of `dir`. */
function hubLayout(dir) {
  const root = mkdtempSync(join(tmpdir(), 'pitlane-tjs-'));
  const repo = join(root, MODEL_ID);
  mkdirSync(join(repo, 'onnx'), { recursive: true });
  symlinkSync(join(dir, 'model.onnx'), join(repo, 'onnx', 'model.onnx'));
  symlinkSync(join(dir, 'tokenizer.json'), join(repo, 'tokenizer.json'));
  symlinkSync(join(dir, 'config.json'), join(repo, 'config.json'));
  writeFileSync(
    join(repo, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer', // transformers.js picks its class by this name (token_type_ids on)
      do_lower_case: true,
      model_max_length: maxLength,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
      clean_up_tokenization_spaces: true,
      strip_accents: null,
      tokenize_chinese_chars: true,
    }),
  );
  return root;
}

const layoutRoot = hubLayout(modelDir);
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = layoutRoot;
env.useFSCache = false;

/** The pipeline, once loaded and warmed up; until then /health answers 503. */
let extractor = null;

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function badRequest(res, message) {
  send(res, 400, { error: { message, type: 'invalid_request_error' } });
}

async function embed(req, res, raw) {
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return badRequest(res, 'body is not JSON');
  }
  const input = body?.input;
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
    return badRequest(res, '`input` must be a string or a non-empty array of strings');
  }
  const output = await extractor(texts, { pooling: 'mean', normalize: true });
  const vectors = output.tolist();
  let tokens = 0;
  for (const t of texts) tokens += Math.min(extractor.tokenizer.encode(t).length, maxLength);
  send(res, 200, {
    object: 'list',
    data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model: typeof body.model === 'string' ? body.model : MODEL_ID,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    return extractor ? send(res, 200, { status: 'ok' }) : send(res, 503, { status: 'loading' });
  }
  if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
    return send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (!extractor) return send(res, 503, { error: { message: 'model is loading' } });
    embed(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
      process.stderr.write(`embeddings request failed: ${err?.stack ?? err}\n`);
      if (!res.headersSent) send(res, 500, { error: { message: String(err?.message ?? err) } });
    });
  });
});
server.keepAliveTimeout = 65_000;
server.on('error', (err) => {
  process.stderr.write(`cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
  rmSync(layoutRoot, { recursive: true, force: true });
  process.exit(1);
});
server.listen(port, '127.0.0.1');

let loading = null;
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeIdleConnections();
    rmSync(layoutRoot, { recursive: true, force: true });
    Promise.resolve(loading)
      .then((loaded) => loaded?.dispose())
      .catch(() => {})
      .finally(() => process.exit(0));
  });
}

try {
  loading = pipeline('feature-extraction', MODEL_ID, {
    device: 'cpu',
    dtype: 'fp32',
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' },
  });
  const loaded = await loading;
  // One run so that the first request does not pay for ONNX Runtime's lazy allocations.
  await loaded('warm up', { pooling: 'mean', normalize: true });
  extractor = loaded;
} catch (err) {
  if (!stopping) {
    process.stderr.write(`cannot load the model from ${modelDir}: ${err?.stack ?? err}\n`);
    rmSync(layoutRoot, { recursive: true, force: true });
    process.exit(1);
  }
}
