/**
 * The model server's routes as its OpenAPI document describes them (services/http/openapi.ts): the KServe v2 /
 * Open Inference Protocol REST API with Triton's binary tensor data extension (a JSON header, then raw tensor
 * bytes, its length in the `Inference-Header-Content-Length` header), and KServe's `{"error": "..."}` refusals.
 * The infer routes read their bodies themselves (body-reader.ts, inference/kserve/codec.ts), not from the schema
 * here: the body may be a JSON header followed by binary tensor bytes (which no JSON schema reads), its data arrays
 * can hold millions of values (ajv would walk each one before the codec, which checks them against the model's
 * inputs as it reads them and names the tensor), and it may arrive compressed; this says what they take and answer.
 * The repository extension's bodies are validated from their schemas (triton-extensions.ts, `validatedBy`),
 * refused as KServe's `{"error": "field: ..."}` with 400.
 */
import { Type, type TProperties, type TSchema } from '@sinclair/typebox';
import { TENSOR_DATATYPES } from '../../inference/tensor/tensor.js';
import { empty, json, text, type ApiDoc, type RouteDoc, type RouteDocs } from '../http/openapi.js';

const KServeError = Type.Object({
  error: Type.String({ description: 'what was wrong, naming the tensor, the field or the limit' }),
});
const error = (description: string): TSchema => json(description, KServeError);

const Datatype = Type.Union(
  TENSOR_DATATYPES.map((d) => Type.Literal(d)),
  { description: 'KServe v2 tensor datatype (BYTES is not served)' },
);

const TensorMetadata = Type.Object({
  name: Type.String(),
  datatype: Datatype,
  shape: Type.Array(Type.Integer(), { description: '-1 for a variable dimension' }),
});

const ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String({ description: 'e.g. onnxruntime_onnx' }),
  inputs: Type.Array(TensorMetadata),
  outputs: Type.Array(TensorMetadata),
});

const Parameters = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));

const TensorData = Type.Array(Type.Unknown(), {
  description:
    'the elements, flat in row-major order or nested by the shape; absent when sent as binary data',
});

const InferInput = Type.Object({
  name: Type.String(),
  shape: Type.Array(Type.Integer({ minimum: 0 })),
  datatype: Datatype,
  parameters: Type.Optional(
    Type.Intersect([
      Parameters,
      Type.Object({
        binary_data_size: Type.Optional(
          Type.Integer({ minimum: 0, description: 'bytes of this tensor in the binary part of the body' }),
        ),
      }),
    ]),
  ),
  data: Type.Optional(TensorData),
});

const InferRequest = Type.Object({
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(
    Type.Intersect([
      Parameters,
      Type.Object({
        binary_data_output: Type.Optional(Type.Boolean({ description: 'every output as binary data' })),
      }),
    ]),
  ),
  inputs: Type.Array(InferInput),
  outputs: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        parameters: Type.Optional(
          Type.Intersect([
            Parameters,
            Type.Object({
              binary_data: Type.Optional(Type.Boolean({ description: 'this output as binary data' })),
            }),
          ]),
        ),
      }),
      { description: 'the outputs wanted (absent: every output of the model)' },
    ),
  ),
});

const InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.Optional(Type.String()),
  id: Type.Optional(Type.String()),
  outputs: Type.Array(
    Type.Object({
      name: Type.String(),
      shape: Type.Array(Type.Integer()),
      datatype: Datatype,
      parameters: Type.Optional(Parameters),
      data: Type.Optional(TensorData),
    }),
  ),
});

const BINARY =
  "Triton's binary tensor data extension: the JSON request (or response), then the bytes of every tensor whose " +
  '`parameters.binary_data_size` is set, in order (little-endian, row-major, BOOL one byte per element); ' +
  'the JSON part is `Inference-Header-Content-Length` bytes long.';

const Model = Type.Object({ model: Type.String({ description: 'model name' }) });
const ModelVersion = Type.Object({ model: Type.String(), version: Type.String() });

const Duration = Type.Object({
  count: Type.Integer(),
  ns: Type.Integer({ description: 'total nanoseconds' }),
});

const ModelStats = Type.Object({
  name: Type.String(),
  version: Type.String(),
  last_inference: Type.Integer({ description: 'ms since the epoch of the last request, 0 if none' }),
  inference_count: Type.Integer({ description: 'inferences, a batch of n counting n' }),
  execution_count: Type.Integer({ description: 'model executions (batches)' }),
  inference_stats: Type.Object({
    success: Duration,
    fail: Duration,
    queue: Duration,
    compute_input: Duration,
    compute_infer: Duration,
    compute_output: Duration,
    cache_hit: Duration,
    cache_miss: Duration,
  }),
  batch_stats: Type.Array(
    Type.Object({
      batch_size: Type.Integer(),
      compute_input: Duration,
      compute_infer: Duration,
      compute_output: Duration,
    }),
  ),
});

const ConfigTensor = Type.Object({
  name: Type.String(),
  data_type: Type.String({ description: 'Triton data type, e.g. TYPE_FP32' }),
  dims: Type.Array(Type.Integer()),
});

const ModelConfig = Type.Object(
  {
    name: Type.String(),
    platform: Type.String(),
    backend: Type.String(),
    max_batch_size: Type.Integer({ description: '0: the model takes no batch dimension' }),
    input: Type.Array(ConfigTensor),
    output: Type.Array(ConfigTensor),
    dynamic_batching: Type.Optional(
      Type.Object({
        preferred_batch_size: Type.Array(Type.Integer()),
        max_queue_delay_microseconds: Type.Integer(),
      }),
    ),
    instance_group: Type.Array(
      Type.Object({ name: Type.String(), kind: Type.Literal('KIND_CPU'), count: Type.Integer() }),
    ),
  },
  { additionalProperties: true },
);

/** Triton's booleans: the refusal says `must be a boolean (true or false)`. */
const Flag = (description: string) => Type.Boolean({ title: 'a boolean (true or false)', description });

/**
 * A body of the repository extension: optional (absent or empty is null), a JSON object whose fields are all
 * known; any other field is refused, naming it (every field is honoured or refused, never ignored).
 */
const ControlBody = <T extends TProperties>(properties: T) =>
  Type.Union([Type.Object(properties, { additionalProperties: false }), Type.Null()], {
    title: 'a JSON object',
    description: 'optional; a field not listed is refused with 400 naming it',
  });

/** The body of `POST /v2/repository/index`. */
const IndexBody = ControlBody({
  ready: Type.Optional(
    Type.Union([Flag('only the models ready (default false)'), Type.Null()], {
      title: 'a boolean (true or false)',
    }),
  ),
});

/** The `parameters` of a load or unload request (absent or null: none). */
const ControlParameters = <T extends TProperties>(properties: T, description: string) =>
  Type.Optional(
    Type.Union([Type.Object(properties, { additionalProperties: false, description }), Type.Null()], {
      title: 'an object',
    }),
  );

/** The body of `POST /v2/repository/models/{m}/load`: Triton's load parameters (config, files) are refused. */
const LoadBody = ControlBody({
  parameters: ControlParameters({}, 'pitlane loads models from its repository file as they are'),
});

/** The body of `POST /v2/repository/models/{m}/unload`. */
const UnloadBody = ControlBody({
  parameters: ControlParameters(
    { unload_dependents: Type.Optional(Flag('taken; nothing depends on a model here')) },
    'the parameters taken here are: unload_dependents',
  ),
});

const REPOSITORY = "Triton's model repository extension";

const ops = ['operations'];

/** A route and its versioned twin (`/versions/:version`), documented alike. */
function withVersion(path: string, method: string, doc: RouteDoc): Record<string, RouteDoc> {
  const versioned = path.replace('/v2/models/:model', '/v2/models/:model/versions/:version');
  return {
    [`${method} ${path}`]: { ...doc, params: Model },
    [`${method} ${versioned}`]: { ...doc, summary: `${doc.summary} (a version)`, params: ModelVersion },
  };
}

/** The model server's routes; the repository extension's bodies are validated from these schemas. */
export const MODEL_SERVER_ROUTES = {
  'GET /v2': {
    summary: 'Server metadata',
    tags: ['server'],
    response: {
      200: json(
        'name, version and the protocol extensions served',
        Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) }),
      ),
    },
  },
  'GET /v2/health/live': {
    summary: 'Server liveness',
    tags: ops,
    response: { 200: empty('live') },
  },
  'GET /v2/health/ready': {
    summary: 'Server readiness',
    tags: ops,
    response: { 200: empty('every model is loaded'), 503: empty('still loading') },
  },
  ...withVersion('/v2/models/:model', 'GET', {
    summary: 'Model metadata',
    tags: ['models'],
    response: {
      200: json('the model and its tensors', ModelMetadata),
      404: error('unknown model or version'),
    },
  }),
  ...withVersion('/v2/models/:model/ready', 'GET', {
    summary: 'Model readiness',
    tags: ['models'],
    response: {
      200: empty('ready'),
      404: error('unknown model or version'),
      503: error('not ready yet'),
    },
  }),
  ...withVersion('/v2/models/:model/infer', 'POST', {
    summary: 'Run inference',
    description:
      `JSON, or ${BINARY} A body may be sent gzip- or deflate-compressed (Content-Encoding). Requests are batched ` +
      'with others for the same model (dynamic batching).',
    tags: ['inference'],
    headers: Type.Object({
      'inference-header-content-length': Type.Optional(
        Type.Integer({
          minimum: 0,
          description: 'length of the JSON part when binary tensor data follows it',
        }),
      ),
      'content-encoding': Type.Optional(
        Type.Union([Type.Literal('gzip'), Type.Literal('deflate'), Type.Literal('identity')]),
      ),
    }),
    body: {
      content: {
        'application/json': { schema: InferRequest },
        'application/octet-stream': {
          schema: Type.String({ format: 'binary', description: BINARY }),
        },
      },
    },
    response: {
      200: {
        description:
          'the outputs: JSON, or (when binary outputs were asked for) the JSON header and the output bytes, ' +
          'with Inference-Header-Content-Length',
        content: {
          'application/json': { schema: InferResponse },
          'application/octet-stream': { schema: Type.String({ format: 'binary' }) },
        },
      },
      400: error('a malformed body, or tensors that do not fit the model (the message names the tensor)'),
      404: error('unknown model or version'),
      413: error('the body is over --max-body-mb'),
      415: error('an unsupported Content-Encoding'),
      429: error(
        'the queue is full or the request bytes in flight are at --max-inflight-mb (see Retry-After)',
      ),
      503: error('the model is not ready yet'),
      500: error('inference failed'),
    },
  }),
  'POST /v2/repository/index': {
    summary: 'The models of the repository and their states',
    description: `${REPOSITORY}: every model of the model repository file, loaded or not.`,
    tags: ['repository'],
    body: IndexBody,
    response: {
      200: json(
        'one entry per model',
        Type.Array(
          Type.Object({
            name: Type.String(),
            version: Type.Optional(Type.String()),
            state: Type.Union(
              ['UNAVAILABLE', 'LOADING', 'READY', 'UNLOADING'].map((state) => Type.Literal(state)),
            ),
            reason: Type.String(),
          }),
        ),
      ),
      400: error('a malformed body or a field not taken (named)'),
    },
  },
  'POST /v2/repository/models/:model/load': {
    summary: 'Load a model of the repository',
    description: `${REPOSITORY}: answers once the model is loaded and warmed up. The body is optional.`,
    tags: ['repository'],
    params: Model,
    body: LoadBody,
    response: {
      200: empty('loaded'),
      400: error('a malformed body, a parameter not taken, or a load that failed (naming the error)'),
      404: error('no such model in the repository'),
    },
  },
  'POST /v2/repository/models/:model/unload': {
    summary: 'Unload a model',
    description: `${REPOSITORY}: answers once the requests in flight have finished. The body is optional.`,
    tags: ['repository'],
    params: Model,
    body: UnloadBody,
    response: {
      200: empty('unloaded'),
      400: error('a malformed body or a parameter not taken'),
      404: error('no such model in the repository'),
    },
  },
  ...withVersion('/v2/models/:model/config', 'GET', {
    summary: "Model configuration (Triton's)",
    tags: ['models'],
    response: {
      200: json("Triton's model configuration JSON", ModelConfig),
      404: error('unknown model or version'),
      503: error('the model is not loaded'),
    },
  }),
  'GET /v2/models/stats': {
    summary: 'Inference statistics of every model',
    tags: ['models'],
    response: { 200: json("Triton's statistics", Type.Object({ model_stats: Type.Array(ModelStats) })) },
  },
  ...withVersion('/v2/models/:model/stats', 'GET', {
    summary: 'Inference statistics of a model',
    tags: ['models'],
    response: {
      200: json("Triton's statistics", Type.Object({ model_stats: Type.Array(ModelStats) })),
      404: error('unknown model or version'),
    },
  }),
  'GET /metrics': {
    summary: "Prometheus metrics (Triton's metric names)",
    tags: ops,
    response: { 200: text('Prometheus text exposition format') },
  },
} satisfies RouteDocs;

/** The model server's OpenAPI description. */
export function modelServerApiDoc(version: string): ApiDoc {
  return {
    title: 'pitlane models (KServe v2)',
    description:
      "The KServe v2 / Open Inference Protocol REST API with Triton's binary tensor data extension. Errors are " +
      '`{"error": "..."}`. See docs/models.md.',
    version,
    tags: [
      { name: 'server', description: 'server metadata' },
      { name: 'models', description: 'model metadata and readiness' },
      { name: 'inference', description: 'inference requests' },
      { name: 'repository', description: "Triton's model repository extension (served with a local engine)" },
      { name: 'operations', description: 'health probes and metrics' },
    ],
    routes: MODEL_SERVER_ROUTES,
  };
}
