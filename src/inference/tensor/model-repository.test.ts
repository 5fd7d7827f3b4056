import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  loadModelRepository,
  MODEL_DEFAULTS,
  ModelRepositoryInvalidError,
  unservedNotes,
} from './model-repository.js';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pl-models-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('the seed shape loads with every default filled in and paths resolved against the file', async () => {
  const dir = folder({
    'model.onnx': 'x',
    'tokenizer.json': '{}',
    'models.yaml':
      'models:\n  minilm:\n    name: all-MiniLM-L6-v2\n    paths: { onnx: model.onnx, tokenizer: tokenizer.json }\n',
  });
  const [m] = await loadModelRepository(join(dir, 'models.yaml'));
  assert.ok(m);
  assert.equal(m.id, 'minilm');
  assert.equal(m.backend, 'onnx');
  assert.equal(m.modelPath, join(dir, 'model.onnx'));
  assert.equal(m.tokenizerPath, join(dir, 'tokenizer.json'));
  assert.equal(m.tokenizer, 'wordpiece');
  assert.equal(m.pooling, MODEL_DEFAULTS.pooling);
  assert.equal(m.normalize, true);
  assert.deepEqual(m.inputs, {
    inputIds: 'input_ids',
    attentionMask: 'attention_mask',
    tokenTypeIds: 'token_type_ids',
  });
  assert.deepEqual(m.batching, {
    maxBatchTokens: 2048,
    maxBatchSize: 32,
    maxQueueDelayMs: 0,
    queueCapacity: 1024,
  });
  assert.deepEqual(m.threads, { intraOp: 2, interOp: 1, spinning: false });
  assert.deepEqual(m.session, { graphOptimization: 'all', memoryArena: true });
});

test('every problem is listed with its path and line: missing files, wrong values, unknown fields', async () => {
  const dir = folder({
    'models.yaml': [
      'models:',
      '  a:',
      '    name: A',
      '    paths: { onnx: nope.onnx, tokenizer: nope.json }',
      '    pooling: max',
      '    max_sequence_length: 512',
      '    batching: { max_batch_tokens: 128 }',
      '  b:',
      '    name: B',
      '    backend: tfjs',
      '    paths: { onnx: x.onnx }',
      '    colour: red',
      '    session: { graph_optimization: fast }',
      '',
    ].join('\n'),
  });
  await assert.rejects(loadModelRepository(join(dir, 'models.yaml')), (e: unknown) => {
    assert.ok(e instanceof ModelRepositoryInvalidError);
    const text = e.problems.map((p) => `${String(p.line)}: ${p.path}: ${p.message}`);
    assert.ok(
      text.some((t) => t.startsWith('5: $.models.a.pooling: must be one of "mean", "cls", "none"')),
      text.join('\n'),
    );
    assert.ok(
      text.some((t) => t.startsWith('12: $.models.b.colour: unknown field')),
      text.join('\n'),
    );
    assert.ok(
      text.some((t) => t.startsWith('13: $.models.b.session.graph_optimization: must be one of')),
      text.join('\n'),
    );
    return true;
  });
  // Once the structure is right, the semantic checks run: files, backend paths, token budget.
  const fixed = folder({
    'models.yaml':
      'models:\n  a:\n    name: A\n    paths: { onnx: nope.onnx, tokenizer: nope.json }\n    max_sequence_length: 512\n    batching: { max_batch_tokens: 128 }\n  b:\n    name: B\n    backend: tfjs\n    paths: { onnx: x.onnx }\n',
  });
  await assert.rejects(loadModelRepository(join(fixed, 'models.yaml')), (e: unknown) => {
    assert.ok(e instanceof ModelRepositoryInvalidError);
    const text = e.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    assert.match(text, /\$\.models\.a\.paths\.onnx: no such file: .*nope\.onnx/);
    assert.match(text, /\$\.models\.a\.paths\.tokenizer: no such file: .*nope\.json/);
    assert.match(
      text,
      /\$\.models\.a\.batching\.max_batch_tokens: must be at least max_sequence_length \(512\)/,
    );
    assert.match(text, /\$\.models\.b\.paths\.tfjs: required for backend tfjs/);
    return true;
  });
});

test('prompts: from models.yaml, else from config_sentence_transformers.json beside the model; a bad default is named', async () => {
  const yaml = (extra: string): string =>
    `models:\n  e5:\n    name: E5\n    paths: { onnx: model.onnx, tokenizer: tokenizer.json }\n${extra}`;
  const config = JSON.stringify({
    prompts: { query: 'query: ', passage: 'passage: ' },
    default_prompt_name: 'query',
  });
  const fromFile = folder({
    'model.onnx': 'x',
    'tokenizer.json': '{}',
    'config_sentence_transformers.json': config,
    'models.yaml': yaml(''),
  });
  const [m] = await loadModelRepository(join(fromFile, 'models.yaml'));
  assert.deepEqual(m?.prompts, { query: 'query: ', passage: 'passage: ' });
  assert.equal(m.defaultPromptName, 'query');

  const fromYaml = folder({
    'model.onnx': 'x',
    'tokenizer.json': '{}',
    'config_sentence_transformers.json': config,
    'models.yaml': yaml('    prompts: { q: "q: " }\n'),
  });
  const [y] = await loadModelRepository(join(fromYaml, 'models.yaml'));
  assert.deepEqual(y?.prompts, { q: 'q: ' });
  assert.equal(y.defaultPromptName, null);

  const none = folder({ 'model.onnx': 'x', 'tokenizer.json': '{}', 'models.yaml': yaml('') });
  const [n] = await loadModelRepository(join(none, 'models.yaml'));
  assert.deepEqual(n?.prompts, {});
  assert.equal(n.defaultPromptName, null);

  const bad = folder({
    'model.onnx': 'x',
    'tokenizer.json': '{}',
    'models.yaml': yaml('    prompts: { query: "query: " }\n    default_prompt_name: passage\n'),
  });
  await assert.rejects(
    loadModelRepository(join(bad, 'models.yaml')),
    (err: unknown) =>
      err instanceof ModelRepositoryInvalidError &&
      err.problems.length === 1 &&
      err.problems[0]?.path === '$.models.e5.default_prompt_name' &&
      /"passage" is not a prompt of the model \(prompts: query\)/.test(err.problems[0].message),
  );
});

test("the seed's paths.pytorch is recorded, not read: it need not exist, and the ONNX file is served", async () => {
  const dir = folder({
    'model.onnx': 'x',
    'tokenizer.json': '{}',
    'models.yaml': [
      'models:',
      '  minilm:',
      '    name: all-MiniLM-L6-v2',
      '    paths: { pytorch: checkpoints/minilm, onnx: model.onnx, tokenizer: tokenizer.json }',
      '  plain:',
      '    name: no checkpoint',
      '    paths: { onnx: model.onnx }',
      '',
    ].join('\n'),
  });
  const specs = await loadModelRepository(join(dir, 'models.yaml'));
  const [m, plain] = specs;
  assert.ok(m && plain);
  assert.equal(m.pytorchPath, join(dir, 'checkpoints/minilm'));
  assert.equal(m.modelPath, join(dir, 'model.onnx'));
  assert.equal(plain.pytorchPath, null);
  assert.deepEqual(unservedNotes(specs), [
    `minilm: paths.pytorch (${join(dir, 'checkpoints/minilm')}) is recorded, not served: ` +
      `pitlane serves the ONNX graph ${join(dir, 'model.onnx')}`,
  ]);
});

test('a model with only a pytorch path is an error naming it and saying what pitlane serves', async () => {
  const dir = folder({
    'model.onnx': 'x',
    'models.yaml': [
      'models:',
      '  ok:',
      '    name: fine',
      '    paths: { onnx: model.onnx }',
      '  torch-only:',
      '    name: a checkpoint',
      '    paths: { pytorch: model.pt }',
      '',
    ].join('\n'),
  });
  await assert.rejects(loadModelRepository(join(dir, 'models.yaml')), (e: unknown) => {
    assert.ok(e instanceof ModelRepositoryInvalidError);
    assert.equal(e.problems.length, 1);
    const [p] = e.problems;
    assert.equal(p?.path, '$.models["torch-only"].paths');
    assert.equal(p.line, 7);
    assert.match(
      p.message,
      /model 'torch-only' has only a pytorch path; pitlane serves ONNX \(paths\.onnx\)/,
    );
    assert.match(p.message, /TF\.js/);
    return true;
  });
});
