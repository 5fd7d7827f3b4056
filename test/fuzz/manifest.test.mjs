// Fuzzing the manifest parser and validator (parseManifest: JSON and YAML text). Property: any text gives a
// Manifest or a ManifestParseError / ManifestInvalidError whose problems each carry a JSON path and a message,
// never another exception; the same document written as JSON and as YAML gets the same verdict and the same
// problems. Mostly valid manifests (fc.record per node type, connections between the generated ids) reach the
// deep checks: params schemas, node checks, the Python source scanner, duplicate ids and edges, cycles,
// reachability.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ManifestInvalidError, ManifestParseError } from '../../dist/core/errors.js';
import { parseManifest, validateManifest } from '../../dist/pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../../dist/nodes/registry.js';
import {
  HOSTILE_KEYS,
  HOSTILE_PATHS,
  anyJsonValue,
  anyString,
  fuzz,
  mutated,
  rarely,
} from './fuzz-support.mjs';

const BASE_DIR = '/nonexistent-pitlane-fuzz';

/** Parses and validates; returns the outcome as a value, rethrows anything that is not a manifest error. */
async function outcome(text, source) {
  try {
    const manifest = await parseManifest(text, { source, baseDir: BASE_DIR }, BUILTIN_NODE_TYPES);
    assert.ok(manifest.nodes.length >= 1, 'a valid manifest has nodes');
    assert.equal(manifest.plan.order.length, manifest.nodes.length, 'every node is planned');
    return { ok: true, problems: [] };
  } catch (e) {
    if (e instanceof ManifestParseError) {
      assert.equal(e.code, 'PL_ERR_MANIFEST_PARSE');
      assert.ok(e.message.startsWith(`${source}: `), e.message);
      return { ok: false, parse: true, problems: [] };
    }
    if (e instanceof ManifestInvalidError) {
      assert.equal(e.code, 'PL_ERR_MANIFEST_INVALID');
      assert.ok(e.problems.length > 0, 'an invalid manifest lists at least one problem');
      for (const p of e.problems) {
        assert.match(p.path, /^\$/, `a problem's path is a JSON path: ${p.path}`);
        assert.equal(typeof p.message, 'string');
        assert.ok(p.message.length > 0, `problem at ${p.path} has a message`);
        if (p.line !== undefined) assert.ok(Number.isInteger(p.line) && p.line >= 1, `line ${p.line}`);
      }
      return { ok: false, parse: false, problems: e.problems.map((p) => `${p.path}: ${p.message}`).sort() };
    }
    throw e;
  }
}

// --- Arbitraries -------------------------------------------------------------------------------------------

const nodeId = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 1, arbitrary: anyString({ maxLength: 8 }) },
);

const pythonSource = fc.oneof(
  fc.constantFrom(
    'class Node:\n    def process(self, x):\n        return x\n',
    'import subprocess\nclass A:\n    def process(self, x):\n        return x\n',
    'import asyncio\nclass A:\n    def process(self, x):\n        asyncio.run(x)\n',
    'from os import path\nclass B(object):\n  pass\n',
    '"""class Hidden:"""\nclass Shown: pass\n',
    "x = '''\nclass NotAClass:\n'''\n",
    'class',
    'class \\\n  Split:\n pass',
  ),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'class ',
          'import ',
          'from ',
          ' import ',
          '"""',
          "'''",
          '"',
          "'",
          '#',
          '\\',
          '\n',
          '\r\n',
          '    ',
          ':',
          '(',
          ')',
          ',',
          'open(',
          'asyncio.run(',
          'threading',
          'A',
          'B',
        ),
        anyString({ maxLength: 6 }),
      ),
      { maxLength: 30 },
    )
    .map((parts) => parts.join('')),
);

const duration = fc.oneof(
  fc.double({ min: 0.001, max: 1e6, noNaN: true }),
  fc.constantFrom('10s', '500ms', '2m', '1.5s'),
);

const className = fc.constantFrom('Node', 'A', 'B2', '_Private');

/** Valid params of each built-in type (the edits of `mutated` break them). */
const paramsOf = {
  DataSource: fc.oneof(
    fc.constant(undefined),
    fc.record({ items: fc.array(anyJsonValue, { maxLength: 5 }) }),
    fc.record({
      range: fc.record(
        {
          start: fc.double({ noNaN: true, noDefaultInfinity: true }),
          stop: fc.double({ noNaN: true, noDefaultInfinity: true }),
          step: fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => x !== 0),
        },
        { requiredKeys: ['stop'] },
      ),
    }),
    fc.record({
      file: fc.oneof(fc.constantFrom(...HOSTILE_PATHS), anyString({ minLength: 1, maxLength: 10 })),
    }),
  ),
  DataSourceNode: fc.constant({ items: [1, 2] }),
  DataSink: fc.constantFrom(undefined, {}),
  PassThrough: fc.constantFrom(undefined, {}),
  Calculator: fc.record({
    operation: fc.constantFrom('add', 'subtract', 'multiply', 'divide', 'power', 'modulo'),
    operand: fc.double({ noNaN: true, noDefaultInfinity: true }),
  }),
  TextTransform: fc.record({
    operation: fc.constantFrom('uppercase', 'lowercase', 'reverse', 'strip', 'title', 'length'),
  }),
  Buffer: fc.record({ buffer_size: fc.integer({ min: 1, max: 1000 }) }),
  Filter: fc.record(
    {
      op: fc.constantFrom('gt', 'ge', 'lt', 'le', 'eq', 'ne', 'even', 'odd', 'contains'),
      value: anyJsonValue,
    },
    { requiredKeys: ['op'] },
  ),
  Accumulator: fc.record({ operation: fc.constantFrom('sum', 'count', 'mean', 'min', 'max') }),
  Python: fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          className,
          pythonSource,
          fc.constantFrom('', 'import json\n', 'import subprocess\n', 'import asyncio\n'),
        )
        .chain(([name, body, head]) =>
          fc.record(
            {
              code: fc.constant(
                `${head}class ${name}:\n    def process(self, x):\n        return x\n${body}`,
              ),
              class: fc.constant(name),
              init: fc.dictionary(fc.string({ maxLength: 5 }), anyJsonValue, { maxKeys: 3 }),
              stateless: fc.boolean(),
              timeout: duration,
            },
            { requiredKeys: ['code'] },
          ),
        ),
    },
    { weight: 1, arbitrary: fc.record({ code: pythonSource }) },
    {
      weight: 1,
      arbitrary: fc.record({
        module: fc.oneof(fc.constantFrom(...HOSTILE_PATHS), anyString({ minLength: 1, maxLength: 10 })),
        class: className,
      }),
    },
  ),
};

const SOURCES = ['DataSource', 'DataSourceNode'];
const MIDDLE = ['PassThrough', 'Calculator', 'TextTransform', 'Buffer', 'Filter', 'Accumulator', 'Python'];
const LAST = [...MIDDLE, 'DataSink'];

const queueSettings = fc.record(
  {
    queue_capacity: fc.integer({ min: 1, max: 4096 }),
    queue_policy: fc.constantFrom('block', 'drop_oldest', 'drop_newest'),
  },
  { requiredKeys: [] },
);

const node = (id, types) =>
  fc.constantFrom(...types).chain((type) =>
    fc.record(
      {
        id: fc.constant(id),
        node_type: fc.constant(type),
        params: paramsOf[type],
        runtime_hint: fc.constantFrom('auto', 'cpython', 'pyodide', 'cpython_wasm', 'rust_python'),
        is_streaming: fc.boolean(),
        is_output_node: fc.boolean(),
        settings: queueSettings,
        capabilities: anyJsonValue,
        host: anyJsonValue,
        metadata: anyJsonValue,
      },
      { requiredKeys: ['id', 'node_type', 'params'] },
    ),
  );

/**
 * A mostly valid manifest: a chain of nodes from a DataSource (sometimes with extra edges: duplicates, cycles,
 * unknown ids), then the random edits of `mutated`.
 */
export const structuredManifest = mutated(
  fc.uniqueArray(nodeId, { minLength: 1, maxLength: 7 }).chain((ids) =>
    fc.record(
      {
        $schema: fc.string({ maxLength: 10 }),
        version: fc.constant('v1'),
        metadata: fc.record(
          { name: fc.string({ minLength: 1, maxLength: 10 }), description: fc.string(), extra: anyJsonValue },
          { requiredKeys: ['name'] },
        ),
        nodes: fc.tuple(
          ...ids.map((id, i) => node(id, i === 0 ? SOURCES : i === ids.length - 1 ? LAST : MIDDLE)),
        ),
        connections: fc
          .tuple(
            fc.constant(ids.slice(1).map((id, i) => ({ from: ids[i], to: id }))),
            rarely(
              fc.array(
                fc.record({
                  from: fc.oneof(fc.constantFrom(...ids), nodeId),
                  to: fc.oneof(fc.constantFrom(...ids), nodeId),
                }),
                { minLength: 1, maxLength: 3 },
              ),
            ),
          )
          .map(([chain, extra]) => [...chain, ...(extra ?? [])]),
        settings: fc.record(
          {
            queue_capacity: fc.integer({ min: 1, max: 10 }),
            queue_policy: fc.constantFrom('block', 'drop_oldest', 'drop_newest'),
            on_error: fc.constantFrom('fail', 'skip'),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['version', 'metadata', 'nodes'] },
    ),
  ),
);

/** Text built from YAML's own syntax: anchors, aliases, tags, merge keys, flow collections, documents. */
const yamlishText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'version: v1\n',
        'metadata: {name: x}\n',
        'nodes:\n',
        '  - id: a\n    node_type: DataSource\n',
        '  - &n {id: b, node_type: PassThrough}\n',
        '  - *n\n',
        '<<: *n\n',
        '&a ',
        '*a',
        '!!binary aGk=',
        '!!set {a, b}',
        '!!omap [a: 1]',
        '!!str ',
        '!!int ',
        '!!float .nan',
        '!custom ',
        '? [a, b]\n: c\n',
        '---\n',
        '...\n',
        '%YAML 1.1\n---\n',
        '%TAG ! tag:x,2000:\n',
        '|\n  text\n',
        '>-\n  folded\n',
        '{',
        '}',
        '[',
        ']',
        ', ',
        ': ',
        '- ',
        '\t',
        '  ',
        '\n',
        '"\\u0000"',
        "'it''s'",
        '__proto__: {polluted: 1}\n',
        '0x1F',
        '1e999',
        '~',
        'null',
        '.inf',
      ),
      anyString({ maxLength: 6 }),
    ),
    { maxLength: 25 },
  )
  .map((parts) => parts.join(''));

// --- Properties --------------------------------------------------------------------------------------------

describe('manifest parser fuzz', () => {
  test('any text, as JSON or YAML, is a manifest or a manifest error', async () => {
    await fuzz(
      fc.asyncProperty(
        fc.oneof(
          anyString({ maxLength: 200 }),
          fc.json(),
          yamlishText,
          anyJsonValue.map((v) => JSON.stringify(v)),
        ),
        fc.constantFrom('m.yaml', 'm.json', 'm.txt', '<inline>'),
        async (text, source) => {
          await outcome(text, source);
        },
      ),
      150,
    );
  });

  test('structured manifests: JSON and YAML texts of one document get the same verdict and problems', async () => {
    await fuzz(
      fc.asyncProperty(structuredManifest, async (doc) => {
        // The yaml library's stringify does not round-trip every string (e.g. " \n" comes back as "\n"):
        // compare the YAML text with the JSON of the document it actually holds.
        const yamlText = toYaml(doc);
        const json = await outcome(JSON.stringify(parseYaml(yamlText)), 'm.json');
        const yaml = await outcome(yamlText, 'm.yaml');
        assert.equal(yaml.ok, json.ok, 'same verdict');
        assert.deepEqual(yaml.problems, json.problems, 'same problems');
        if (!json.ok) assert.equal(json.parse, false, 'a document JSON.stringify wrote always parses');
      }),
      150,
    );
  });

  test('the structured arbitrary reaches both verdicts (not every case stops at the first check)', () => {
    // Not a property: a check of the generator itself, on a fixed seed.
    const docs = fc.sample(structuredManifest, { numRuns: 300, seed: 42 });
    const valid = docs.filter(
      (d) => validateManifest(d, BUILTIN_NODE_TYPES, { source: 'x', baseDir: BASE_DIR }).ok,
    );
    assert.ok(valid.length >= 30, `${valid.length} of 300 valid`);
    assert.ok(valid.length <= 270, `${valid.length} of 300 valid`);
  });

  test('hostile node ids (__proto__, constructor) are ids like any other', async () => {
    const doc = {
      version: 'v1',
      metadata: { name: 'x' },
      nodes: [
        { id: '__proto__', node_type: 'DataSource', params: { items: [1] } },
        { id: 'constructor', node_type: 'PassThrough' },
      ],
      connections: [{ from: '__proto__', to: 'constructor' }],
    };
    assert.deepEqual(await outcome(JSON.stringify(doc), 'm.json'), { ok: true, problems: [] });
    assert.deepEqual(await outcome(toYaml(doc), 'm.yaml'), { ok: true, problems: [] });
  });
});
