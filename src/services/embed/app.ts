/**
 * The embed service's HTTP API (fastify): TEI's `/embed`, `/tokenize`, `/info` and `/health`, OpenAI's
 * `/v1/embeddings`, and Prometheus `/metrics`. Handlers only validate, call an EmbeddingService and shape the
 * answer; every error names the field it is about, in the error format of the API it belongs to (TEI:
 * `{error, error_type}`; OpenAI: `{error: {message, type, param, code}}`).
 * Reading the body's fields is embed-requests.ts; the error handler is the shared one (services/http).
 *
 * Memory is bounded by the limits (EmbedLimits), each checked before anything proportional to what it bounds is
 * allocated: requests in flight when a request arrives (429, before its body is read), the body size while it
 * is read (413), the values in the body before it is parsed and the inputs before they are tokenized (422 TEI /
 * 400 OpenAI), and the tokens as they are counted, chunk by chunk (422 / 400).
 */
import { InputTooLongError, QueueFullError, TooManyTokensError } from '../../core/errors.js';
import { isAbsolute, relative } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { type EmbeddingService, type EmbedResult } from '../../inference/text/embedding-service.js';
import { l2Normalize } from '../../inference/text/pooling.js';
import { setServiceErrorHandler } from '../http/error-handler.js';
import { registerOpenApi } from '../http/openapi.js';
import { installRequestLog, loggingOptions } from '../http/request-log.js';
import { ClientGone, HttpProblem } from '../http/problem.js';
import {
  countJsonValues,
  discardRest,
  formatLimitValue,
  InFlightBudget,
  overLimit,
  type RequestLimit,
} from '../http/request-limits.js';
import {
  objectBody,
  pickService,
  readBoolean,
  readInputs,
  validationStatus,
  type Api,
  type EmbedInputs,
} from './embed-requests.js';
import type { EmbedMetrics } from './metrics.js';
import { embedApiDoc } from './openapi.js';

/** What the app serves; `ready` turns true once every model is loaded and warm. */
export interface EmbedState {
  readonly services: Map<string, EmbeddingService>;
  ready: boolean;
}

/** What one request may hold, and how many may be in flight (defaults: EMBED_LIMIT_DEFAULTS). */
export interface EmbedLimits {
  /** Inputs per request (TEI's max_client_batch_size). */
  readonly maxClientBatchSize: number;
  /** Tokens per request, all inputs together, after truncation, specials included. */
  readonly maxRequestTokens: number;
  /** Requests (POST) being read, tokenized, queued or answered at once; more: 429 before the body is read. */
  readonly maxConcurrentRequests: number;
}

/**
 * The defaults, in one place. TEI's max_client_batch_size (32), and its max_batch_tokens (16384 = 32 inputs
 * of 512 tokens) as the token limit of one request. 64 requests in flight keep 2 cores busy with room to spare
 * (a batch runs at a time); with a 2 MiB body each, their bodies are bounded at 128 MiB however many clients
 * come. See docs/embed.md, "Resource limits".
 */
export const EMBED_LIMIT_DEFAULTS: EmbedLimits = Object.freeze({
  maxClientBatchSize: 32,
  maxRequestTokens: 16_384,
  maxConcurrentRequests: 64,
});

/** Default largest request body: 2 MiB (TEI's payload limit is 2 MB). */
export const DEFAULT_EMBED_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * JSON values a body may hold beyond its inputs (the other fields), before it is refused unparsed. A body of
 * 32 inputs holds about 35 values; one with 3×10^6 is refused after one pass over its text.
 */
const OTHER_JSON_VALUES = 64;

/** The limits of the embed service as documented and enforced (for refusals, --help and the docs table). */
export function embedRequestLimits(bodyLimitBytes: number, limits: EmbedLimits): RequestLimit[] {
  return [
    { name: 'request body', flag: '--max-body-mb', value: bodyLimitBytes, unit: 'bytes', status: 413 },
    {
      name: 'inputs per request',
      flag: '--max-client-batch-size',
      value: limits.maxClientBatchSize,
      unit: 'items',
      status: 422,
    },
    {
      name: 'tokens per request',
      flag: '--max-request-tokens',
      value: limits.maxRequestTokens,
      unit: 'tokens',
      status: 422,
    },
    {
      name: 'requests in flight',
      flag: '--max-concurrent-requests',
      value: limits.maxConcurrentRequests,
      unit: 'requests',
      status: 429,
    },
  ];
}

export interface EmbedAppOptions {
  /** Model used when a request names none. */
  readonly defaultModel: string;
  /** Largest request body, in bytes (larger: 413); default DEFAULT_EMBED_BODY_LIMIT_BYTES. */
  readonly bodyLimitBytes?: number;
  /** Request limits; each one not given is its EMBED_LIMIT_DEFAULTS value. */
  readonly limits?: Partial<EmbedLimits>;
  /**
   * The model repository's folder (models.yaml's): /info shows model paths relative to it, and only the file
   * name of a model outside it, so that it does not tell clients the server's file layout.
   */
  readonly modelRoot?: string;
  readonly version: string;
  readonly metrics: EmbedMetrics;
  /** Where request lines go (services/http/request-log.ts); none: no logs. */
  readonly logger?: Logger;
}

export function buildEmbedApp(state: EmbedState, options: EmbedAppOptions): FastifyInstance {
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_EMBED_BODY_LIMIT_BYTES;
  const limits: EmbedLimits = { ...EMBED_LIMIT_DEFAULTS, ...definedOnly(options.limits ?? {}) };
  const [bodyLimit, itemLimit, tokenLimit, inFlightLimit] = embedRequestLimits(bodyLimitBytes, limits) as [
    RequestLimit,
    RequestLimit,
    RequestLimit,
    RequestLimit,
  ];
  const inFlight = new InFlightBudget(inFlightLimit);
  const app = Fastify({ bodyLimit: bodyLimitBytes, ...loggingOptions(options.logger) });
  installRequestLog(app);
  registerOpenApi(app, embedApiDoc(options.version));
  const { metrics } = options;
  const apiOf = (request: FastifyRequest): Api => (request.url.startsWith('/v1/') ? 'openai' : 'tei');

  // Requests in flight are counted from their arrival, before their bodies are read, to the end of their
  // answer (or of their connection): whatever the number of clients, at most this many bodies are held.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method !== 'POST') {
      done();
      return;
    }
    if (!inFlight.tryTake(1)) {
      const refusal = inFlight.refusal();
      void discardRest(request.raw).then(() => {
        done(refusal);
      });
      return;
    }
    let given = false;
    const give = (): void => {
      if (given) return;
      given = true;
      inFlight.give(1);
    };
    reply.raw.once('close', give);
    reply.raw.once('finish', give);
    done();
  });

  // fastify's JSON parser (its defaults: __proto__ and constructor keys are errors), after a count of the
  // body's values: a body of millions of tiny values is refused before JSON.parse turns it into millions of
  // objects.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    const values = countJsonValues(text);
    // Texts take a value each, token-id inputs a value per token.
    if (values > limits.maxClientBatchSize + limits.maxRequestTokens + OTHER_JSON_VALUES) {
      const api = apiOf(request);
      const field = api === 'openai' ? 'input' : 'inputs';
      done(
        new HttpProblem(
          validationStatus(api),
          `the body holds ${values.toLocaleString('en-US')} JSON values; a request takes at most ` +
            `${itemLimit.value} inputs (${itemLimit.flag}) of at most ${formatLimitValue(tokenLimit.value, 'tokens')} ` +
            `in all (${tokenLimit.flag})`,
          field,
        ),
        undefined,
      );
      return;
    }
    void parseJson(request, text, done);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  setServiceErrorHandler(app, {
    send: (reply, problem, request) => sendProblem(reply, apiOf(request), problem),
    bodyTooLarge: () => overLimit(bodyLimit, 'the request body'),
    invalidMediaType: 'send the body as application/json',
    drain: 'body-too-large',
    sayInvalidJson: true,
  });

  app.get('/health', (_request, reply) => {
    if (!state.ready) return reply.code(503).send({ status: 'loading' });
    return reply.send({ status: 'ok', models: [...state.services.keys()] });
  });

  app.get('/info', (_request, reply) => {
    const models = [...state.services.values()].map((s) => describe(s, options.modelRoot));
    const main = models.find((m) => m.model_id === options.defaultModel) ?? models[0];
    return reply.send({
      ...main,
      version: options.version,
      ready: state.ready,
      max_client_batch_size: limits.maxClientBatchSize,
      max_request_tokens: limits.maxRequestTokens,
      max_concurrent_requests: limits.maxConcurrentRequests,
      max_body_bytes: bodyLimitBytes,
      models,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.post('/embed', async (request, reply) => {
    const body = objectBody(request.body, 'tei');
    const service = pickService(state, body.model, options.defaultModel, 'tei');
    const inputs = readInputs(body.inputs, 'inputs', 'tei', itemLimit);
    const normalize = readBoolean(body.normalize, 'normalize', true, 'tei');
    const truncate = readBoolean(body.truncate, 'truncate', false, 'tei');
    const direction = body.truncation_direction;
    if (direction !== undefined && direction !== 'Right' && direction !== 'right') {
      throw new HttpProblem(
        422,
        direction === 'Left' || direction === 'left'
          ? 'truncation_direction "Left" is not supported here: inputs are cut on the right ("Right")'
          : 'truncation_direction must be "Right" or "Left" (TEI also takes "right" and "left")',
        'truncation_direction',
      );
    }
    if (body.prompt_name !== undefined) {
      throw new HttpProblem(
        422,
        `prompt_name: model "${service.spec.id}" defines no prompts (send the prompt as part of the text)`,
        'prompt_name',
      );
    }
    const dims = readDimensions(body.dimensions, service.embedder.dimension, 'tei');
    const result = await embedFor(service, inputs, { normalize, truncate }, tokenLimit, request, reply);
    return reply.send(result.vectors.map((v) => Array.from(cutTo(v, dims, normalize))));
  });

  app.post('/tokenize', async (request, reply) => {
    const body = objectBody(request.body, 'tei');
    const service = pickService(state, body.model, options.defaultModel, 'tei');
    const inputs = readInputs(body.inputs, 'inputs', 'tei', itemLimit);
    if (!('texts' in inputs)) throw new HttpProblem(422, '/tokenize takes text, not token ids', 'inputs');
    const texts = inputs.texts;
    if (body.add_special_tokens !== undefined && body.add_special_tokens !== true) {
      throw new HttpProblem(422, 'add_special_tokens: only true is supported', 'add_special_tokens');
    }
    let tokenized;
    try {
      tokenized = await service.tokenize(texts, true, tokenLimit.value);
    } catch (err) {
      throw tokenProblem(err, tokenLimit, 'tei');
    }
    return reply.send(
      tokenized.map((t) =>
        Array.from(t.ids, (id) => ({ id, text: service.tokenizer.tokenText(id) ?? null })),
      ),
    );
  });

  // OpenAI's model list and model object (`created`: when the server started, the models' load time).
  const created = Math.floor(Date.now() / 1000);
  const modelObject = (id: string): Record<string, unknown> => ({
    id,
    object: 'model',
    created,
    owned_by: 'pitlane',
  });
  app.get('/v1/models', (_request, reply) =>
    reply.send({ object: 'list', data: [...state.services.keys()].map(modelObject) }),
  );
  app.get<{ Params: { model: string } }>('/v1/models/:model', (request, reply) => {
    const id = request.params.model;
    if (!state.services.has(id)) {
      throw new HttpProblem(
        404,
        `The model '${id}' does not exist; models: ${[...state.services.keys()].join(', ')}`,
        'model',
      );
    }
    return reply.send(modelObject(id));
  });

  // Unknown routes answer in the error shape of the API they are under.
  app.setNotFoundHandler((request, reply) => {
    const api = apiOf(request);
    const problem = new HttpProblem(
      404,
      api === 'openai'
        ? `Invalid URL (${request.method} ${request.url}): the OpenAI API here has /v1/embeddings and /v1/models`
        : `no route ${request.method} ${request.url}: TEI's routes here are /embed, /tokenize, /info, /health and /metrics`,
    );
    return sendProblem(reply.code(404), api, problem, 'unknown_url');
  });

  app.post('/v1/embeddings', async (request, reply) => {
    const body = objectBody(request.body, 'openai');
    const service = pickService(state, body.model, options.defaultModel, 'openai');
    const inputs = readInputs(body.input, 'input', 'openai', itemLimit);
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      throw new HttpProblem(400, 'encoding_format must be "float" or "base64"', 'encoding_format');
    }
    const dims = readDimensions(body.dimensions, service.embedder.dimension, 'openai');
    const truncate = readBoolean(body.truncate, 'truncate', false, 'openai');
    const result = await embedFor(service, inputs, { normalize: true, truncate }, tokenLimit, request, reply);
    const data = result.vectors.map((v, index) => {
      const cut = cutTo(v, dims, true);
      const embedding =
        format === 'base64'
          ? Buffer.from(cut.buffer, cut.byteOffset, cut.byteLength).toString('base64')
          : Array.from(cut);
      return { object: 'embedding', index, embedding };
    });
    const tokens = result.tokens.reduce((a, b) => a + b, 0);
    return reply.send({
      object: 'list',
      data,
      model: service.spec.id,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  });

  return app;
}

/** Runs the embedding, turning service errors into HTTP problems; aborts when the client goes away. */
async function embedFor(
  service: EmbeddingService,
  inputs: EmbedInputs,
  options: { normalize: boolean; truncate: boolean },
  tokenLimit: RequestLimit,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<EmbedResult> {
  const api: Api = request.url.startsWith('/v1/') ? 'openai' : 'tei';
  if ('ids' in inputs) checkVocabulary(service, inputs.ids, api);
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new ClientGone());
  };
  reply.raw.once('close', onClose);
  const run = { ...options, signal: controller.signal, maxTokens: tokenLimit.value };
  try {
    if ('texts' in inputs) return await service.embed(inputs.texts, run);
    return await service.embedIds(inputs.ids, run);
  } catch (err) {
    if (err instanceof TooManyTokensError) throw tokenProblem(err, tokenLimit, api);
    if (err instanceof InputTooLongError) {
      const field = request.url.startsWith('/v1/') ? 'input' : 'inputs';
      throw new HttpProblem(
        413,
        `${field}[${err.index}] has ${err.tokens} tokens; the model's limit is ${err.limit} (set "truncate": true to cut it)`,
        `${field}[${err.index}]`,
      );
    }
    if (err instanceof QueueFullError) {
      const retryAfterS = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
      throw new HttpProblem(429, `overloaded: ${err.message}`, null, { 'retry-after': String(retryAfterS) });
    }
    if (err instanceof ClientGone) throw err;
    throw new HttpProblem(500, `inference failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    reply.raw.off('close', onClose);
  }
}

/** `dimensions` (Matryoshka): an integer from 1 to the model's dimension; the model's dimension when absent. */
function readDimensions(value: unknown, dimension: number, api: Api): number {
  if (value === undefined || value === null) return dimension;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > dimension) {
    throw new HttpProblem(
      validationStatus(api),
      `dimensions must be an integer from 1 to ${dimension} (the model's dimension)`,
      'dimensions',
    );
  }
  return value;
}

/** The first `dims` values of a vector, scaled to unit length again when vectors are normalised. */
function cutTo(v: Float32Array, dims: number, normalize: boolean): Float32Array {
  if (dims >= v.length) return v;
  const cut = v.subarray(0, dims);
  return normalize ? l2Normalize(cut) : cut;
}

/** Token ids the model's tokenizer does not know are refused, naming the first one and where it is. */
function checkVocabulary(service: EmbeddingService, ids: readonly Int32Array[], api: Api): void {
  const field = api === 'openai' ? 'input' : 'inputs';
  const tokenizer = service.tokenizer;
  if (!tokenizer.knowsIds) {
    throw new HttpProblem(
      validationStatus(api),
      `model "${service.spec.id}" takes text only: its tokenizer cannot check token ids`,
      field,
    );
  }
  ids.forEach((seq, i) => {
    for (let j = 0; j < seq.length; j++) {
      const id = seq[j] as number;
      if (tokenizer.tokenText(id) === undefined) {
        const at = ids.length === 1 && api === 'openai' ? `${field}[${j}]` : `${field}[${i}][${j}]`;
        throw new HttpProblem(
          validationStatus(api),
          `${at}: token id ${id} is not in the vocabulary of model "${service.spec.id}"`,
          at,
        );
      }
    }
  });
}

/** The refusal of a request over the token limit (other errors pass through unchanged). */
function tokenProblem(err: unknown, limit: RequestLimit, api: Api): unknown {
  if (!(err instanceof TooManyTokensError)) return err;
  return new HttpProblem(
    validationStatus(api),
    `the inputs hold at least ${formatLimitValue(err.tokens, 'tokens')}; the limit is ` +
      `${formatLimitValue(limit.value, 'tokens')} per request (${limit.flag})`,
    api === 'openai' ? 'input' : 'inputs',
  );
}

/** A problem in the error format of the API (status and headers are set by the shared handler). */
function sendProblem(
  reply: FastifyReply,
  api: Api,
  problem: HttpProblem,
  code404 = 'model_not_found',
): FastifyReply {
  if (api === 'openai') {
    const type = problem.status >= 500 ? 'server_error' : 'invalid_request_error';
    const code = problem.status === 404 ? code404 : problem.status === 429 ? 'rate_limit_exceeded' : null;
    return reply.send({ error: { message: problem.message, type, param: problem.param, code } });
  }
  const errorType = problem.status === 429 ? 'Overloaded' : problem.status >= 500 ? 'Backend' : 'Validation';
  return reply.send({ error: problem.message, error_type: errorType });
}

/** /info of one model. */
function describe(
  s: EmbeddingService,
  modelRoot: string | undefined,
): Record<string, unknown> & { model_id: string } {
  const { spec, embedder } = s;
  return {
    model_id: spec.id,
    model_name: spec.name,
    backend: embedder.info.backend,
    runtime: embedder.info.runtime,
    model_path: shownPath(embedder.info.modelPath, modelRoot),
    dimension: embedder.dimension,
    pooling: spec.pooling,
    normalize: spec.normalize,
    max_input_length: s.maxSequenceLength,
    max_batch_tokens: spec.batching.maxBatchTokens,
    max_batch_size: spec.batching.maxBatchSize,
    max_queue_delay_ms: spec.batching.maxQueueDelayMs,
    queue_capacity: spec.batching.queueCapacity,
    tokenization_workers: s.tokenizer.threads,
    threads: { intra_op: embedder.info.threads.intraOp, inter_op: embedder.info.threads.interOp },
  };
}

/** A model path as /info shows it: relative to the model repository, or only its file name when outside it. */
function shownPath(path: string, root: string | undefined): string {
  const inside = root === undefined ? '' : relative(root, path);
  if (inside !== '' && !inside.startsWith('..') && !isAbsolute(inside)) return inside.split('\\').join('/');
  return path.split(/[\\/]/).pop() ?? path;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
