/**
 * The request log of the model server's gRPC endpoint, as its HTTP one logs (services/http/request-log.ts): one
 * line per call through the same logger when the call ends, a grpc-js server interceptor.
 *
 * - The request id is the call's `x-request-id` metadata when it is a sane one, else a new UUID; it is sent back in
 *   the answer's initial metadata (when the call gets that far) and in its trailers.
 * - The line holds `method: "gRPC"`, `route` (the RPC's path, `/inference.GRPCInferenceService/ModelInfer`),
 *   `status` (the gRPC status code) and `code` (its name), `ms`, the message counts of a stream, and `error` (the
 *   status details) when the call did not end OK.
 * - Levels: INTERNAL, UNKNOWN, DATA_LOSS and UNIMPLEMENTED at error; UNAVAILABLE at warn; ServerLive, ServerReady and
 *   ModelReady (probes) at debug; the rest at info.
 */
import { randomUUID } from 'node:crypto';
import { Metadata, ServerInterceptingCall, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { isSaneRequestId } from '../http/request-log.js';

/** The RPCs logged at debug: health probes. */
const PROBES: ReadonlySet<string> = new Set(['ServerLive', 'ServerReady', 'ModelReady']);

/** Codes that say the server failed (logged at error). */
const FAILURES: ReadonlySet<number> = new Set([
  Status.INTERNAL,
  Status.UNKNOWN,
  Status.DATA_LOSS,
  Status.UNIMPLEMENTED,
]);

const CODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
);

/** The interceptor that logs every call of a grpc-js server to `logger`. */
export function grpcRequestLog(logger: Logger): ServerInterceptor {
  return (method, call) => {
    const started = performance.now();
    const rpc = method.path.slice(method.path.lastIndexOf('/') + 1);
    const streaming = method.requestStream || method.responseStream;
    let reqId = '';
    let messagesIn = 0;
    let messagesOut = 0;
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const given = metadata.get('x-request-id')[0];
            reqId = typeof given === 'string' && isSaneRequestId(given) ? given : randomUUID();
            nextMetadata(metadata);
          },
          onReceiveMessage: (message, nextMessage) => {
            messagesIn++;
            nextMessage(message);
          },
        });
      },
      sendMetadata: (metadata, next) => {
        metadata.set('x-request-id', reqId);
        next(metadata);
      },
      sendMessage: (message, next) => {
        messagesOut++;
        next(message);
      },
      sendStatus: (status, next) => {
        const trailers = status.metadata ?? new Metadata();
        trailers.set('x-request-id', reqId);
        next({ ...status, metadata: trailers });
        const code = status.code;
        const level = FAILURES.has(code)
          ? 'error'
          : PROBES.has(rpc)
            ? 'debug'
            : code === Status.UNAVAILABLE
              ? 'warn'
              : 'info';
        if (!logger.isLevelEnabled(level)) return;
        const ms = Math.round((performance.now() - started) * 1000) / 1000;
        const name = CODE_NAMES[code] ?? String(code);
        const line: Record<string, unknown> = {
          reqId,
          method: 'gRPC',
          route: method.path,
          status: code,
          code: name,
          ms,
        };
        if (streaming) {
          line.messages_in = messagesIn;
          line.messages_out = messagesOut;
        }
        if (code !== Status.OK) line.error = status.details;
        logger[level](line, `gRPC ${method.path} ${name} ${ms} ms`);
      },
    });
  };
}
