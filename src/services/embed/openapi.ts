/**
 * The embed service's routes as its OpenAPI document describes them (services/http/openapi.ts): TEI's routes
 * with TEI's `{error, error_type}` refusals (422 for a bad field), and OpenAI's `/v1` routes with OpenAI's
 * `{error: {message, type, param, code}}` (400 for a bad field). The bodies are validated from these schemas
 * (app.ts, `validatedBy`; TypeBox types the handlers): a schema says what a field is, the handler what depends on
 * the server (the model's dimension, its vocabulary and prompts, the models served, --max-client-batch-size and
 * --max-request-tokens), as the descriptions say. A `title` is what the refusal says a valid value is
 * (services/http/schema-refusal.ts). Fields a route does not know are ignored, as TEI's and OpenAI's are.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { json, text, type ApiDoc, type RouteDocs } from '../http/openapi.js';

const TeiError = Type.Object({
  error: Type.String({ description: 'what was wrong, naming the field or the limit and its flag' }),
  error_type: Type.Union([
    Type.Literal('Validation'),
    Type.Literal('Overloaded'),
    Type.Literal('Backend'),
    Type.Literal('Unhealthy'),
  ]),
});
const OpenAiError = Type.Object({
  error: Type.Object({
    message: Type.String(),
    type: Type.Union([
      Type.Literal('invalid_request_error'),
      Type.Literal('requests'),
      Type.Literal('server_error'),
    ]),
    param: Type.Union([Type.String(), Type.Null()], { description: 'the request field the error is about' }),
    code: Type.Union([Type.String(), Type.Null()], {
      description: 'model_not_found, unknown_url, rate_limit_exceeded, or null',
    }),
  }),
});
const tei = (description: string): TSchema => json(description, TeiError);
const openai = (description: string): TSchema => json(description, OpenAiError);

const TokenId = Type.Integer({ minimum: 0, maximum: 0x7fffffff, title: 'a token id (an integer ≥ 0)' });
const TokenIds = Type.Array(TokenId, {
  minItems: 1,
  title: 'an array of token ids',
  description: 'token ids of the model (checked against its vocabulary by the handler)',
});
const Text = Type.String({ minLength: 1 });

/** Texts or token ids: one or several. */
const Inputs = (field: string) =>
  Type.Union([Text, Type.Array(Text, { minItems: 1 }), TokenIds, Type.Array(TokenIds, { minItems: 1 })], {
    title: 'a string, an array of strings or token ids',
    description:
      `one text, several, one sequence of token ids, or several (\`${field}\`); at most ` +
      '--max-client-batch-size of them and --max-request-tokens tokens in all (checked by the handler)',
  });

/** A field TEI takes as absent when null (serde's Option). */
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const Model = Type.Optional(
  Type.String({ description: 'a served model (default: the first one); unknown: 404, from the handler' }),
);
const TRUNCATE = "cut inputs over the model's limit instead of refusing them (413); default --auto-truncate";
const Dimensions = Type.Optional(
  Nullable(
    Type.Integer({
      description:
        "keep the first n values (Matryoshka), normalised again; from 1 to the model's dimension (checked by the handler)",
    }),
  ),
);

const Direction = Type.Optional(
  Type.Union(
    [Type.Literal('Right'), Type.Literal('right'), Type.Literal('Left'), Type.Literal('left'), Type.Null()],
    {
      title: '"Right" or "Left" (or "right", "left")',
      description: 'which end of an input over the limit is cut, with truncate (default Right)',
    },
  ),
);
const PromptName = Type.Optional(
  Nullable(
    Type.String({
      description:
        "a prompt of the model's (sentence-transformers' prompts), put before each text; unknown: 422, from the handler",
    }),
  ),
);

/** The body of TEI's `/embed`. */
export const EmbedBody = Type.Object({
  inputs: Inputs('inputs'),
  model: Model,
  normalize: Type.Optional(Type.Boolean({ description: 'default true' })),
  truncate: Type.Optional(Nullable(Type.Boolean({ description: TRUNCATE }))),
  truncation_direction: Direction,
  prompt_name: PromptName,
  dimensions: Dimensions,
});

/** The body of TEI's `/embed_all`. */
export const EmbedAllBody = Type.Object({
  inputs: Inputs('inputs'),
  model: Model,
  truncate: Type.Optional(Nullable(Type.Boolean({ description: TRUNCATE }))),
  truncation_direction: Direction,
  prompt_name: PromptName,
});

/** The body of TEI's `/tokenize`. */
const TextOnly = Type.String({ minLength: 1, title: 'a text (/tokenize takes text, not token ids)' });
export const TokenizeBody = Type.Object({
  inputs: Type.Union([TextOnly, Type.Array(TextOnly, { minItems: 1 })], {
    title: 'a string or an array of strings',
    description: 'texts (not token ids); at most --max-client-batch-size of them (checked by the handler)',
  }),
  model: Model,
  add_special_tokens: Type.Optional(Type.Boolean({ description: 'default true' })),
  prompt_name: PromptName,
});

/** The body of TEI's `/decode`. */
export const DecodeBody = Type.Object({
  ids: Type.Union([TokenIds, Type.Array(TokenIds, { minItems: 1 })], {
    title: 'token ids (an array of integers, or an array of such arrays)',
  }),
  model: Model,
  skip_special_tokens: Type.Optional(Type.Boolean({ description: 'default true' })),
});

/** The body of OpenAI's `/v1/embeddings`. */
export const OpenAiEmbeddingsBody = Type.Object({
  input: Inputs('input'),
  model: Model,
  encoding_format: Type.Optional(
    Type.Union([Type.Literal('float'), Type.Literal('base64'), Type.Null()], {
      title: '"float" or "base64"',
      description: 'default float',
    }),
  ),
  dimensions: Dimensions,
  truncate: Type.Optional(Type.Boolean({ description: TRUNCATE })),
  user: Type.Optional(Type.String({ description: 'accepted and ignored, as a tag of the caller' })),
});

const Vectors = Type.Array(Type.Array(Type.Number()), { description: 'one vector per input, in order' });

const teiRefusals = {
  413: tei("an input over the model's limit without truncate, or the body over --max-body-mb"),
  422: tei('a bad field, or over --max-client-batch-size or --max-request-tokens'),
  429: tei('over --max-concurrent-requests, or the queue is full (see Retry-After)'),
};

const ModelObject = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer({ description: 'Unix time the server started' }),
  owned_by: Type.String(),
});

/** The embed service's routes; the bodies are validated from these schemas (app.ts, `validatedBy`). */
export const EMBED_ROUTES = {
  'GET /health': {
    summary: 'Whether every model is loaded',
    tags: ['operations'],
    response: {
      200: json('ready', Type.Object({ status: Type.Literal('ok'), models: Type.Array(Type.String()) })),
      503: json('loading', Type.Object({ status: Type.Literal('loading') })),
    },
  },
  'GET /info': {
    summary: "The default model and the limits, in TEI's shape",
    tags: ['tei'],
    response: {
      200: json(
        "TEI's Info for the default model, then pitlane's own fields; `models` lists every model served",
        Type.Object(
          {
            model_id: Type.String(),
            model_dtype: Type.String(),
            model_type: Type.Object({}, { additionalProperties: true }),
            max_concurrent_requests: Type.Integer(),
            max_input_length: Type.Union([Type.Integer(), Type.Null()]),
            max_batch_tokens: Type.Union([Type.Integer(), Type.Null()]),
            max_client_batch_size: Type.Integer(),
            auto_truncate: Type.Boolean(),
            version: Type.String(),
            models: Type.Array(Type.Object({ model_id: Type.String() }, { additionalProperties: true })),
          },
          { additionalProperties: true },
        ),
      ),
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    tags: ['operations'],
    response: { 200: text('Prometheus text exposition format') },
  },
  'POST /embed': {
    summary: 'Embed texts or token ids (TEI)',
    tags: ['tei'],
    body: EmbedBody,
    response: { 200: json('the vectors', Vectors), ...teiRefusals },
  },
  'POST /tokenize': {
    summary: 'Tokenize texts (TEI)',
    tags: ['tei'],
    body: TokenizeBody,
    response: {
      200: json(
        "each text's tokens: special ones without a place, the others with their UTF-8 byte offsets in the text",
        Type.Array(
          Type.Array(
            Type.Object({
              id: Type.Integer(),
              text: Type.Union([Type.String(), Type.Null()]),
              special: Type.Boolean(),
              start: Type.Union([Type.Integer(), Type.Null()]),
              stop: Type.Union([Type.Integer(), Type.Null()]),
            }),
          ),
        ),
      ),
      ...teiRefusals,
    },
  },
  'POST /embed_all': {
    summary: "Every token's vector, before pooling (TEI)",
    description: 'Not normalised. A model whose graph pools inside gives pooled vectors only: 424.',
    tags: ['tei'],
    body: EmbedAllBody,
    response: {
      200: json('per input, one vector per token', Type.Array(Type.Array(Type.Array(Type.Number())))),
      424: tei('the model gives pooled vectors only'),
      ...teiRefusals,
    },
  },
  'POST /decode': {
    summary: 'Token ids back to text (TEI)',
    tags: ['tei'],
    body: DecodeBody,
    response: {
      200: json('one text per sequence', Type.Array(Type.String())),
      424: tei("the model's tokenizer cannot decode"),
      ...teiRefusals,
    },
  },
  ...Object.fromEntries(
    (
      [
        ['/rerank', 'Re-rank texts (TEI): not served'],
        ['/predict', 'Classify texts (TEI): not served'],
        ['/embed_sparse', 'Sparse embeddings (TEI): not served'],
      ] as const
    ).map(([path, summary]) => [
      `POST ${path}`,
      {
        summary,
        description: 'TEI serves this route for another kind of model; pitlane serves embedding models only.',
        tags: ['tei'],
        response: { 424: tei('the route needs a kind of model pitlane does not serve (named)') },
      },
    ]),
  ),
  'POST /v1/embeddings': {
    summary: 'Create embeddings (OpenAI)',
    tags: ['openai'],
    body: OpenAiEmbeddingsBody,
    response: {
      200: json(
        'one embedding per input, and the tokens counted',
        Type.Object({
          object: Type.Literal('list'),
          data: Type.Array(
            Type.Object({
              object: Type.Literal('embedding'),
              index: Type.Integer(),
              embedding: Type.Union([
                Type.Array(Type.Number()),
                Type.String({ description: 'base64 of little-endian float32' }),
              ]),
            }),
          ),
          model: Type.String(),
          usage: Type.Object({ prompt_tokens: Type.Integer(), total_tokens: Type.Integer() }),
        }),
      ),
      400: openai('a bad field, or over --max-client-batch-size or --max-request-tokens'),
      404: openai('unknown model'),
      413: openai("an input over the model's limit without truncate, or the body over --max-body-mb"),
      429: openai('over --max-concurrent-requests, or the queue is full (see Retry-After)'),
    },
  },
  'GET /v1/models': {
    summary: 'List the models (OpenAI)',
    tags: ['openai'],
    response: {
      200: json(
        'the models served',
        Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelObject) }),
      ),
    },
  },
  'GET /v1/models/:model': {
    summary: 'A model (OpenAI)',
    tags: ['openai'],
    params: Type.Object({ model: Type.String() }),
    response: { 200: json('the model', ModelObject), 404: openai('unknown model (code model_not_found)') },
  },
} satisfies RouteDocs;

/** The embed service's OpenAPI description. */
export function embedApiDoc(version: string): ApiDoc {
  return {
    title: 'pitlane embed',
    description:
      "Text embeddings: text-embeddings-inference's API (errors `{error, error_type}`) and OpenAI's `/v1` " +
      'embeddings and models (errors `{error: {message, type, param, code}}`). See docs/embed.md.',
    version,
    tags: [
      { name: 'tei', description: "text-embeddings-inference's API" },
      { name: 'openai', description: "OpenAI's embeddings API" },
      { name: 'operations', description: 'health and metrics' },
    ],
    routes: EMBED_ROUTES,
  };
}
