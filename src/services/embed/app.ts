/**
 * The embed service's HTTP API (fastify): TEI's `/embed`, `/tokenize`, `/info` and `/health`, OpenAI's
 * `/v1/embeddings`, and Prometheus `/metrics`. Handlers call an EmbeddingService and shape the answer; every
 * error names the field it is about, in the error format of the API it belongs to (TEI: `{error, error_type}`;
 * OpenAI: `{error: {message, type, param, code}}`). The bodies are validated by fastify from their schemas in
 * openapi.ts (refusals: embed-requests.ts `SCHEMA_REFUSAL`), which also type the handlers; what depends on the
 * served models and the limits is checked here and in embed-requests.ts. The error handler is the shared one
 * (services/http).
 *
 * Memory is bounded by the limits (EmbedLimits), each checked before anything proportional to what it bounds is
 * allocated: requests in flight when a request arrives (429, before its body is read), the body size while it
 * is read (413), the values in the body before it is parsed and the inputs before they are tokenized (422 TEI /
 * 400 OpenAI), and the tokens as they are counted, chunk by chunk (422 / 400).
 */
import { InputTooLongError, QueueFullError, TooManyTokensError } from '../../core/errors.js';
import { isAbsolute, relative } from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TruncationDirection } from '../../inference/text/embedder.js';
import {
  type EmbeddingService,
  type EmbedOptions,
  type EmbedResult,
} from '../../inference/text/embedding-service.js';
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
import type { Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { validatedBy } from '../http/openapi.js';
import { SCHEMA_VALIDATION } from '../http/schema-refusal.js';
import {
  BatchSizeProblem,
  pickService,
  readInputs,
  SCHEMA_REFUSAL,
  validationStatus,
  type Api,
  type EmbedInputs,
} from './embed-requests.js';
import type { EmbedMetrics, TeFailure, TeMethod } from './metrics.js';
import { EMBED_ROUTES, embedApiDoc, type EmbedAllBody, type EmbedBody } from './openapi.js';
import { answerTimingHeaders, inputCharacters } from './response-timing.js';

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
  /**
   * What `truncate` is when a request does not say (TEI's --auto-truncate); default false: an input over the
   * model's limit is refused with 413.
   */
  readonly autoTruncate?: boolean;
  readonly version: string;
  readonly metrics: EmbedMetrics;
  /** Where request lines go (services/http/request-log.ts); none: no logs. */
  readonly logger?: Logger;
}

/** TEI's MAX_CHAR_MULTIPLIER (core/src/tokenization.rs): /tokenize refuses a text over this × the model's limit. */
const TOKENIZE_CHARS_PER_TOKEN = 250;

/** TEI's routes that need a kind of model pitlane does not serve, and why each is refused. */
const OTHER_MODEL_KINDS: Readonly<Record<string, string>> = {
  '/rerank': 'a re-ranker (cross-encoder) model',
  '/predict': 'a sequence-classification model',
  '/embed_sparse': 'an embedding model with SPLADE pooling',
};

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
  const app = Fastify({
    bodyLimit: bodyLimitBytes,
    ...loggingOptions(options.logger),
    ...SCHEMA_VALIDATION,
  }).withTypeProvider<TypeBoxTypeProvider>();
  installRequestLog(app);
  registerOpenApi(app, embedApiDoc(options.version));
  const tei = SCHEMA_REFUSAL.tei;
  const { metrics } = options;
  const autoTruncate = options.autoTruncate ?? false;
  const apiOf = (request: FastifyRequest): Api => (request.url.startsWith('/v1/') ? 'openai' : 'tei');
  // The inference requests TEI counts (te_request_*), and the problem each failed with.
  const teRequests = new WeakMap<
    FastifyRequest,
    { method: TeMethod; characters: number; failure?: TeFailure }
  >();
  const countTe = (request: FastifyRequest, input: unknown): void => {
    const method: TeMethod =
      typeof input === 'string' || (Array.isArray(input) && typeof input[0] === 'number')
        ? 'single'
        : 'batch';
    teRequests.set(request, { method, characters: inputCharacters(input) });
    metrics.teRequest(method);
  };

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
    const te = teRequests.get(request);
    if (te !== undefined && reply.statusCode >= 400) metrics.teFailure(te.failure ?? 'inference');
    done();
  });

  /**
   * Records a TEI inference request's success with its times (the request duration is fastify's), and says them in
   * the answer's headers (response-timing.ts).
   */
  const teSucceeded = (request: FastifyRequest, reply: FastifyReply, result: EmbedResult): void => {
    const te = teRequests.get(request);
    if (te === undefined) return;
    const { timing } = result;
    const totalMs = reply.elapsedTime;
    let tokens = 0;
    for (const n of result.tokens) tokens += n;
    void reply.headers(answerTimingHeaders({ totalMs, characters: te.characters, tokens, timing }));
    metrics.teSuccess(
      te.method,
      {
        total: totalMs / 1000,
        tokenization: timing.tokenizationMs / 1000,
        queue: timing.queueMs / 1000,
        inference: timing.inferenceMs / 1000,
      },
      result.tokens,
    );
  };

  setServiceErrorHandler(app, {
    send: (reply, problem, request) => {
      const te = teRequests.get(request);
      if (te !== undefined) te.failure = teFailureOf(problem);
      return sendProblem(reply, apiOf(request), problem);
    },
    bodyTooLarge: () => overLimit(bodyLimit, 'the request body'),
    invalidMediaType: 'send the body as application/json',
    drain: 'body-too-large',
    sayInvalidJson: true,
  });

  app.get('/health', (_request, reply) => {
    if (!state.ready) return reply.code(503).send({ status: 'loading' });
    return reply.send({ status: 'ok', models: [...state.services.keys()] });
  });

  // TEI's Info (router/src/lib.rs) with pitlane's values for the default model, then pitlane's own fields.
  app.get('/info', (_request, reply) => {
    const models = [...state.services.values()].map((s) => describe(s, options.modelRoot));
    const main = models.find((m) => m.model_id === options.defaultModel) ?? models[0];
    const service = state.services.get(main?.model_id ?? options.defaultModel);
    return reply.send({
      model_id: main?.model_id ?? options.defaultModel,
      model_sha: null,
      model_dtype: 'float32',
      served_model_name: main?.model_id ?? options.defaultModel,
      model_type: { embedding: { pooling: service?.spec.pooling ?? null } },
      prompts: service?.spec.prompts ?? {},
      default_prompt_name: service?.spec.defaultPromptName ?? null,
      max_concurrent_requests: limits.maxConcurrentRequests,
      max_input_length: service?.maxSequenceLength ?? null,
      max_batch_tokens: service?.spec.batching.maxBatchTokens ?? null,
      max_batch_requests: service?.spec.batching.maxBatchSize ?? null,
      max_client_batch_size: limits.maxClientBatchSize,
      auto_truncate: autoTruncate,
      tokenization_workers: service?.tokenizer.threads ?? null,
      version: options.version,
      sha: null,
      docker_label: null,
      ...main,
      ready: state.ready,
      max_request_tokens: limits.maxRequestTokens,
      max_body_bytes: bodyLimitBytes,
      models,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  /** The fields /embed and /embed_all share: inputs, truncate, truncation_direction and prompt_name. */
  const readTeiRequest = (
    request: FastifyRequest,
    body: Static<typeof EmbedAllBody>,
  ): { service: EmbeddingService; inputs: EmbedInputs; run: EmbedOptions } => {
    const service = pickService(state, body.model, options.defaultModel);
    countTe(request, body.inputs);
    const inputs = readInputs(body.inputs, 'inputs', 'tei', itemLimit);
    metrics.teInputs(inputCount(inputs));
    const truncate = body.truncate ?? autoTruncate;
    const direction: TruncationDirection =
      body.truncation_direction?.toLowerCase() === 'left' ? 'left' : 'right';
    const prompt = readPrompt(body.prompt_name, service, 'texts' in inputs);
    return {
      service,
      inputs,
      run: { truncate, direction, ...(prompt !== undefined && { prompt }) },
    };
  };

  app.post('/embed', validatedBy(EMBED_ROUTES['POST /embed'], tei), async (request, reply) => {
    const body: Static<typeof EmbedBody> = request.body;
    const { service, inputs, run } = readTeiRequest(request, body);
    const normalize = body.normalize ?? true;
    const dims = readDimensions(body.dimensions, service.embedder.dimension, 'tei');
    const result = await embedFor(service, inputs, { ...run, normalize }, tokenLimit, request, reply);
    teSucceeded(request, reply, result);
    return reply.send(result.vectors.map((v) => Array.from(cutTo(v, dims, normalize))));
  });

  // TEI's /embed_all: every token's vector (the model's output before pooling), not normalised.
  app.post('/embed_all', validatedBy(EMBED_ROUTES['POST /embed_all'], tei), async (request, reply) => {
    const { service, inputs, run } = readTeiRequest(request, request.body);
    if (!service.givesTokenEmbeddings) {
      throw new HttpProblem(
        424,
        `model "${service.spec.id}" gives pooled vectors only (its ${service.embedder.info.backend} graph pools inside), so /embed_all cannot answer; use /embed`,
      );
    }
    if ('ids' in inputs) checkVocabulary(service, inputs.ids, 'tei');
    const controller = abortOnClose(reply);
    const t0 = performance.now();
    let out;
    try {
      out = await service.embedTokens(inputs, {
        ...run,
        maxTokens: tokenLimit.value,
        signal: controller.signal,
      });
    } catch (err) {
      throw embedProblem(err, tokenLimit, 'tei');
    } finally {
      controller.release();
    }
    const ms = performance.now() - t0;
    teSucceeded(request, reply, {
      vectors: [],
      tokens: out.tokens,
      timing: { tokenizationMs: 0, queueMs: 0, inferenceMs: ms },
    });
    // Written token by token: the text of 16,384 tokens of 384 values is about 120 MB, their floats 25 MB.
    return reply.type('application/json').send(Readable.from(tokenVectorsJson(out.rows, out.hidden)));
  });

  // TEI's /tokenize: each text's tokens with their places in it (UTF-8 byte offsets, as TEI gives them), the
  // prompt included; nothing is cut (as in TEI), the request's token limit still holds.
  app.post('/tokenize', validatedBy(EMBED_ROUTES['POST /tokenize'], tei), async (request, reply) => {
    const { body } = request;
    const service = pickService(state, body.model, options.defaultModel);
    const inputs = readInputs(body.inputs, 'inputs', 'tei', itemLimit);
    // The schema takes texts only.
    if (!('texts' in inputs)) throw new HttpProblem(422, '/tokenize takes text, not token ids', 'inputs');
    const addSpecial = body.add_special_tokens ?? true;
    const prompt = readPrompt(body.prompt_name, service, true) ?? '';
    const out: Record<string, unknown>[][] = [];
    let tokens = 0;
    // TEI's bound on a text it tokenizes without cutting: 250 characters per token of the model's limit.
    const maxChars = service.maxSequenceLength * TOKENIZE_CHARS_PER_TOKEN;
    for (const [i, text] of inputs.texts.entries()) {
      const input = prompt + text;
      if (input.length > maxChars) {
        throw new HttpProblem(
          422,
          `inputs[${i}] has ${input.length.toLocaleString('en-US')} characters; /tokenize takes at most ` +
            `${maxChars.toLocaleString('en-US')} (${TOKENIZE_CHARS_PER_TOKEN} per token of the model's limit, as TEI)`,
          `inputs[${i}]`,
        );
      }
      const spans = service.tokenizer.tokens([input], addSpecial)?.[0];
      if (spans === undefined) {
        // A tokenizer that cannot place its tokens: ids and their texts, uncut.
        const [encoded] = await service.tokenizer.encode([input], Number.MAX_SAFE_INTEGER);
        out.push(
          Array.from(encoded?.ids ?? [], (id) => ({
            id,
            text: service.tokenizer.tokenText(id) ?? null,
            special: false,
            start: null,
            stop: null,
          })),
        );
      } else {
        const bytes = utf8Offsets(input);
        out.push(
          spans.map((t) =>
            t.special
              ? {
                  id: t.id,
                  text: service.tokenizer.tokenText(t.id) ?? null,
                  special: true,
                  start: null,
                  stop: null,
                }
              : {
                  id: t.id,
                  text: input.slice(t.start, t.end),
                  special: false,
                  start: bytes[t.start],
                  stop: bytes[t.end],
                },
          ),
        );
      }
      tokens += out.at(-1)?.length ?? 0;
      if (tokens > tokenLimit.value)
        throw tokenProblem(new TooManyTokensError(tokens, tokenLimit.value), tokenLimit, 'tei');
    }
    return reply.send(out);
  });

  // TEI's /decode: token ids back to text.
  app.post('/decode', validatedBy(EMBED_ROUTES['POST /decode'], tei), (request, reply) => {
    const { body } = request;
    const service = pickService(state, body.model, options.defaultModel);
    const ids = readInputs(body.ids, 'ids', 'tei', itemLimit);
    // The schema takes token ids only.
    if (!('ids' in ids)) throw new HttpProblem(422, 'ids must be token ids', 'ids');
    const skip = body.skip_special_tokens ?? true;
    checkVocabulary(service, ids.ids, 'tei', 'ids');
    const texts = service.tokenizer.decode(
      ids.ids.map((seq) => Array.from(seq)),
      skip,
    );
    if (texts === null) {
      throw new HttpProblem(
        424,
        `model "${service.spec.id}": its ${service.spec.tokenizer} tokenizer cannot decode`,
      );
    }
    return reply.send(texts);
  });

  // TEI's routes for other kinds of model: TEI's answer when the model is of the wrong kind (424, Backend).
  for (const [route, kind] of Object.entries(OTHER_MODEL_KINDS)) {
    app.post(route, (request) => {
      countTe(request, undefined);
      throw new HttpProblem(
        424,
        `${route} needs ${kind}; pitlane serves embedding models only (use /embed or /embed_all)`,
      );
    });
  }

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
        : `no route ${request.method} ${request.url}: TEI's routes here are /embed, /embed_all, /tokenize, /decode, /info, /health and /metrics`,
    );
    return sendProblem(reply.code(404), api, problem, 'unknown_url');
  });

  const embeddings = EMBED_ROUTES['POST /v1/embeddings'];
  app.post('/v1/embeddings', validatedBy(embeddings, SCHEMA_REFUSAL.openai), async (request, reply) => {
    const { body } = request;
    const service = pickService(state, body.model, options.defaultModel);
    countTe(request, body.input);
    const inputs = readInputs(body.input, 'input', 'openai', itemLimit);
    metrics.teInputs(inputCount(inputs));
    const format = body.encoding_format ?? 'float';
    const dims = readDimensions(body.dimensions, service.embedder.dimension, 'openai');
    const truncate = body.truncate ?? autoTruncate;
    const result = await embedFor(service, inputs, { normalize: true, truncate }, tokenLimit, request, reply);
    teSucceeded(request, reply, result);
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
  options: EmbedOptions,
  tokenLimit: RequestLimit,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<EmbedResult> {
  const api: Api = request.url.startsWith('/v1/') ? 'openai' : 'tei';
  if ('ids' in inputs) checkVocabulary(service, inputs.ids, api);
  const controller = abortOnClose(reply);
  const run = { ...options, signal: controller.signal, maxTokens: tokenLimit.value };
  try {
    if ('texts' in inputs) return await service.embed(inputs.texts, run);
    return await service.embedIds(inputs.ids, run);
  } catch (err) {
    throw embedProblem(err, tokenLimit, api);
  } finally {
    controller.release();
  }
}

/** An AbortController aborted when the client goes away before the answer; `release` stops watching. */
function abortOnClose(reply: FastifyReply): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new ClientGone());
  };
  reply.raw.once('close', onClose);
  return { signal: controller.signal, release: () => reply.raw.off('close', onClose) };
}

/** A service error as the HTTP problem of the API (other errors: 500). */
function embedProblem(err: unknown, tokenLimit: RequestLimit, api: Api): unknown {
  if (err instanceof TooManyTokensError) return tokenProblem(err, tokenLimit, api);
  if (err instanceof InputTooLongError) {
    const field = api === 'openai' ? 'input' : 'inputs';
    return new HttpProblem(
      413,
      `${field}[${err.index}] has ${err.tokens} tokens; the model's limit is ${err.limit} (set "truncate": true to cut it)`,
      `${field}[${err.index}]`,
    );
  }
  if (err instanceof QueueFullError) {
    const retryAfterS = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
    return new HttpProblem(429, `overloaded: ${err.message}`, null, { 'retry-after': String(retryAfterS) });
  }
  if (err instanceof ClientGone || err instanceof HttpProblem) return err;
  return new HttpProblem(500, `inference failed: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * The prompt a request asks for by name (sentence-transformers' prompts, as TEI takes them), or the model's
 * default prompt when it names none; undefined: no prompt. Token-id inputs are taken as given: naming a prompt
 * with them is refused.
 */
function readPrompt(
  value: string | null | undefined,
  service: EmbeddingService,
  texts: boolean,
): string | undefined {
  const { prompts, defaultPromptName, id } = service.spec;
  if (value === undefined || value === null) {
    return texts && defaultPromptName !== null ? prompts[defaultPromptName] : undefined;
  }
  const known = Object.keys(prompts);
  if (known.length === 0) {
    throw new HttpProblem(
      422,
      `prompt_name "${value}": model "${id}" defines no prompts (give them in models.yaml or config_sentence_transformers.json)`,
      'prompt_name',
    );
  }
  if (!Object.hasOwn(prompts, value)) {
    throw new HttpProblem(
      422,
      `prompt_name "${value}" is not a prompt of model "${id}"; its prompts: ${known.join(', ')}`,
      'prompt_name',
    );
  }
  if (!texts) {
    throw new HttpProblem(
      422,
      'prompt_name applies to text inputs; token ids are embedded as given',
      'prompt_name',
    );
  }
  return prompts[value];
}

function inputCount(inputs: EmbedInputs): number {
  return 'texts' in inputs ? inputs.texts.length : inputs.ids.length;
}

/** TEI's failure label of a problem (te_request_failure{err}). */
function teFailureOf(problem: HttpProblem): TeFailure {
  if (problem instanceof BatchSizeProblem) return 'batch_size';
  if (problem.status === 429) return 'overloaded';
  if (problem.status === 413) return 'tokenization';
  if (problem.status === 424) return 'model_type';
  return problem.status >= 500 ? 'inference' : 'validation';
}

/** The UTF-8 byte offset of every UTF-16 offset of a text (and of its end), as TEI's token offsets are. */
function utf8Offsets(text: string): number[] {
  const out = new Array<number>(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    out[i] = bytes;
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) bytes += 4;
    else if (c >= 0xdc00 && c <= 0xdfff) bytes += 0;
    else bytes += 3;
  }
  out[text.length] = bytes;
  return out;
}

/** The JSON text of per-token vectors ([input][token][value]), one token at a time. */
function* tokenVectorsJson(rows: readonly Float32Array[], hidden: number): Generator<string> {
  yield '[';
  for (const [i, row] of rows.entries()) {
    yield i === 0 ? '[' : ',[';
    for (let at = 0; at < row.length; at += hidden) {
      // Float32 values are finite numbers: join writes them as JSON.stringify would.
      yield `${at === 0 ? '' : ','}[${row.subarray(at, at + hidden).join(',')}]`;
    }
    yield ']';
  }
  yield ']';
}

/**
 * `dimensions` (Matryoshka; an integer or null by its schema): from 1 to the model's dimension; the model's
 * dimension when absent.
 */
function readDimensions(value: number | null | undefined, dimension: number, api: Api): number {
  if (value === undefined || value === null) return dimension;
  if (value < 1 || value > dimension) {
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
function checkVocabulary(
  service: EmbeddingService,
  ids: readonly Int32Array[],
  api: Api,
  field = api === 'openai' ? 'input' : 'inputs',
): void {
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
    // OpenAI's types: a limit on requests is `requests` (with code rate_limit_exceeded), server faults
    // `server_error`, anything else about the request `invalid_request_error`.
    const type =
      problem.status >= 500 ? 'server_error' : problem.status === 429 ? 'requests' : 'invalid_request_error';
    const code = problem.status === 404 ? code404 : problem.status === 429 ? 'rate_limit_exceeded' : null;
    return reply.send({ error: { message: problem.message, type, param: problem.param, code } });
  }
  // TEI's ErrorType for its status codes (router/src/http/server.rs): 429 Overloaded, 424 and 5xx Backend,
  // 503 Unhealthy, 4xx Validation.
  const errorType =
    problem.status === 429
      ? 'Overloaded'
      : problem.status === 503
        ? 'Unhealthy'
        : problem.status === 424 || problem.status >= 500
          ? 'Backend'
          : 'Validation';
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
