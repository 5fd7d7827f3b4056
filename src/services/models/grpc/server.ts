/**
 * The model server's gRPC endpoint: KServe v2's `inference.GRPCInferenceService` (proto/grpc_service.proto) on
 * @grpc/grpc-js, beside the HTTP API and over the same InferenceEngine, so the two protocols share the models,
 * their dynamic batchers and queues, the metrics and the ModelControl extensions.
 *
 * Memory is bounded as on HTTP: a message over the body limit (`grpc.max_receive_message_length`) is refused
 * with RESOURCE_EXHAUSTED from its 5-byte length prefix, before its bytes are kept; and each request's bytes are
 * taken from the in-flight budget the HTTP server uses (one budget for both protocols) until it is answered.
 * Shutdown drains: tryShutdown lets calls in flight finish for a bounded time, then forceShutdown cancels the
 * rest.
 */
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ModelControl } from '../../../inference/tensor/model-control.js';
import type { InferenceEngine } from '../../../inference/tensor/tensor.js';
import { InFlightBudget, type RequestLimit } from '../../http/request-limits.js';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_INFLIGHT_LIMIT_BYTES, modelServerRequestLimits } from '../app.js';
import type { ModelServerMetrics } from '../metrics.js';
import { grpcRequestLog } from '../grpc-request-log.js';
import { grpcHandlers } from './handlers.js';
import { serverServiceDefinition } from './wire-messages.js';

/** Triton's gRPC port, pitlane's default. */
export const DEFAULT_GRPC_PORT = 8001;

export interface ModelGrpcServerOptions {
  /** The engine the HTTP API serves too. */
  readonly engine: InferenceEngine;
  /** The server version ServerMetadata reports (pitlane's version). */
  readonly version: string;
  /** The server name ServerMetadata reports (default `pitlane`). */
  readonly serverName?: string;
  /** Largest request message in bytes (default 64 MiB, the HTTP body limit); larger: RESOURCE_EXHAUSTED. */
  readonly bodyLimitBytes?: number;
  /**
   * The request bytes in flight, shared with the HTTP server (its `inFlight` option); without it, a budget of
   * `inFlightLimitBytes` of its own.
   */
  readonly inFlight?: InFlightBudget;
  /** The limit of its own budget, when `inFlight` is not given (default 256 MiB). */
  readonly inFlightLimitBytes?: number;
  /** Triton's repository, configuration and statistics extensions; absent: those RPCs answer UNIMPLEMENTED. */
  readonly control?: ModelControl;
  /** The HTTP server's metrics, so gRPC requests count in /metrics too. */
  readonly metrics?: ModelServerMetrics;
  /** Where a line per call goes (../grpc-request-log.ts, as the HTTP request log); none: no logs. */
  readonly logger?: Logger;
}

/** A listening gRPC server. */
export interface ModelGrpcServer {
  /** The port it listens on (the one chosen by the system when asked for 0). */
  readonly port: number;
  /**
   * Stops accepting calls, lets calls in flight finish for up to `drainMs`, then cancels what is left. Never
   * rejects.
   */
  close(drainMs?: number): Promise<void>;
}

/** Where a gRPC server listens, as grpc-js takes it (an IPv6 address in brackets). */
export function grpcAddress(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** A grpc-js server with the service, not yet listening. */
export function buildModelGrpcServer(options: ModelGrpcServerOptions): Server {
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const [, inFlightLimit] = modelServerRequestLimits(
    bodyLimit,
    Math.max(bodyLimit, options.inFlightLimitBytes ?? DEFAULT_INFLIGHT_LIMIT_BYTES),
  ) as [RequestLimit, RequestLimit];
  const budget = options.inFlight ?? new InFlightBudget(inFlightLimit);
  const server = new Server({
    interceptors: options.logger === undefined ? [] : [grpcRequestLog(options.logger)],
    'grpc.max_receive_message_length': bodyLimit,
    // Answers are as large as the model makes them (the client sets what it accepts).
    'grpc.max_send_message_length': -1,
  });
  server.addService(
    serverServiceDefinition(),
    grpcHandlers({
      engine: options.engine,
      budget,
      metrics: options.metrics ?? null,
      serverName: options.serverName ?? 'pitlane',
      version: options.version,
      control: options.control ?? null,
    }) as UntypedServiceImplementation,
  );
  return server;
}

/** Builds the server and listens on `host:port` (0: a port chosen by the system). */
export async function startModelGrpcServer(
  options: ModelGrpcServerOptions,
  host: string,
  port: number,
): Promise<ModelGrpcServer> {
  const server = buildModelGrpcServer(options);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(grpcAddress(host, port), ServerCredentials.createInsecure(), (err, p) => {
      if (err === null) resolve(p);
      else reject(err);
    });
  });
  return { port: bound, close: (drainMs = 5000) => shutDown(server, drainMs) };
}

function shutDown(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, drainMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
