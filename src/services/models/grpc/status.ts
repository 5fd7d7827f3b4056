/**
 * The gRPC status of every error the model server's gRPC service answers, as Triton returns them: NOT_FOUND for
 * an unknown model or version, INVALID_ARGUMENT for a request that does not fit the model (bad shape, datatype or
 * size; the message names the tensor) or malformed protobuf, RESOURCE_EXHAUSTED for a full queue or the request
 * bytes in flight at their limit, UNAVAILABLE for a model or server not ready, CANCELLED when the client went
 * away, UNIMPLEMENTED for an extension this server does not offer, INTERNAL otherwise. The HTTP side decides by
 * HTTP status (services/http/status.ts); this maps the same decisions onto gRPC codes, so both protocols agree.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { ModelNotFoundError, ModelNotReadyError, QueueFullError } from '../../../core/errors.js';
import { httpStatusOf } from '../../http/status.js';
import { ClientGone, HttpProblem } from '../../http/problem.js';

/** An error with its gRPC code, as handlers pass it to grpc-js. */
export type GrpcFailure = Partial<ServiceError> & { code: Status; details: string };

/** A failure to send: the code and message `error` deserves (INTERNAL with the message otherwise). */
export function grpcFailure(error: unknown): GrpcFailure {
  const message =
    error instanceof ModelNotReadyError
      ? notReadyOverGrpc(error)
      : error instanceof Error
        ? error.message
        : String(error);
  const code = grpcCodeOf(error);
  const failure: GrpcFailure = { code, details: message };
  if (error instanceof QueueFullError) {
    // Triton's clients read no header, but a gRPC retry policy may: say when to come back, as HTTP's Retry-After.
    const metadata = new Metadata();
    metadata.set('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
    failure.metadata = metadata;
  }
  return failure;
}

/** The gRPC code of an error. */
export function grpcCodeOf(error: unknown): Status {
  if (error instanceof ModelNotFoundError) return Status.NOT_FOUND;
  if (error instanceof QueueFullError) return Status.RESOURCE_EXHAUSTED;
  if (error instanceof ClientGone) return Status.CANCELLED;
  const http = error instanceof HttpProblem ? error.status : httpStatusOf(error);
  return http === null ? Status.INTERNAL : (GRPC_OF_HTTP[http] ?? Status.INTERNAL);
}

/** The gRPC code of each HTTP status a pitlane service answers a client's problem with. */
const GRPC_OF_HTTP: Readonly<Record<number, Status>> = {
  400: Status.INVALID_ARGUMENT,
  404: Status.NOT_FOUND,
  413: Status.RESOURCE_EXHAUSTED,
  422: Status.INVALID_ARGUMENT,
  429: Status.RESOURCE_EXHAUSTED,
  499: Status.CANCELLED,
  501: Status.UNIMPLEMENTED,
  503: Status.UNAVAILABLE,
};

/** A model that is not ready, with what to do in gRPC's words (the error's own message names HTTP routes). */
function notReadyOverGrpc(error: ModelNotReadyError): string {
  const what = `model '${error.model}' is not ready (${error.state}${error.reason === '' ? '' : `: ${error.reason}`})`;
  return error.state === 'UNAVAILABLE'
    ? `${what}; load it with RepositoryModelLoad`
    : `${what}; retry when ModelReady answers ready`;
}
