/**
 * The model server's HTTP API (fastify): the KServe v2 / Open Inference Protocol REST endpoints with Triton's
 * binary tensor data extension, so that any KServe v2 client (pitlane's KServeClient, tritonclient, KServe's
 * SDK) can use it, and Prometheus `/metrics` under Triton's metric names.
 *
 *   GET  /v2                                             server metadata
 *   GET  /v2/health/live, /v2/health/ready               200, or 503 when not ready (empty body)
 *   GET  /v2/models/{m}[/versions/{v}]                   model metadata
 *   GET  /v2/models/{m}[/versions/{v}]/ready             200, 404 unknown, 503 not ready
 *   POST /v2/models/{m}[/versions/{v}]/infer             JSON, or JSON header + binary tensor data
 *   GET  /metrics                                        Prometheus text
 *
 * With a ModelControl (a local engine), also Triton's model repository, model configuration and statistics
 * extensions (triton-extensions.ts), and `GET /v2` lists them. Every infer answer carries a `Server-Timing`
 * header (W3C) with where the request's time went, in ms: `decode` (reading the tensors from the body), the
 * engine's `queue`, `input`, `infer` and `output` (when the engine gives them), and `encode` (writing the answer).
 *
 * Handlers only read the body (body-reader.ts, inference/kserve/codec.ts), call the InferenceEngine and shape the answer. Errors are
 * KServe's `{"error": "..."}`: 400 malformed request or tensors that do not fit the model (the message names
 * the tensor), 404 unknown model or version, 413 body over the limit, 415 unsupported Content-Encoding, 429 +
 * Retry-After when the engine's queue is full or the request bytes in flight are at their limit, 499 when the
 * client went away (the engine is told through the request's AbortSignal and drops the request if it has not
 * run yet), 503 model not ready, 500 otherwise.
 *
 * Memory is bounded by two limits (Triton's approach): the body size (413, as soon as it is known to be over)
 * and the request bytes in flight across all requests (an InFlightBudget: a request's declared length is taken
 * when it arrives, before its body is read, or its bytes as they come when the length is not declared or the
 * body is compressed; given back when its answer has been sent). A request that does not fit gets 429 +
 * Retry-After at once instead of being held.
 */
import {
  InferenceInputError,
  ModelNotFoundError,
  ModelNotReadyError,
  QueueFullError,
} from '../../core/errors.js';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  type InferenceEngine,
  type InferenceRequest,
  type ModelMetadata,
  type Tensor,
} from '../../inference/tensor/tensor.js';
import {
  INFERENCE_HEADER,
  type EncodedBody,
  encodeInferResponse,
  parseHeaderLength,
  parseInferRequest,
} from '../../inference/kserve/codec.js';
import { formatServerTiming } from '../../inference/kserve/server-timing.js';
import { setServiceErrorHandler } from '../http/error-handler.js';
import { SCHEMA_VALIDATION } from '../http/schema-refusal.js';
import { registerOpenApi } from '../http/openapi.js';
import { installRequestLog, loggingOptions } from '../http/request-log.js';
import { ClientGone, HttpProblem } from '../http/problem.js';
import { InFlightBudget, overLimit, type RequestLimit } from '../http/request-limits.js';
import type { ModelControl } from '../../inference/tensor/model-control.js';
import { readBody, wholeNumber } from './body-reader.js';
import { registerTritonExtensions, TRITON_EXTENSIONS } from './triton-extensions.js';
import { ModelServerMetrics, type FailureReason, type ModelStatistics, type ServedModel } from './metrics.js';
import { modelServerApiDoc } from './openapi.js';

/** Default largest request body: 64 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Default request bytes in flight at once: 256 MiB (four bodies at the largest; twelve 21 MB ones). What a byte
 * costs in memory while its request is served: about 3x for binary tensors, more for JSON (see docs/models.md,
 * "Resource limits").
 */
export const DEFAULT_INFLIGHT_LIMIT_BYTES = 256 * 1024 * 1024;

/** The limits of the model server as documented and enforced (for refusals, --help and the docs table). */
export function modelServerRequestLimits(bodyLimitBytes: number, inFlightLimitBytes: number): RequestLimit[] {
  return [
    { name: 'request body', flag: '--max-body-mb', value: bodyLimitBytes, unit: 'bytes', status: 413 },
    {
      name: 'request bytes in flight',
      flag: '--max-inflight-mb',
      value: inFlightLimitBytes,
      unit: 'bytes',
      status: 429,
    },
  ];
}

export interface ModelServerAppOptions {
  /** Runs inference and answers metadata and readiness (local models, or another KServe v2 server). */
  readonly engine: InferenceEngine;
  /** The server version `GET /v2` reports (pitlane's version). */
  readonly version: string;
  /** The server name `GET /v2` reports (default `pitlane`). */
  readonly serverName?: string;
  /**
   * The models served and their versions. Metrics carry only these names (a request for an unknown model adds
   * no series), and each of them has its series from the start, at 0.
   */
  readonly models: () => readonly ServedModel[];
  /** Largest request body in bytes, after decompression (default 64 MiB); larger: 413. */
  readonly bodyLimitBytes?: number;
  /**
   * Most request body bytes (after decompression) of all requests in flight together (default 256 MiB, and
   * never below the body limit); more: 429 + Retry-After.
   */
  readonly inFlightLimitBytes?: number;
  /**
   * The in-flight budget to use instead of one of `inFlightLimitBytes`: the one the gRPC endpoint takes its
   * requests' bytes from too, so both protocols together stay under one limit.
   */
  readonly inFlight?: InFlightBudget;
  /**
   * Engine statistics (model executions, queue and compute time) for /metrics, read at each scrape. Without
   * it each request counts as one execution.
   */
  readonly statistics?: () => readonly ModelStatistics[];
  /** Metrics to feed (default: a new ModelServerMetrics with `models` and `statistics`). */
  readonly metrics?: ModelServerMetrics;
  /** The engine's repository, configuration and statistics (a local engine): Triton's extensions are served. */
  readonly control?: ModelControl;
  /** Where request lines go (services/http/request-log.ts); none: no logs. */
  readonly logger?: Logger;
}

/** The bytes a request holds of the in-flight budget. */
interface Reservation {
  taken: number;
  /** Taken in full when the request came (its declared length); else taken chunk by chunk as it is read. */
  readonly prepaid: boolean;
}

type ModelParams = { model: string; version?: string };

export function buildModelServerApp(options: ModelServerAppOptions): FastifyInstance {
  const { engine } = options;
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const metrics =
    options.metrics ??
    new ModelServerMetrics({
      models: options.models,
      ...(options.statistics !== undefined && { statistics: options.statistics }),
    });
  const app = Fastify({ bodyLimit: limit, ...loggingOptions(options.logger), ...SCHEMA_VALIDATION });
  installRequestLog(app);
  registerOpenApi(app, modelServerApiDoc(options.version));
  const [bodyLimit, inFlightLimit] = modelServerRequestLimits(
    limit,
    Math.max(limit, options.inFlightLimitBytes ?? DEFAULT_INFLIGHT_LIMIT_BYTES),
  ) as [RequestLimit, RequestLimit];
  const inFlight = options.inFlight ?? new InFlightBudget(inFlightLimit);
  const reservations = new WeakMap<FastifyRequest, Reservation>();
  const tooLarge = (): HttpProblem => overLimit(bodyLimit, 'the request body');
  /** Whether a model version's first input has a variable first dimension (then it is the batch size). */
  const batched = new Map<string, Promise<boolean>>();
  /** The batch size of a request, for nv_inference_count when the engine gives no statistics. */
  const batchSize = async (
    model: string,
    modelVersion: string,
    inputs: readonly Tensor[],
  ): Promise<number> => {
    const first = inputs[0];
    if (first === undefined || first.shape.length === 0) return 1;
    const key = JSON.stringify([model, modelVersion]);
    let isBatched = batched.get(key);
    if (isBatched === undefined) {
      isBatched = engine.modelMetadata(model, modelVersion).then(
        (m) => m.inputs[0]?.shape[0] === -1,
        () => false,
      );
      batched.set(key, isBatched);
    }
    return (await isBatched) ? (first.shape[0] ?? 1) : 1;
  };

  setServiceErrorHandler(app, {
    send: (reply, problem) => sendProblem(reply, problem),
    bodyTooLarge: tooLarge,
    invalidMediaType: 'the Content-Type header is not a valid media type',
    drain: 'refusals',
    problemOf: inferenceProblem,
    internalPrefix: (request) => (request.url.endsWith('/infer') ? 'inference failed' : 'internal error'),
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new HttpProblem(404, `no route ${request.method} ${request.url}; the KServe v2 API is under /v2`),
    ),
  );

  app.get('/v2', (_request, reply) =>
    reply.send({
      name: options.serverName ?? 'pitlane',
      version: options.version,
      extensions: ['binary_tensor_data', ...(options.control !== undefined ? TRITON_EXTENSIONS : [])],
    }),
  );
  if (options.control !== undefined) registerTritonExtensions(app, options.control);

  app.get('/v2/health/live', (_request, reply) => reply.code(200).send());

  app.get('/v2/health/ready', async (_request, reply) => {
    const ready = await engine.ready().catch(() => false);
    return reply.code(ready ? 200 : 503).send();
  });

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    const m = await engine.modelMetadata(model, version);
    return reply.send(metadataJson(m));
  };
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);

  const modelReady = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    await checkModelReady(engine, model, version);
    return reply.code(200).send();
  };
  app.get('/v2/models/:model/ready', modelReady);
  app.get('/v2/models/:model/versions/:version/ready', modelReady);

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.registry.contentType).send(text);
  });

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const started = performance.now();
    const { model, version } = request.params;
    const labels = metrics.labelsFor(model, version);
    const controller = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) controller.abort(new ClientGone());
    };
    reply.raw.once('close', onClose);
    // Gone while its body was read: the 'close' event has already been and will not come again.
    if (request.raw.socket.destroyed) onClose();
    if (labels !== null) metrics.started(labels);
    let encoded: EncodedBody;
    let serverTiming: string;
    try {
      await checkModelReady(engine, model, version);
      const body = request.body;
      if (!(body instanceof Uint8Array) || body.byteLength === 0) {
        throw new InferenceInputError(
          'the request has no body: send the inference request JSON ' +
            '(or a JSON header and binary tensor data)',
        );
      }
      const decodeStart = performance.now();
      const parsed = parseInferRequest(
        body,
        parseHeaderLength(request.headers[INFERENCE_HEADER], body.byteLength),
      );
      const decodeMs = performance.now() - decodeStart;
      const inferRequest: InferenceRequest = {
        inputs: parsed.inputs,
        signal: controller.signal,
        ...(parsed.id !== undefined && { id: parsed.id }),
        ...(parsed.outputs !== undefined && { outputs: parsed.outputs }),
      };
      const result = await engine.infer(model, inferRequest, version);
      if (controller.signal.aborted) throw new ClientGone();
      const encodeStart = performance.now();
      encoded = encodeInferResponse(result, parsed.binaryOutputs);
      serverTiming = formatServerTiming(decodeMs, result.timing, performance.now() - encodeStart);
      const okLabels = metrics.labelsFor(model, result.modelVersion) ?? labels;
      if (okLabels !== null) {
        const batch =
          options.statistics === undefined ? await batchSize(model, result.modelVersion, parsed.inputs) : 1;
        metrics.succeeded(okLabels, (performance.now() - started) * 1000, batch);
      }
    } catch (err) {
      const error = controller.signal.aborted ? new ClientGone() : err;
      if (labels !== null) metrics.failed(labels, reasonOf(error));
      throw error;
    } finally {
      reply.raw.off('close', onClose);
      if (labels !== null) metrics.finished(labels);
    }
    void reply.code(200).type(encoded.contentType).header('server-timing', serverTiming);
    if (encoded.headerLength !== undefined) void reply.header(INFERENCE_HEADER, String(encoded.headerLength));
    return reply.send(encoded.body);
  };

  // The infer routes read their bodies themselves, whatever the Content-Type (the binary extension sends
  // application/octet-stream; tritonclient may send none): JSON, or a JSON header and tensor bytes.
  void app.register((scope, _opts, done) => {
    // A request's bytes are taken from the in-flight budget when it arrives (its declared length, when the body
    // is not compressed) or as they are read, and given back once its answer is sent or its client is gone.
    scope.addHook('onRequest', (request, reply, next) => {
      const declared = wholeNumber(request.headers['content-length']);
      const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      const prepaid = declared !== undefined && (encoding === 'identity' || encoding === '');
      // A declared body over the limit is refused as such (413) when its body is read; it takes nothing here.
      const want = prepaid && declared <= limit ? declared : 0;
      if (!inFlight.tryTake(want)) {
        next(inFlight.refusal());
        return;
      }
      const reservation: Reservation = { taken: want, prepaid };
      reservations.set(request, reservation);
      let given = false;
      const give = (): void => {
        if (given) return;
        given = true;
        inFlight.give(reservation.taken);
        reservation.taken = 0;
      };
      reply.raw.once('close', give);
      reply.raw.once('finish', give);
      next();
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (request, payload, parsed) => {
      const reservation = reservations.get(request);
      const take =
        reservation === undefined || reservation.prepaid
          ? null
          : (bytes: number): HttpProblem | null => {
              if (!inFlight.tryTake(bytes)) return inFlight.refusal();
              reservation.taken += bytes;
              return null;
            };
      readBody(request, payload, limit, tooLarge, take).then(
        (body) => {
          parsed(null, body);
        },
        (err: unknown) => {
          parsed(err instanceof Error ? err : new Error(String(err)), undefined);
        },
      );
    });
    scope.post('/v2/models/:model/infer', infer);
    scope.post('/v2/models/:model/versions/:version/infer', infer);
    done();
  });

  return app;
}

/** Resolves when the model (version) is ready; ModelNotFoundError (404) or HttpProblem 503 otherwise. */
async function checkModelReady(
  engine: InferenceEngine,
  model: string,
  version: string | undefined,
): Promise<void> {
  if (await engine.modelReady(model, version)) return;
  try {
    await engine.modelMetadata(model, version);
  } catch (err) {
    // An unknown model (404), or one of the repository that is not loaded (503, saying its state).
    if (err instanceof ModelNotFoundError || err instanceof ModelNotReadyError) throw err;
  }
  const which = version === undefined ? `model '${model}'` : `version '${version}' of model '${model}'`;
  const path = `/v2/models/${model}${version === undefined ? '' : `/versions/${version}`}/ready`;
  throw new HttpProblem(503, `${which} is not ready yet; retry when GET ${path} answers 200`);
}

/**
 * The HTTP answer to a full queue (429 with Retry-After); null for any other error. The other errors of the
 * inference layer are answered by their codes (services/http/status.ts).
 */
function inferenceProblem(error: Error): HttpProblem | null {
  if (error instanceof QueueFullError) {
    return new HttpProblem(429, `overloaded: ${error.message}`, null, {
      'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))),
    });
  }
  return null;
}

/** Triton's reason label of a failed request. */
export function reasonOf(error: unknown): FailureReason {
  if (error instanceof QueueFullError) return 'REJECTED';
  if (error instanceof ClientGone) return 'CANCELED';
  if (
    error instanceof InferenceInputError ||
    error instanceof ModelNotFoundError ||
    error instanceof ModelNotReadyError ||
    error instanceof HttpProblem
  ) {
    return 'OTHER';
  }
  return 'BACKEND';
}

function sendProblem(reply: FastifyReply, problem: HttpProblem): FastifyReply {
  return reply.code(problem.status).type('application/json').send({ error: problem.message });
}

/** The protocol's model metadata object (only its fields), as JSON and as the gRPC ModelMetadataResponse. */
export function metadataJson(m: ModelMetadata): Record<string, unknown> {
  const tensor = (t: { name: string; datatype: string; shape: readonly number[] }) => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
  });
  return {
    name: m.name,
    versions: m.versions,
    platform: m.platform,
    inputs: m.inputs.map(tensor),
    outputs: m.outputs.map(tensor),
  };
}
