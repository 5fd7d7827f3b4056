import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelSpec } from '../tensor/model-repository.js';
import { describeEmbedderPlacement, embedderPlacement } from './embedder-placement.js';

/** Only the fields the placement reads. */
function spec(instanceKind: ModelSpec['instanceKind'], intraOp: number): ModelSpec {
  return { instanceKind, threads: { intraOp, interOp: 1, spinning: true } } as unknown as ModelSpec;
}

test('auto: inline when the model is served alone and its intra-op threads take every core', () => {
  assert.equal(embedderPlacement(spec('auto', 2), 1, 2).kind, 'inline');
  assert.equal(embedderPlacement(spec('auto', 4), 1, 2).why, 'all-cores');
  // 0 is ONNX Runtime's default: one thread per core.
  assert.equal(embedderPlacement(spec('auto', 0), 1, 16).kind, 'inline');
  // Cores to spare: the event loop runs beside inference on a thread of its own.
  assert.deepEqual(embedderPlacement(spec('auto', 2), 1, 8), {
    kind: 'thread',
    why: 'spare-cores',
    intraOpThreads: 2,
    cores: 8,
  });
  // Several models: each on its own thread, so that one's batch does not hold up the others.
  assert.equal(embedderPlacement(spec('auto', 2), 3, 2).why, 'several-models');
  assert.equal(embedderPlacement(spec('auto', 2), 3, 2).kind, 'thread');
});

test("models.yaml's instance_kind is obeyed whatever the machine", () => {
  assert.deepEqual(
    [embedderPlacement(spec('thread', 2), 1, 2).kind, embedderPlacement(spec('inline', 1), 4, 64).kind],
    ['thread', 'inline'],
  );
  assert.equal(embedderPlacement(spec('inline', 1), 4, 64).why, 'asked');
});

test('the start-up line says where the model runs and why', () => {
  assert.equal(
    describeEmbedderPlacement(embedderPlacement(spec('auto', 2), 1, 2)),
    "on the server's thread (instance_kind auto: 2 intra-op threads take all 2 cores)",
  );
  assert.match(
    describeEmbedderPlacement(embedderPlacement(spec('auto', 1), 1, 4)),
    /thread of its own.*leave cores/,
  );
  assert.match(
    describeEmbedderPlacement(embedderPlacement(spec('thread', 2), 1, 2)),
    /instance_kind: thread/,
  );
});
