/**
 * ModelInfer and ModelStreamInfer: a request's tensors are read (inference/kserve/grpc-codec.ts), handed to the
 * same InferenceEngine the HTTP routes call (so both protocols share its dynamic batcher and queue), and the
 * outputs go back as raw contents, as Triton sends them.
 *
 * A request's wire bytes are taken from the in-flight budget the HTTP server shares when it arrives and given
 * back once its answer is handed to grpc-js; one that does not fit is refused at once with RESOURCE_EXHAUSTED.
 * A client that cancels (or whose deadline passes) aborts the request's AbortSignal, and the engine drops it if
 * it has not run yet, as for HTTP. On a stream, answers are written in the order of the requests; a request that
 * fails is answered with `error_message` (Triton's behaviour) and the stream goes on.
 */
import { Metadata, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { InferenceInputError, ModelNotFoundError, ModelNotReadyError } from '../../../core/errors.js';
import { decodeInferRequest, encodeInferResponse } from '../../../inference/kserve/grpc-codec.js';
import { formatServerTiming } from '../../../inference/kserve/server-timing.js';
import type {
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ModelStreamInferResponseMessage,
} from '../../../inference/kserve/grpc-proto.js';
import type { InferenceEngine } from '../../../inference/tensor/tensor.js';
import { ClientGone, HttpProblem } from '../../http/problem.js';
import type { InFlightBudget } from '../../http/request-limits.js';
import { reasonOf } from '../app.js';
import type { ModelServerMetrics } from '../metrics.js';
import { grpcFailure } from './status.js';
import { malformedReason, wireBytes } from './wire-messages.js';

/** The trailer of a ModelInfer answer that splits its time, as HTTP's `Server-Timing` header does. */
export const SERVER_TIMING = 'server-timing';

/** What the inference handlers need. */
export interface InferContext {
  readonly engine: InferenceEngine;
  readonly budget: InFlightBudget;
  readonly metrics: ModelServerMetrics | null;
}

/** One answer and its `server-timing` value (the split HTTP sends as the Server-Timing header). */
export interface InferAnswer {
  readonly response: ModelInferResponseMessage;
  readonly serverTiming: string;
}

/** Runs one ModelInferRequest; rejects with the error to answer. */
export async function runInfer(
  ctx: InferContext,
  msg: ModelInferRequestMessage,
  signal: AbortSignal,
): Promise<InferAnswer> {
  const started = performance.now();
  const model = msg.model_name;
  if (model === '') throw new InferenceInputError('model_name is missing');
  const version = msg.model_version === '' || msg.model_version === undefined ? undefined : msg.model_version;
  const labels = ctx.metrics?.labelsFor(model, version) ?? null;
  if (labels !== null) ctx.metrics?.started(labels);
  try {
    await checkModelReady(ctx.engine, model, version);
    const decodeStart = performance.now();
    const decoded = decodeInferRequest(msg);
    const decodeMs = performance.now() - decodeStart;
    const result = await ctx.engine.infer(
      model,
      {
        inputs: decoded.inputs,
        signal,
        ...(decoded.id !== undefined && { id: decoded.id }),
        ...(decoded.outputs !== undefined && { outputs: decoded.outputs }),
      },
      version,
    );
    if (signal.aborted) throw new ClientGone();
    const encodeStart = performance.now();
    const response = encodeInferResponse(result, decoded.typedOutputs);
    const serverTiming = formatServerTiming(decodeMs, result.timing, performance.now() - encodeStart);
    const okLabels = ctx.metrics?.labelsFor(model, result.modelVersion) ?? labels;
    if (okLabels !== null) ctx.metrics?.succeeded(okLabels, (performance.now() - started) * 1000, 1);
    return { response, serverTiming };
  } catch (err) {
    const error = signal.aborted ? new ClientGone() : err;
    if (labels !== null) ctx.metrics?.failed(labels, reasonOf(error));
    throw error;
  } finally {
    if (labels !== null) ctx.metrics?.finished(labels);
  }
}

/** Resolves when the model (version) is ready; ModelNotFoundError, or 503 (UNAVAILABLE) when it is not ready. */
export async function checkModelReady(
  engine: InferenceEngine,
  model: string,
  version: string | undefined,
): Promise<void> {
  if (await engine.modelReady(model, version)) return;
  // Not ready, or not there: the metadata call tells which (ModelNotFoundError for an unknown one).
  await engine.modelMetadata(model, version).catch((err: unknown) => {
    // Unknown (NOT_FOUND), or not ready with its state and reason (UNAVAILABLE).
    if (err instanceof ModelNotFoundError || err instanceof ModelNotReadyError) throw err;
  });
  const which = version === undefined ? `model '${model}'` : `version '${version}' of model '${model}'`;
  throw new HttpProblem(503, `${which} is not ready; retry when ModelReady answers ready`);
}

/** The ModelInfer handler. */
export function modelInferHandler(
  ctx: InferContext,
): (call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>) => void {
  return (call, callback) => {
    const fail = (err: unknown): void => {
      callback(grpcFailure(err), null);
    };
    const taken = admit(ctx.budget, call.request);
    if (taken instanceof Error) {
      fail(taken);
      return;
    }
    const controller = new AbortController();
    const onCancel = (): void => {
      controller.abort(new ClientGone());
    };
    call.once('cancelled', onCancel);
    runInfer(ctx, call.request as ModelInferRequestMessage, controller.signal)
      .then(
        ({ response, serverTiming }) => {
          // The time split goes back in the trailers, under the name and in the format of HTTP's header.
          const trailer = new Metadata();
          trailer.set(SERVER_TIMING, serverTiming);
          callback(null, response, trailer);
        },
        (err: unknown) => {
          fail(err);
        },
      )
      .finally(() => {
        call.off('cancelled', onCancel);
        ctx.budget.give(taken);
      });
  };
}

/** The ModelStreamInfer handler. */
export function modelStreamInferHandler(
  ctx: InferContext,
): (call: ServerDuplexStream<object, object>) => void {
  return (call) => {
    const controller = new AbortController();
    call.once('cancelled', () => {
      controller.abort(new ClientGone());
    });
    // Answers are chained in the order requests came; each request runs as soon as it arrives.
    let tail: Promise<void> = Promise.resolve();
    call.on('data', (request: object) => {
      let answer: Promise<ModelStreamInferResponseMessage>;
      const taken = admit(ctx.budget, request);
      if (taken instanceof Error) {
        answer = Promise.resolve(streamError(taken));
      } else {
        answer = runInfer(ctx, request as ModelInferRequestMessage, controller.signal)
          .then(
            ({ response }): ModelStreamInferResponseMessage => ({
              error_message: '',
              infer_response: response,
            }),
            streamError,
          )
          .finally(() => {
            ctx.budget.give(taken);
          });
      }
      tail = tail.then(async () => {
        const message = await answer;
        if (!controller.signal.aborted) call.write(message);
      });
    });
    call.once('end', () => {
      void tail.then(() => {
        if (!controller.signal.aborted) call.end();
      });
    });
  };
}

function streamError(err: unknown): ModelStreamInferResponseMessage {
  return { error_message: grpcFailure(err).details, infer_response: null };
}

/**
 * Admits a request: its wire bytes taken from the budget (the number taken), or the error to answer (malformed
 * protobuf: INVALID_ARGUMENT; over the budget: RESOURCE_EXHAUSTED).
 */
function admit(budget: InFlightBudget, request: object): number | Error {
  const malformed = malformedReason(request);
  if (malformed !== null) return new InferenceInputError(`malformed ModelInferRequest: ${malformed}`);
  const bytes = wireBytes(request);
  return budget.tryTake(bytes) ? bytes : budget.refusal();
}
