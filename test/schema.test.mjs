// The committed JSON Schema for editors must be exactly what the schemas and the registry generate.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderRemoteMediaDoc } from '../dist/nodes/remotemedia-doc.js';
import { renderManifestSchema } from '../dist/nodes/schema-file.js';
import { renderModelRepositorySchema } from '../dist/inference/tensor/model-repository.js';

test('schemas/manifest.v1.json is up to date (run npm run gen:schema)', () => {
  const committed = readFileSync(new URL('../schemas/manifest.v1.json', import.meta.url), 'utf8');
  assert.equal(committed, renderManifestSchema());
});

test('schemas/models.v1.json is up to date (run npm run gen:schema)', () => {
  const committed = readFileSync(new URL('../schemas/models.v1.json', import.meta.url), 'utf8');
  assert.equal(committed, renderModelRepositorySchema());
  // The seed's paths: {pytorch, onnx} is in it.
  const paths = JSON.parse(committed).properties.models.patternProperties;
  const model = Object.values(paths)[0];
  assert.deepEqual(Object.keys(model.properties.paths.properties).sort(), [
    'onnx',
    'pytorch',
    'tfjs',
    'tokenizer',
  ]);
});

test('the schema names every built-in node type and its params', () => {
  const schema = JSON.parse(renderManifestSchema());
  const node = schema.properties.nodes.items;
  assert.ok(node.properties.node_type.enum.includes('CalculatorNode'));
  const calc = node.allOf.find((c) => c.if.properties.node_type.enum.includes('Calculator'));
  assert.deepEqual(Object.keys(calc.then.properties.params.properties).sort(), ['operand', 'operation']);
});

test('docs/remotemedia-nodes.md is up to date (run npm run gen:schema)', () => {
  const committed = readFileSync(new URL('../docs/remotemedia-nodes.md', import.meta.url), 'utf8');
  assert.equal(committed, renderRemoteMediaDoc());
});
