// The seed's models.yaml as it is (`paths: {pytorch, onnx}`): `pitlane validate` and `pitlane serve models` load
// it, serve the ONNX graph and say that the PyTorch checkpoint is recorded, not served; a model with only a
// PyTorch path is refused with the model named, the line, and what pitlane serves.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PITLANE, ROOT, pitlane, tempDir } from './helpers.mjs';

const dir = tempDir('pl-seed-models-');
const blazeface = join(ROOT, 'models', 'blazeface', 'face_detection_back_256.onnx');

const seedYaml = join(dir, 'models.yaml');
writeFileSync(
  seedYaml,
  [
    'models:',
    '  face:',
    '    name: BlazeFace',
    `    paths: { pytorch: checkpoints/blazeface.pt, onnx: ${blazeface} }`,
    '    kind: tensor',
    '    dynamic_batching: { max_batch_size: 0 }',
    '',
  ].join('\n'),
);
const torchOnly = join(dir, 'torch-only.yaml');
writeFileSync(
  torchOnly,
  [
    'models:',
    '  face:',
    '    name: BlazeFace',
    '    paths:',
    '      pytorch: checkpoints/blazeface.pt',
    '',
  ].join('\n'),
);

test('validate: the seed shape is valid, with a note that the PyTorch path is not served', async () => {
  const r = await pitlane(['validate', seedYaml]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok: .*models\.yaml \(model repository, 1 models\)\n/);
  assert.match(
    r.stdout,
    /note: face: paths\.pytorch \(.*checkpoints\/blazeface\.pt\) is recorded, not served: pitlane serves the ONNX graph .*face_detection_back_256\.onnx/,
  );
  const json = await pitlane(['validate', '--json', seedYaml]);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout);
  assert.equal(out.valid, true);
  assert.equal(out.kind, 'model repository');
  assert.equal(out.notes.length, 1);
});

test('validate: a model with only a PyTorch path is an error with its path and line, exit 2', async () => {
  const r = await pitlane(['validate', torchOnly]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /PL_ERR_MODELS_INVALID/);
  assert.ok(
    r.stderr.includes(`${torchOnly}:4:`) &&
      r.stderr.includes("$.models.face.paths  model 'face' has only a pytorch path"),
    r.stderr,
  );
  assert.match(r.stderr, /pitlane serves ONNX \(paths\.onnx\) and TF\.js graphs/);
  const json = await pitlane(['validate', '--json', torchOnly]);
  assert.equal(json.code, 2);
  const out = JSON.parse(json.stdout);
  assert.equal(out.valid, false);
  assert.deepEqual(
    out.problems.map((p) => [p.path, p.line]),
    [['$.models.face.paths', 4]],
  );
});

test('serve models: starts from the seed shape and says at start-up that the PyTorch path is not served', async () => {
  const child = spawn(process.execPath, [PITLANE, 'serve', 'models', '--models', seedYaml, '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (b) => {
      stderr += b;
      if (/ready/.test(stderr)) resolve();
    });
    void exited.then((code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
  });
  child.kill('SIGTERM');
  await exited;
  // Not a terminal: the start-up lines are pino's JSON lines on stderr.
  const messages = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l).msg);
  assert.ok(
    messages.some((m) =>
      /^face: paths\.pytorch \(.*checkpoints\/blazeface\.pt\) is recorded, not served/.test(m),
    ),
    stderr,
  );
});
