/**
 * The manifest v1 schema, written once in TypeBox: it validates manifests (manifest.ts), types them, and is
 * emitted as JSON Schema for editors (schemas/manifest.v1.json, with every registered node type's params;
 * `npm run gen:schema` writes it and a test fails if the committed file drifts).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { NodeTypeRegistry } from './node.js';

/** Queue policy of a node's input queue when it is full. */
export const QueuePolicySchema = Type.Union(
  [Type.Literal('block'), Type.Literal('drop_oldest'), Type.Literal('drop_newest')],
  { description: 'What happens when the input queue is full: wait (block), or drop an item and count it.' },
);

/** Error policy of a pipeline. */
export const ErrorPolicySchema = Type.Union([Type.Literal('fail'), Type.Literal('skip')], {
  description: 'fail: stop at the first item error. skip: record it in the output and go on.',
});

const QueueSettings = {
  queue_capacity: Type.Optional(Type.Integer({ minimum: 1, description: 'Capacity of the input queue.' })),
  queue_policy: Type.Optional(QueuePolicySchema),
};

/** pitlane's own per-pipeline options. */
export const PipelineSettingsSchema = Type.Object(
  { ...QueueSettings, on_error: Type.Optional(ErrorPolicySchema) },
  { additionalProperties: false },
);

/** pitlane's own per-node options. */
export const NodeSettingsSchema = Type.Object(QueueSettings, { additionalProperties: false });

/** Runtime hints: pitlane's names and RemoteMedia's. */
export const RuntimeHintSchema = Type.Union(
  [
    Type.Literal('auto'),
    Type.Literal('cpython'),
    Type.Literal('pyodide'),
    Type.Literal('cpython_wasm'),
    Type.Literal('rust_python'),
  ],
  { description: 'Where a Python node runs: cpython (worker process), pyodide (in-process), or auto.' },
);

const Id = Type.String({ minLength: 1 });
const Kept = (description: string): TSchema => Type.Optional(Type.Unknown({ description }));

/** Node fields; `params` is checked separately against the node type's own schema. */
export const NodeSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, description: 'Unique id of the node in the pipeline.' }),
    node_type: Type.String({ minLength: 1, description: 'A registered node type or alias.' }),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Node parameters.' })),
    runtime_hint: Type.Optional(RuntimeHintSchema),
    is_streaming: Type.Optional(
      Type.Boolean({ description: 'The node may output several items per input.' }),
    ),
    is_output_node: Type.Optional(
      Type.Boolean({ description: 'Also send this node’s outputs to the pipeline output.' }),
    ),
    settings: Type.Optional(NodeSettingsSchema),
    capabilities: Kept('RemoteMedia: capability requirements (kept, not acted on).'),
    media_capabilities: Kept('RemoteMedia: media format capabilities (kept, not acted on).'),
    host: Kept('RemoteMedia: execution host (kept, not acted on).'),
    execution: Kept('RemoteMedia: execution placement (kept, not acted on).'),
    docker: Kept('RemoteMedia: Docker configuration (kept, not acted on).'),
    python_deps: Kept('RemoteMedia: Python dependencies (kept, not acted on).'),
    metadata: Kept('Free-form node metadata (kept).'),
  },
  { additionalProperties: false },
);

export const ConnectionSchema = Type.Object(
  { from: Id, to: Id },
  { additionalProperties: false, description: 'An edge: items output by `from` go to `to`.' },
);

export const MetadataSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Name of the pipeline.' }),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/** The whole manifest (structure only). */
export const ManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal('v1', { description: 'Manifest format version.' }),
    metadata: MetadataSchema,
    nodes: Type.Array(NodeSchema, { minItems: 1 }),
    connections: Type.Optional(Type.Array(ConnectionSchema)),
    settings: Type.Optional(PipelineSettingsSchema),
  },
  { additionalProperties: false },
);

/** A manifest as written (after parsing, before normalisation). */
export type ManifestDocument = Static<typeof ManifestSchema>;
export type NodeDocument = Static<typeof NodeSchema>;

/**
 * The JSON Schema for editors: the manifest structure plus, for each node type, its params schema
 * (selected by `node_type` with if/then so editors can complete params).
 */
export function manifestJsonSchema(registry: NodeTypeRegistry): Record<string, unknown> {
  const strip = (s: unknown): unknown => JSON.parse(JSON.stringify(s)) as unknown;
  const manifest = strip(ManifestSchema) as Record<string, unknown>;
  const node = strip(NodeSchema) as Record<string, Record<string, unknown>>;
  const names = registry.types.flatMap((t) => [t.name, ...t.aliases]);
  const nodeProps = node.properties as Record<string, Record<string, unknown>>;
  nodeProps.node_type = { ...nodeProps.node_type, enum: names };
  node.allOf = registry.types.map((t) => ({
    if: { properties: { node_type: { enum: [t.name, ...t.aliases] } }, required: ['node_type'] },
    then: { properties: { params: { description: t.description, ...(strip(t.params) as object) } } },
  })) as unknown as Record<string, unknown>;
  const props = manifest.properties as Record<string, Record<string, unknown>>;
  props.nodes = { ...props.nodes, items: node };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'pitlane pipeline manifest v1',
    ...manifest,
  };
}
