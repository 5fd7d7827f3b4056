import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManifestInvalidError, ManifestParseError } from '../core/errors.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { parseManifest, validateManifest } from './manifest.js';

const where = { source: 'test', baseDir: '/tmp' };
const problemsOf = (doc: unknown): string[] => {
  const r = validateManifest(doc, BUILTIN_NODE_TYPES, where);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};
const base = (nodes: object[], connections: object[] = []): object => ({
  version: 'v1',
  metadata: { name: 'x' },
  nodes,
  connections,
});

describe('manifest validation', () => {
  test('accepts short and RemoteMedia class names and keeps RemoteMedia fields', () => {
    const doc = base(
      [
        {
          id: 's',
          node_type: 'DataSourceNode',
          params: { items: [1] },
          host: 'local',
          capabilities: { gpu: { type: 'cuda' } },
          execution: { placement: 'local' },
        },
        { id: 'k', node_type: 'DataSink', is_streaming: false, metadata: { note: 1 } },
      ],
      [{ from: 's', to: 'k' }],
    );
    const r = validateManifest(doc, BUILTIN_NODE_TYPES, where);
    assert.ok(r.ok);
    assert.equal(r.manifest.nodes[0]?.type.name, 'DataSource');
    assert.deepEqual(r.manifest.nodes.map((n) => n.document.capabilities)[0], { gpu: { type: 'cuda' } });
    assert.equal(r.manifest.nodes[1]?.isOutput, true);
  });

  test('collects every problem with its path', () => {
    const problems = problemsOf({
      version: 'v9',
      metadata: {},
      nodes: [
        { id: 's', node_type: 'DataSource', params: { range: { stop: 3, step: 0 } } },
        { id: 's', node_type: 'Calculater' },
        { id: 'c', node_type: 'Calculator', params: { operation: 'sqrt' } },
        { id: 't', node_type: 'TextTransform', params: { operation: 'upper' }, colour: 'red' },
      ],
      connections: [
        { from: 's', to: 'c' },
        { from: 'c', to: 'zz' },
        { from: 's', to: 'c' },
      ],
      extra: true,
    });
    const expect = [
      '$.version: unsupported version "v9": expected "v1"',
      '$.metadata.name: required',
      '$.extra: unknown field',
      '$.nodes[3].colour: unknown field',
      "$.nodes[1].id: duplicate node id 's' (also $.nodes[0])",
      // Every registered type, in registration order (node families add types; the message lists them all).
      `$.nodes[1].node_type: unknown node_type 'Calculater' (did you mean 'Calculator'?); known types: ${BUILTIN_NODE_TYPES.types.map((t) => t.name).join(', ')}`,
      '$.nodes[0].params.range.step: must not be 0',
      '$.nodes[2].params.operand: required',
      '$.nodes[2].params.operation: must be one of "add", "subtract", "multiply", "divide", "power", "modulo"; got "sqrt"',
      '$.nodes[3].params.operation: must be one of "uppercase", "lowercase", "reverse", "strip", "title", "length"; got "upper"',
      "$.connections[1].to: no node has id 'zz'",
      '$.connections[2]: duplicate connection s → c (also $.connections[0])',
    ];
    for (const e of expect) assert.ok(problems.includes(e), `missing: ${e}\n got:\n${problems.join('\n')}`);
  });

  test('reports cycles, unreachable nodes, and edges into sources or out of sinks', () => {
    const problems = problemsOf(
      base(
        [
          { id: 's', node_type: 'DataSource', params: { items: [] } },
          { id: 'a', node_type: 'PassThrough' },
          { id: 'b', node_type: 'PassThrough' },
          { id: 'lonely', node_type: 'PassThrough' },
          { id: 'k', node_type: 'DataSink' },
        ],
        [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'a' },
          { from: 'k', to: 'a' },
          { from: 'a', to: 's' },
          { from: 's', to: 'k' },
        ],
      ),
    );
    assert.ok(problems.includes('$.nodes[1]: the connections form a cycle: a → b → a'), problems.join('\n'));
    assert.ok(
      problems.includes(
        "$.nodes[3]: node 'lonely' is unreachable: no connection leads to it from a DataSource",
      ),
    );
    assert.ok(problems.includes("$.connections[2].from: 'k' is a DataSink: sinks have no outputs"));
    assert.ok(problems.includes("$.connections[3].to: 's' is a DataSource: sources take no inputs"));
  });

  test('no nodes, wrong shapes and Filter value rules', () => {
    assert.ok(problemsOf(base([])).some((p) => p.startsWith('$.nodes: ')));
    assert.deepEqual(problemsOf('nope'), ['$: a manifest must be an object']);
    const f = problemsOf(base([{ id: 'f', node_type: 'Filter', params: { op: 'gt', value: 'x' } }]));
    assert.deepEqual(f, ["$.nodes[0].params.value: must be a number for op 'gt'; got string"]);
    assert.deepEqual(problemsOf(base([{ id: 'f', node_type: 'Filter', params: { op: 'even' } }])), []);
    assert.deepEqual(
      problemsOf(base([{ id: 'b', node_type: 'Buffer', params: { buffer_size: 0 } }])).length,
      1,
    );
  });

  test('YAML problems carry line and column; syntax errors are parse errors', async () => {
    const yaml =
      'version: v1\nmetadata: { name: y }\nnodes:\n  - id: c\n    node_type: Calculator\n    params: { operation: add, operand: "5" }\n';
    await assert.rejects(parseManifest(yaml, { source: 'p.yaml' }, BUILTIN_NODE_TYPES), (e: unknown) => {
      assert.ok(e instanceof ManifestInvalidError);
      assert.deepEqual(e.problems, [
        { path: '$.nodes[0].params.operand', message: 'expected number; got "5"', line: 6, column: 31 },
      ]);
      return true;
    });
    await assert.rejects(
      parseManifest('{"version": ', { source: 'p.json' }, BUILTIN_NODE_TYPES),
      ManifestParseError,
    );
    await assert.rejects(parseManifest('a: [', { source: 'p.yaml' }, BUILTIN_NODE_TYPES), ManifestParseError);
  });

  test('settings: pipeline defaults and node overrides', () => {
    const r = validateManifest(
      {
        ...base(
          [
            {
              id: 'p',
              node_type: 'PassThrough',
              settings: { queue_capacity: 3, queue_policy: 'drop_oldest' },
            },
            { id: 'q', node_type: 'PassThrough' },
          ],
          [{ from: 'p', to: 'q' }],
        ),
        settings: { queue_capacity: 7, on_error: 'skip' },
      },
      BUILTIN_NODE_TYPES,
      where,
    );
    assert.ok(r.ok);
    assert.equal(r.manifest.onError, 'skip');
    assert.deepEqual(
      r.manifest.nodes.map((n) => [n.queueCapacity, n.queuePolicy, n.isOutput]),
      [
        [3, 'drop_oldest', false],
        [7, 'block', true],
      ],
    );
  });
});
