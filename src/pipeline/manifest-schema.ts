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
const KeptString = (description: string): TSchema => Type.Optional(Type.String({ description }));
/** An object pitlane keeps as written without checking its fields (RemoteMedia's nested configuration). */
const KeptObject = (description: string): TSchema =>
  Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description }));

/*
 * Objects below are open (unknown fields do not fail the schema check): RemoteMedia does not deny unknown
 * fields, so manifest-fields.ts reports them as warnings ("did you mean") and `--strict` makes them errors.
 * An object marked `additionalProperties: true` is free-form (no warnings); `false` is pitlane's own and strict.
 */

/** RemoteMedia's `ManifestPythonEnv` (crates/core/src/manifest.rs). */
export const PythonEnvSchema = Type.Object(
  {
    python_version: KeptString('Python version of the managed environment, e.g. "3.11".'),
    scope: Type.Optional(
      Type.Union([Type.Literal('global'), Type.Literal('per_pipeline'), Type.Literal('per_node')], {
        description: 'Scope of the managed environment.',
      }),
    ),
    extra_deps: Type.Optional(
      Type.Array(Type.String(), { description: 'Extra dependencies for every node of the pipeline.' }),
    ),
  },
  { description: 'RemoteMedia: managed Python environment (kept, not acted on).' },
);

/** RemoteMedia's `ExecutionMetadata`. */
export const ExecutionSchema = Type.Object(
  {
    placement: KeptString('local, remote, prefer_local, prefer_remote or auto.'),
    reason: KeptString('Why this placement.'),
    fallback: KeptString('Fallback node if this one cannot execute.'),
  },
  { description: 'RemoteMedia: execution placement (kept, not acted on).' },
);

/** RemoteMedia's `CapabilityRequirements` with its `GpuRequirement` and `CpuRequirement`. */
export const CapabilitiesSchema = Type.Object(
  {
    gpu: Type.Optional(
      Type.Object({
        type: Type.String({ description: 'cuda, rocm or metal.' }),
        min_memory_gb: Type.Optional(Type.Number()),
        required: Type.Optional(Type.Boolean()),
      }),
    ),
    cpu: Type.Optional(
      Type.Object({ cores: Type.Optional(Type.Integer({ minimum: 0 })), arch: Type.Optional(Type.String()) }),
    ),
    memory_gb: Type.Optional(Type.Number()),
  },
  { description: 'RemoteMedia: capability requirements (kept, not acted on).' },
);

/** Node fields; `params` is checked separately against the node type's own schema. */
export const NodeSchema = Type.Object({
  id: Type.String({ minLength: 1, description: 'Unique id of the node in the pipeline.' }),
  node_type: Type.String({ minLength: 1, description: 'A registered node type or alias.' }),
  params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Node parameters.' })),
  runtime_hint: Type.Optional(RuntimeHintSchema),
  is_streaming: Type.Optional(Type.Boolean({ description: 'The node may output several items per input.' })),
  is_output_node: Type.Optional(
    Type.Boolean({ description: 'Also send this node’s outputs to the pipeline output.' }),
  ),
  settings: Type.Optional(NodeSettingsSchema),
  capabilities: Type.Optional(CapabilitiesSchema),
  media_capabilities: KeptObject('RemoteMedia: media format capabilities (kept, not acted on).'),
  host: KeptString('RemoteMedia: execution host (kept, not acted on).'),
  execution: Type.Optional(ExecutionSchema),
  docker: KeptObject('RemoteMedia: Docker configuration (kept, not acted on).'),
  fast_path: Type.Optional(
    Type.Boolean({ description: 'RemoteMedia: low-latency execution path (kept, not acted on).' }),
  ),
  python_deps: Type.Optional(
    Type.Array(Type.String(), { description: 'RemoteMedia: Python dependencies (kept, not acted on).' }),
  ),
  metadata: Kept('Free-form node metadata (kept).'),
  comment: Kept('A comment (kept).'),
  description: Kept('A description (kept).'),
});

export const ConnectionSchema = Type.Object(
  {
    from: Id,
    to: Id,
    type: Kept('The kind of data on the edge, as RemoteMedia’s manifests write it (kept, not acted on).'),
    comment: Kept('A comment (kept).'),
    description: Kept('A description (kept).'),
  },
  { description: 'An edge: items output by `from` go to `to`.' },
);

/** Pipeline metadata: free-form (other fields are kept as written); RemoteMedia's `ManifestMetadata`. */
export const MetadataSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({ minLength: 1, description: 'Name of the pipeline; default: the file name.' }),
    ),
    description: Type.Optional(Type.String()),
    created_at: KeptString('RemoteMedia: creation timestamp (kept).'),
    auto_negotiate: Type.Optional(
      Type.Boolean({ description: 'RemoteMedia: automatic capability negotiation (kept, not acted on).' }),
    ),
  },
  { additionalProperties: true },
);

/**
 * Paths of the fields pitlane keeps but does not act on (RemoteMedia's, and comments): a value of the wrong type
 * there cannot change a run, so it is a warning, not an error.
 */
export const KEPT_FIELD_PATH =
  /^\$(?:\.nodes\[\d+\]\.(?:capabilities|media_capabilities|host|execution|docker|fast_path|python_deps|metadata|comment|description)|\.python_env|\.metadata\.(?:created_at|auto_negotiate)|\.connections\[\d+\]\.(?:type|comment|description))(?![\w$])/;

/** The manifest versions read as v1: "v1", and "1.0" (RemoteMedia's pipeline-runner templates), with a warning. */
export const MANIFEST_VERSIONS = ['v1', '1.0'] as const;

/** The whole manifest (structure only). */
export const ManifestSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  version: Type.Union(
    MANIFEST_VERSIONS.map((v) => Type.Literal(v)),
    { description: 'Manifest format version: "v1" ("1.0" is read as v1, with a warning).' },
  ),
  metadata: Type.Optional(MetadataSchema),
  nodes: Type.Array(NodeSchema, { minItems: 1 }),
  connections: Type.Optional(Type.Array(ConnectionSchema)),
  python_env: Type.Optional(PythonEnvSchema),
  settings: Type.Optional(PipelineSettingsSchema),
});

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
