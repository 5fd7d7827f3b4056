// A user's own model, the way the docs tell them to bring it: an ONNX file and a tokenizer.json in a folder
// laid out like a downloaded one, named in a models.yaml; pitlane loads it and produces embeddings.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildMiniLmArch } from '../scripts/build-models.mjs';
import { pitlane, postJson, startService, tempDir } from './helpers.mjs';
import { loadModelRepository } from '../dist/inference/tensor/model-repository.js';
import { loadOnnxModel, textModelFeeds } from '../dist/inference/backends/onnx/session.js';
import { l2Normalize, meanPool } from '../dist/inference/text/pooling.js';
import { loadWordPieceTokenizer } from '../dist/inference/text/wordpiece-tokenizer.js';
import { writeDoublerModel } from '../dist/inference/test-support.js';
import { KServeGrpcClient } from '../dist/inference/kserve/grpc-client.js';
import { createServer } from 'node:net';

const dir = tempDir('pl-user-model-');

test('a user-supplied ONNX model + tokenizer.json, named in models.yaml, loads and embeds', async () => {
  const built = join(dir, 'built');
  buildMiniLmArch(built);
  // Laid out like a model downloaded from a hub: onnx/model.onnx beside tokenizer.json.
  const downloaded = join(dir, 'all-MiniLM-L6-v2');
  mkdirSync(join(downloaded, 'onnx'), { recursive: true });
  copyFileSync(join(built, 'model.onnx'), join(downloaded, 'onnx', 'model.onnx'));
  copyFileSync(join(built, 'tokenizer.json'), join(downloaded, 'tokenizer.json'));
  writeFileSync(
    join(dir, 'models.yaml'),
    [
      'models:',
      '  minilm:',
      '    name: my all-MiniLM-L6-v2 export',
      '    paths: { onnx: all-MiniLM-L6-v2/onnx/model.onnx, tokenizer: all-MiniLM-L6-v2/tokenizer.json }',
      '    pooling: mean',
      '    max_sequence_length: 128',
      '    dimension: 384',
      '    batching: { max_batch_tokens: 4096 }',
      '    threads: { intra_op: 2, inter_op: 1 }',
      '',
    ].join('\n'),
  );
  const [spec] = await loadModelRepository(join(dir, 'models.yaml'));
  const tokenizer = loadWordPieceTokenizer(spec.tokenizerPath);
  const model = await loadOnnxModel(spec.modelPath, {
    intraOpThreads: spec.threads.intraOp,
    interOpThreads: spec.threads.interOp,
  });
  try {
    const texts = ['The quick brown fox jumps over the lazy dog.', 'Embeddings for everyone!'];
    const batch = tokenizer.encodeBatch(texts, { maxLength: spec.maxSequenceLength });
    const out = await model.run(textModelFeeds(model, batch));
    const hidden = out[spec.output];
    assert.ok(hidden, `output ${spec.output}`);
    assert.deepEqual(hidden.dims, [2, batch.seqLength, spec.dimension]);
    const vectors = meanPool(hidden.data, hidden.dims, batch.attentionMask).map(l2Normalize);
    assert.equal(vectors.length, 2);
    for (const v of vectors) {
      assert.equal(v.length, 384);
      const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-5, `unit length, got ${norm}`);
    }
  } finally {
    await model.close();
  }
});

test('serve models: --help explains the limits; an in-flight budget below the body limit is a usage error', async () => {
  const help = await pitlane(['serve', 'models', '--help']);
  assert.equal(help.code, 0);
  const oneLine = help.stdout.replace(/\s+/g, ' ');
  assert.match(oneLine, /--max-body-mb <mb> .*413.*\(default: 64\)/);
  assert.match(oneLine, /--max-inflight-mb <mb> .*429 \+ Retry-After.*\(default: 256\)/);
  const r = await pitlane(['serve', 'models', '--port', '0', '--max-body-mb', '8', '--max-inflight-mb', '4']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--max-inflight-mb \(4\) is below --max-body-mb \(8\)/);
});

test('serve models --model a: the other models of the file are in the repository, loadable; Triton extensions on', async () => {
  const dir = tempDir('pl-serve-models-repo-');
  await writeDoublerModel(join(dir, 'doubler.onnx'));
  writeFileSync(
    join(dir, 'models.yaml'),
    [
      'models:',
      '  a: { name: loaded at start, kind: tensor, paths: { onnx: doubler.onnx } }',
      '  b: { name: loaded on demand, kind: tensor, paths: { onnx: doubler.onnx } }',
      '',
    ].join('\n'),
  );
  const help = await pitlane(['serve', 'models', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), /--model <id> +load only this model at start .*UNAVAILABLE/);
  const server = startService('models', ['--models', join(dir, 'models.yaml'), '--model', 'a']);
  try {
    const { url } = await server.ready;
    const index = async () => (await postJson(`${url}/v2/repository/index`, {})).json;
    assert.deepEqual(await index(), [
      { name: 'a', version: '1', state: 'READY', reason: '' },
      { name: 'b', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
    const meta = await (await fetch(`${url}/v2`)).json();
    assert.deepEqual(meta.extensions, [
      'binary_tensor_data',
      'model_repository',
      'model_configuration',
      'statistics',
    ]);
    const body = { inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    assert.equal((await postJson(`${url}/v2/models/b/infer`, body)).status, 503);
    const loaded = await fetch(`${url}/v2/repository/models/b/load`, { method: 'POST' });
    assert.equal(loaded.status, 200, await loaded.text());
    const res = await fetch(`${url}/v2/models/b/infer`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    assert.match(
      res.headers.get('server-timing') ?? '',
      /^decode;dur=[\d.]+, queue;dur=[\d.]+, input;dur=[\d.]+, infer;dur=[\d.]+, output;dur=[\d.]+, encode;dur=[\d.]+$/,
    );
    const stats = await (await fetch(`${url}/v2/models/b/stats`)).json();
    assert.equal(stats.model_stats[0].inference_count, 1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^nv_inference_exec_count\{model="b",version="1"\} 1$/m);
    assert.equal((await index()).find((m) => m.name === 'b')?.state, 'READY');
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0);
  }
});

test('serve models: gRPC beside HTTP (grpc_url in the ready line), one set of metrics; --grpc-port 0 turns it off; a taken port is a usage error', async () => {
  const dir = tempDir('pl-serve-models-grpc-');
  await writeDoublerModel(join(dir, 'doubler.onnx'));
  const models = join(dir, 'models.yaml');
  writeFileSync(models, 'models:\n  d: { name: doubler, kind: tensor, paths: { onnx: doubler.onnx } }\n');
  const help = (await pitlane(['serve', 'models', '--help'])).stdout.replace(/\s+/g, ' ');
  assert.match(
    help,
    /--grpc-port <port> .*GRPCInferenceService.*0: no gRPC \(default: 8001, or any free port when --port is 0\)/,
  );
  assert.match(help, /--grpc-host <host> /);
  const server = startService('models', ['--models', models]);
  try {
    const ready = await server.ready;
    assert.match(ready.grpc_url, /^grpc:\/\/127\.0\.0\.1:\d+$/);
    const client = new KServeGrpcClient({ url: ready.grpc_url });
    try {
      assert.deepEqual((await client.serverMetadata()).extensions, [
        'model_repository',
        'model_configuration',
        'statistics',
      ]);
      const input = { name: 'X', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
      const res = await client.infer('d', { inputs: [input] });
      const http = await postJson(`${ready.url}/v2/models/d/infer`, {
        inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      });
      assert.deepEqual([...res.outputs[0].data], http.json.outputs[0].data);
    } finally {
      await client.close();
    }
    const metrics = await (await fetch(`${ready.url}/metrics`)).text();
    assert.match(metrics, /^nv_inference_request_success\{model="d",version="1"\} 2$/m);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0);
  }
  const off = startService('models', ['--models', models, '--grpc-port', '0']);
  try {
    assert.equal((await off.ready).grpc_url, undefined);
  } finally {
    await off.stop();
  }
  const taken = createServer();
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const r = await pitlane([
      'serve',
      'models',
      '--models',
      models,
      '--port',
      '0',
      '--grpc-port',
      String(taken.address().port),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /cannot listen for gRPC on 127\.0\.0\.1:\d+ \(--grpc-port, --grpc-host; --grpc-port 0 turns gRPC off\)/,
    );
  } finally {
    taken.close();
  }
});
