// KServe v2 over gRPC from Python, as a team coming from Triton would check it: stubs generated from proto/ with
// protoc and Debian's grpc_python_plugin, Debian's grpcio and NumPy (baselines/python/kserve_grpc), against a real
// `pitlane serve models` on free ports serving the affine test model (Y = 2X + B; written by writeAffineModel).
// The Python client (check_server.py) checks health, metadata, raw and typed inference, the stream, statistics,
// configuration, the repository and the status codes of bad requests; its own unit tests run first.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeAffineModel } from '../dist/inference/test-support.js';
import { run, startService, tempDir } from './helpers.mjs';

const SYSTEM_PYTHON = process.env.PITLANE_INGEST_PYTHON ?? '/usr/bin/python3';
const CHECK_SERVER = join('baselines', 'python', 'kserve_grpc', 'check_server.py');

/** The summary lines of a unittest run (its last lines), for assertion messages. */
const tail = (r) => `${r.stdout}\n${r.stderr}`.split('\n').slice(-60).join('\n');

test('baselines/python/kserve_grpc unit tests pass (stubs from proto/, raw and typed contents)', async () => {
  assert.ok(existsSync(SYSTEM_PYTHON), `${SYSTEM_PYTHON} is missing (Debian's python3)`);
  const r = await run(SYSTEM_PYTHON, [
    '-m',
    'unittest',
    'discover',
    '-s',
    'baselines/python/kserve_grpc',
    '-p',
    'test_*.py',
  ]);
  assert.equal(r.code, 0, tail(r));
  assert.match(r.stderr, /Ran \d+ tests?/);
  assert.doesNotMatch(r.stderr, /Ran 0 tests|skipped/);
});

describe('a Python grpcio client of pitlane serve models --grpc-port', () => {
  const dir = tempDir('pl-kserve-grpc-python-');
  let models;
  let ready;

  before(async () => {
    writeAffineModel(join(dir, 'affine.onnx'));
    writeFileSync(
      join(dir, 'models.yaml'),
      [
        'models:',
        '  affine:',
        '    name: Y = 2X + B, POSITIVE = X > 0, Y_HALF = FP16(Y), IDS_NEXT = IDS + 1',
        '    kind: tensor',
        '    paths: { onnx: affine.onnx }',
        '    dynamic_batching: { max_batch_size: 0 }',
        '',
      ].join('\n'),
    );
    // With --port 0, gRPC listens on a free port too (grpc_url in the ready line).
    // A 1 MiB request limit, so that going over it costs little.
    models = startService('models', [
      '--models',
      join(dir, 'models.yaml'),
      '--max-body-mb',
      '1',
      '--max-inflight-mb',
      '4',
    ]);
    ready = await models.ready;
  });

  after(async () => {
    await models?.stop();
  });

  test('check_server.py: health, metadata, inference, stream, statistics, config, repository, errors', async () => {
    const r = await run(SYSTEM_PYTHON, [CHECK_SERVER, '-v'], {
      env: {
        PITLANE_GRPC_TARGET: new URL(ready.grpc_url).host,
        PITLANE_HTTP_URL: ready.url,
        PITLANE_MAX_BODY_MB: '1',
      },
    });
    assert.equal(r.code, 0, tail(r));
    const ran = /Ran (\d+) tests/.exec(r.stderr);
    assert.ok(ran !== null && Number(ran[1]) >= 20, tail(r));
    // pitlane serves every RPC the client checks, Triton's extensions included: nothing may be skipped (the
    // client skips an RPC only when a server answers UNIMPLEMENTED, which would be a regression here).
    assert.doesNotMatch(r.stderr, /skipped/, tail(r));
    assert.equal(models.child.exitCode, null, 'the server is still up');
  });
});
