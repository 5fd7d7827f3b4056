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
      "$.nodes[1].id: duplicate node id 's' (also $.nodes[0])",
      "$.nodes[1].node_type: unknown node_type 'Calculater' (did you mean 'Calculator'?); `pitlane nodes` lists the known types",
      '$.nodes[0].params.range.step: must not be 0',
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

  test('RemoteMedia fields load with no warning; metadata may have no name', () => {
    const r = validateManifest(
      {
        version: 'v1',
        metadata: { created_at: '2025-01-01T00:00:00Z', auto_negotiate: true, author: 'x' },
        python_env: { python_version: '3.11', scope: 'per_node', extra_deps: ['numpy'] },
        nodes: [
          {
            id: 'p',
            node_type: 'PassThrough',
            fast_path: true,
            is_output_node: true,
            is_streaming: true,
            host: 'localhost',
            runtime_hint: 'rust_python',
            execution: { placement: 'local', reason: 'r', fallback: 'q' },
            capabilities: { gpu: { type: 'cuda', min_memory_gb: 2, required: false }, cpu: { cores: 2 } },
            docker: { python_version: '3.10', anything: { deep: 1 } },
            python_deps: ['soundfile'],
            media_capabilities: { inputs: { default: { type: 'audio' } } },
            comment: 'c',
          },
          { id: 'q', node_type: 'PassThrough' },
        ],
        connections: [{ from: 'p', to: 'q', type: 'audio', comment: 'c', description: 'd' }],
      },
      BUILTIN_NODE_TYPES,
      { source: 'dir/my-pipe.yaml', baseDir: '/tmp' },
    );
    assert.ok(r.ok, JSON.stringify(r.problems));
    assert.deepEqual(r.warnings, []);
    assert.equal(r.manifest.name, 'my-pipe');
    assert.equal(r.manifest.nodes[0]?.isOutput, true);
    assert.deepEqual(r.manifest.document.python_env?.extra_deps, ['numpy']);
  });

  test('camelCase field names (RemoteMedia analyzer and JS client) are read as snake_case', () => {
    const r = validateManifest(
      base([{ id: 'p', nodeType: 'PassThrough', isStreaming: true, isOutputNode: true }]),
      BUILTIN_NODE_TYPES,
      where,
    );
    assert.ok(r.ok, JSON.stringify(r.problems));
    assert.deepEqual(r.warnings, []);
    assert.equal(r.manifest.nodes[0]?.document.node_type, 'PassThrough');
    assert.deepEqual(problemsOf(base([{ id: 'p', nodeType: 'PassThrough', node_type: 'PassThrough' }])), [
      "$.nodes[0].nodeType: 'nodeType' and 'node_type' are the same field: write it once",
    ]);
  });

  test('unknown fields are warnings with a suggestion; strict makes them errors', () => {
    const doc = {
      ...base([{ id: 'p', node_type: 'PassThrough', is_streming: true, execution: { placment: 'local' } }]),
      conections: [],
    };
    const r = validateManifest(doc, BUILTIN_NODE_TYPES, where);
    assert.ok(r.ok);
    const expected = [
      "$.nodes[0].is_streming: unknown field 'is_streming', kept and ignored (did you mean 'is_streaming'?)",
      "$.nodes[0].execution.placment: unknown field 'placment', kept and ignored (did you mean 'placement'?)",
      "$.conections: unknown field 'conections', kept and ignored (did you mean 'connections'?)",
    ];
    assert.deepEqual(r.warnings.map((w) => `${w.path}: ${w.message}`).sort(), [...expected].sort());
    assert.deepEqual(r.manifest.warnings, r.warnings);
    const strict = validateManifest(doc, BUILTIN_NODE_TYPES, where, true);
    assert.ok(!strict.ok);
    assert.deepEqual(strict.problems.map((w) => `${w.path}: ${w.message}`).sort(), [...expected].sort());
    assert.deepEqual(strict.warnings, []);
  });

  test('unknown params are dropped with a warning (RemoteMedia nodes ignore params they do not read)', () => {
    const doc = base(
      [
        { id: 's', node_type: 'DataSource', params: { range: { stop: 2, strat: 1 }, colour: 'red' } },
        { id: 'c', node_type: 'Calculator', params: { operation: 'add', operand: 1, operands: [1] } },
      ],
      [{ from: 's', to: 'c' }],
    );
    const r = validateManifest(doc, BUILTIN_NODE_TYPES, where);
    assert.ok(r.ok, JSON.stringify(r.problems));
    assert.deepEqual(
      r.warnings.map((w) => `${w.path}: ${w.message}`),
      [
        "$.nodes[0].params.range.strat: unknown param 'strat', ignored (did you mean 'start'?)",
        "$.nodes[0].params.colour: unknown param 'colour', ignored",
        "$.nodes[1].params.operands: unknown param 'operands', ignored (did you mean 'operand'?)",
      ],
    );
    assert.deepEqual(r.manifest.nodes[0]?.params, { range: { stop: 2 } });
    assert.deepEqual(r.manifest.nodes[0].document.params, { range: { stop: 2, strat: 1 }, colour: 'red' });
    assert.equal(validateManifest(doc, BUILTIN_NODE_TYPES, where, true).problems.length, 3);
  });

  test('a kept field of the wrong type is a warning; pitlane’s own settings stay strict', () => {
    const r = validateManifest(
      base([{ id: 'p', node_type: 'PassThrough', host: 3 }]),
      BUILTIN_NODE_TYPES,
      where,
    );
    assert.ok(r.ok);
    assert.deepEqual(
      r.warnings.map((w) => `${w.path}: ${w.message}`),
      ['$.nodes[0].host: expected string; got 3; kept and ignored'],
    );
    assert.deepEqual(problemsOf(base([{ id: 'p', node_type: 'PassThrough', settings: { queue_size: 1 } }])), [
      '$.nodes[0].settings.queue_size: unknown field',
    ]);
  });

  test('version "1.0" (RemoteMedia pipeline-runner templates) is read as v1 with a warning', () => {
    const r = validateManifest(
      { ...base([{ id: 'p', node_type: 'PassThrough' }]), version: '1.0' },
      BUILTIN_NODE_TYPES,
      where,
    );
    assert.ok(r.ok);
    assert.equal(r.warnings[0]?.path, '$.version');
    assert.deepEqual(problemsOf({ ...base([{ id: 'p', node_type: 'PassThrough' }]), version: '2' }), [
      '$.version: unsupported version "2": expected "v1"',
    ]);
  });

  test('a RemoteMedia type pitlane lacks is named as such; a typo keeps its suggestion', () => {
    const problems = problemsOf(
      base([
        { id: 'k', node_type: 'KokoroTTSNode', params: { voice: 'af_bella' } },
        { id: 't', node_type: 'PasThrough' },
      ]),
    );
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(
      problems[0] ?? '',
      /^\$\.nodes\[0\]\.node_type: 'KokoroTTSNode' is a RemoteMedia node type that pitlane does not provide: .+ \(see docs\/remotemedia-nodes\.md\)$/,
    );
    assert.match(problems[1] ?? '', /unknown node_type 'PasThrough' \(did you mean 'PassThrough'\?\)/);
  });

  test('YAML warnings carry line and column and reach onWarnings', async () => {
    const yaml = 'version: v1\nnodes:\n  - id: p\n    node_type: PassThrough\n    colour: red\n';
    let seen: readonly unknown[] = [];
    const m = await parseManifest(
      yaml,
      { source: 'p.yaml', onWarnings: (w) => (seen = w) },
      BUILTIN_NODE_TYPES,
    );
    assert.equal(m.name, 'p');
    assert.deepEqual(seen, [
      { path: '$.nodes[0].colour', message: "unknown field 'colour', kept and ignored", line: 5, column: 5 },
    ]);
    await assert.rejects(
      parseManifest(yaml, { source: 'p.yaml', strict: true }, BUILTIN_NODE_TYPES),
      ManifestInvalidError,
    );
  });
});
