/**
 * The embed service's HTTP API (fastify): TEI's `/embed`, `/tokenize`, `/info` and `/health`, OpenAI's
 * `/v1/embeddings`, and Prometheus `/metrics`. Handlers only validate, call an EmbeddingService and shape the
 * answer; every error names the field it is about, in the error format of the API it belongs to (TEI:
 * `{error, error_type}`; OpenAI: `{error: {message, type, param, code}}`).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { QueueFullError } from '../../inference/dynamic-batcher.js';
import {
  InputTooLongError,
  type EmbeddingService,
  type EmbedResult,
} from '../../inference/embedding-service.js';
import { l2Normalize } from '../../inference/onnx-backend.js';
import type { EmbedMetrics } from './metrics.js';

/** What the app serves; `ready` turns true once every model is loaded and warm. */
export interface EmbedState {
  readonly services: Map<string, EmbeddingService>;
  ready: boolean;
}

export interface EmbedAppOptions {
  /** Model used when a request names none. */
  readonly defaultModel: string;
  /** Largest request body, in bytes (larger: 413). */
  readonly bodyLimitBytes: number;
  readonly version: string;
  readonly metrics: EmbedMetrics;
}

/** A request problem: HTTP status, message naming the field, and the field. */
class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }
}

/** The client went away before the answer: nothing is sent. */
class ClientGone extends Error {}

type Api = 'tei' | 'openai';

export function buildEmbedApp(state: EmbedState, options: EmbedAppOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimitBytes, logger: false });
  const { metrics } = options;
  const limit =
    options.bodyLimitBytes >= 1 << 20
      ? `${(options.bodyLimitBytes / (1 << 20)).toFixed(1)} MiB`
      : `${options.bodyLimitBytes} bytes`;

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const api: Api = request.url.startsWith('/v1/') ? 'openai' : 'tei';
    if (error instanceof HttpProblem) return sendProblem(reply, api, error);
    if (error instanceof ClientGone) return reply.code(499).send();
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendProblem(
        reply,
        api,
        new HttpProblem(413, `the request body is larger than the limit of ${limit} (--max-body-mb)`),
      );
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendProblem(reply, api, new HttpProblem(415, 'send the body as application/json'));
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const invalidJson = error instanceof SyntaxError || (error.code ?? '').includes('JSON');
      const message = invalidJson ? `the body is not valid JSON: ${error.message}` : error.message;
      return sendProblem(reply, api, new HttpProblem(status, message));
    }
    return sendProblem(reply, api, new HttpProblem(500, `internal error: ${error.message}`));
  });

  app.get('/health', (_request, reply) => {
    if (!state.ready) return reply.code(503).send({ status: 'loading' });
    return reply.send({ status: 'ok', models: [...state.services.keys()] });
  });

  app.get('/info', (_request, reply) => {
    const models = [...state.services.values()].map(describe);
    const main = models.find((m) => m.model_id === options.defaultModel) ?? models[0];
    return reply.send({ ...main, version: options.version, ready: state.ready, models });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.post('/embed', async (request, reply) => {
    const body = objectBody(request.body, 'tei');
    const service = pickService(state, body.model, options.defaultModel, 'tei');
    const texts = readInputs(body.inputs, 'inputs', 'tei');
    const normalize = readBoolean(body.normalize, 'normalize', true, 'tei');
    const truncate = readBoolean(body.truncate, 'truncate', false, 'tei');
    if (body.truncation_direction !== undefined && body.truncation_direction !== 'Right') {
      throw new HttpProblem(422, 'truncation_direction: only "Right" is supported', 'truncation_direction');
    }
    const result = await embedFor(service, texts, { normalize, truncate }, request, reply);
    return reply.send(result.vectors.map((v) => Array.from(v)));
  });

  app.post('/tokenize', async (request, reply) => {
    const body = objectBody(request.body, 'tei');
    const service = pickService(state, body.model, options.defaultModel, 'tei');
    const texts = readInputs(body.inputs, 'inputs', 'tei');
    if (body.add_special_tokens !== undefined && body.add_special_tokens !== true) {
      throw new HttpProblem(422, 'add_special_tokens: only true is supported', 'add_special_tokens');
    }
    const tokenized = await service.tokenize(texts, true);
    return reply.send(
      tokenized.map((t) =>
        Array.from(t.ids, (id) => ({ id, text: service.tokenizer.tokenText(id) ?? null })),
      ),
    );
  });

  app.post('/v1/embeddings', async (request, reply) => {
    const body = objectBody(request.body, 'openai');
    const service = pickService(state, body.model, options.defaultModel, 'openai');
    const texts = readInputs(body.input, 'input', 'openai');
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      throw new HttpProblem(400, 'encoding_format must be "float" or "base64"', 'encoding_format');
    }
    const dimension = service.embedder.dimension;
    const dims = body.dimensions ?? dimension;
    if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > dimension) {
      throw new HttpProblem(
        400,
        `dimensions must be an integer from 1 to ${dimension} (the model's dimension)`,
        'dimensions',
      );
    }
    const truncate = readBoolean(body.truncate, 'truncate', false, 'openai');
    const result = await embedFor(service, texts, { normalize: true, truncate }, request, reply);
    const data = result.vectors.map((v, index) => {
      const cut = dims < dimension ? l2Normalize(v.subarray(0, dims)) : v;
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
  texts: string[],
  options: { normalize: boolean; truncate: boolean },
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<EmbedResult> {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new ClientGone());
  };
  reply.raw.once('close', onClose);
  try {
    return await service.embed(texts, { ...options, signal: controller.signal });
  } catch (err) {
    if (err instanceof InputTooLongError) {
      const field = request.url.startsWith('/v1/') ? 'input' : 'inputs';
      throw new HttpProblem(
        413,
        `${field}[${err.index}] has ${err.tokens} tokens; the model's limit is ${err.limit} (set "truncate": true to cut it)`,
        `${field}[${err.index}]`,
      );
    }
    if (err instanceof QueueFullError) {
      throw new HttpProblem(429, `overloaded: ${err.message}`, null, Math.ceil(err.retryAfterMs / 1000));
    }
    if (err instanceof ClientGone) throw err;
    throw new HttpProblem(500, `inference failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    reply.raw.off('close', onClose);
  }
}

function sendProblem(reply: FastifyReply, api: Api, problem: HttpProblem): FastifyReply {
  if (problem.retryAfterS !== null) void reply.header('retry-after', String(problem.retryAfterS));
  void reply.code(problem.status);
  if (api === 'openai') {
    const type = problem.status >= 500 ? 'server_error' : 'invalid_request_error';
    const code =
      problem.status === 404 ? 'model_not_found' : problem.status === 429 ? 'rate_limit_exceeded' : null;
    return reply.send({ error: { message: problem.message, type, param: problem.param, code } });
  }
  const errorType = problem.status === 429 ? 'Overloaded' : problem.status >= 500 ? 'Backend' : 'Validation';
  return reply.send({ error: problem.message, error_type: errorType });
}

function validationStatus(api: Api): number {
  // TEI answers bad requests with 422; OpenAI with 400.
  return api === 'tei' ? 422 : 400;
}

function objectBody(body: unknown, api: Api): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpProblem(validationStatus(api), 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function pickService(state: EmbedState, model: unknown, fallback: string, api: Api): EmbeddingService {
  if (!state.ready)
    throw new HttpProblem(503, 'the models are still loading; retry when /health answers 200');
  if (model !== undefined && typeof model !== 'string') {
    throw new HttpProblem(validationStatus(api), 'model must be a string', 'model');
  }
  const id = model ?? fallback;
  const service = state.services.get(id);
  if (service === undefined) {
    throw new HttpProblem(
      404,
      `model "${id}" is not served here; models: ${[...state.services.keys()].join(', ')}`,
      'model',
    );
  }
  return service;
}

/** A string or a non-empty array of non-empty strings, as a list. */
function readInputs(value: unknown, field: string, api: Api): string[] {
  const status = validationStatus(api);
  if (value === undefined) throw new HttpProblem(status, `${field} is required`, field);
  if (typeof value === 'string') {
    if (value.length === 0) throw new HttpProblem(status, `${field} is an empty string`, field);
    return [value];
  }
  if (!Array.isArray(value)) {
    throw new HttpProblem(
      status,
      `${field} must be a string or an array of strings, got ${kindOf(value)}`,
      field,
    );
  }
  if (value.length === 0) throw new HttpProblem(status, `${field} is an empty array`, field);
  value.forEach((v, i) => {
    if (typeof v !== 'string') {
      const hint =
        typeof v === 'number' || Array.isArray(v) ? ' (token-id inputs are not supported; send text)' : '';
      throw new HttpProblem(
        status,
        `${field}[${i}] must be a string, got ${kindOf(v)}${hint}`,
        `${field}[${i}]`,
      );
    }
    if (v.length === 0) throw new HttpProblem(status, `${field}[${i}] is an empty string`, `${field}[${i}]`);
  });
  return value as string[];
}

function readBoolean(value: unknown, field: string, fallback: boolean, api: Api): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new HttpProblem(
      validationStatus(api),
      `${field} must be true or false, got ${kindOf(value)}`,
      field,
    );
  }
  return value;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** /info of one model. */
function describe(s: EmbeddingService): Record<string, unknown> & { model_id: string } {
  const { spec, embedder } = s;
  return {
    model_id: spec.id,
    model_name: spec.name,
    backend: embedder.info.backend,
    runtime: embedder.info.runtime,
    model_path: embedder.info.modelPath,
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
