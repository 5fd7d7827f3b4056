/**
 * KServeGrpcClient: an InferenceEngine over KServe v2 gRPC (`inference.GRPCInferenceService`), for pitlane's own
 * `serve models` (tested) or, by the same protocol, a real Triton on its port 8001 (not tried here). One channel (HTTP/2, many calls at once) with keep-alive
 * pings while calls are open; tensors go as raw contents both ways, which costs no per-element encoding. Nothing
 * pitlane-specific is sent or required; the `server-timing` trailer pitlane's server adds (its time split, as
 * HTTP's Server-Timing header) comes back in each result's `serverTiming`.
 *
 * Server errors come back as the engine's errors, as KServeClient's do over HTTP: NOT_FOUND (or Triton's
 * "Request for unknown model") → ModelNotFoundError, INVALID_ARGUMENT → InferenceInputError with the server's
 * message, RESOURCE_EXHAUSTED (or Triton's UNAVAILABLE "Exceeds maximum queue size") → QueueFullError, anything
 * else → an Error naming the address, the status and the message. A server that cannot be reached gives an Error
 * naming the address.
 */
import {
  Client,
  Metadata,
  credentials,
  status as Status,
  type CallOptions,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { InferenceInputError, ModelNotFoundError, QueueFullError } from '../../core/errors.js';
import {
  isTensorDataType,
  type InferenceEngine,
  type InferenceRequest,
  type InferenceResult,
  type ModelMetadata,
  type TensorMetadata,
} from '../tensor/tensor.js';
import { decodeInferResponse, encodeInferRequest } from './grpc-codec.js';
import { parseServerTiming } from './server-timing.js';
import {
  SERVICE_NAME,
  inferenceService,
  type ModelInferResponseMessage,
  type ModelMetadataResponseMessage,
  type RpcName,
  type ServerMetadataResponseMessage,
} from './grpc-proto.js';

export interface KServeGrpcClientOptions {
  /** The server's address: `grpc://host:port` (or `host:port`). */
  readonly url: string;
  /** Longest wait for an answer, per call, in milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** Largest answer accepted, in bytes (default 1 GiB; gRPC's own default of 4 MiB is too small for tensors). */
  readonly maxReceiveBytes?: number;
  /** Extra metadata sent with every call (e.g. authorization for a gateway). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The scheme of a gRPC inference URL. */
export const GRPC_SCHEME = 'grpc:';

export class KServeGrpcClient implements InferenceEngine {
  /** The server's address, `grpc://host:port`. */
  readonly url: string;
  private readonly client: Client;
  private readonly timeoutMs: number;
  private readonly metadata: Metadata;

  constructor(options: KServeGrpcClientOptions) {
    const text = options.url.includes('://') ? options.url : `grpc://${options.url}`;
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new Error(
        `KServe gRPC address '${options.url}' is not a URL (expected e.g. grpc://127.0.0.1:8001)`,
      );
    }
    if (parsed.protocol !== GRPC_SCHEME) {
      throw new Error(`KServe gRPC address '${options.url}' must be grpc://host:port`);
    }
    if (parsed.port === '') {
      throw new Error(
        `KServe gRPC address '${options.url}' has no port (Triton's is 8001: grpc://host:8001)`,
      );
    }
    this.url = `grpc://${parsed.host}`;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.metadata = new Metadata();
    for (const [k, v] of Object.entries(options.headers ?? {})) this.metadata.set(k, v);
    this.client = new Client(parsed.host, credentials.createInsecure(), {
      'grpc.max_receive_message_length': options.maxReceiveBytes ?? 1 << 30,
      'grpc.max_send_message_length': -1,
      // Pings only while calls are open (a server may refuse pings on an idle connection).
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 0,
    });
  }

  /** ServerMetadata: the server's name, version and extensions. */
  serverMetadata(): Promise<ServerMetadataResponseMessage> {
    return this.call<ServerMetadataResponseMessage>('ServerMetadata', {});
  }

  /** ServerLive. Rejects only when the server cannot be reached. */
  async live(): Promise<boolean> {
    return (await this.call<{ live: boolean }>('ServerLive', {})).live;
  }

  /** ServerReady. Rejects only when the server cannot be reached. */
  async ready(): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ServerReady', {})).ready;
  }

  /** ModelReady: false for an unknown model too. */
  async modelReady(model: string, version?: string): Promise<boolean> {
    try {
      return (await this.call<{ ready: boolean }>('ModelReady', { name: model, version: version ?? '' }))
        .ready;
    } catch (err) {
      if (err instanceof ModelNotFoundError) return false;
      throw err;
    }
  }

  async modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    const m = await this.call<ModelMetadataResponseMessage>(
      'ModelMetadata',
      { name: model, version: version ?? '' },
      { model, version },
    );
    const tensors = (list: ModelMetadataResponseMessage['inputs'], role: string): TensorMetadata[] =>
      list.map((t) => {
        if (!isTensorDataType(t.datatype)) {
          throw new Error(
            `${this.url}: ${role} '${t.name}' of model '${model}' has datatype ${t.datatype}, ` +
              'which pitlane does not support',
          );
        }
        return { name: t.name, datatype: t.datatype, shape: t.shape };
      });
    return {
      name: m.name === '' ? model : m.name,
      versions: m.versions,
      platform: m.platform,
      inputs: tensors(m.inputs, 'input'),
      outputs: tensors(m.outputs, 'output'),
    };
  }

  async infer(model: string, request: InferenceRequest, version?: string): Promise<InferenceResult> {
    let trailer: Metadata | null = null;
    const answer = await this.call<ModelInferResponseMessage>(
      'ModelInfer',
      encodeInferRequest(model, request, version),
      { model, version },
      request.signal,
      (metadata) => {
        trailer = metadata;
      },
    );
    try {
      const result = decodeInferResponse(answer);
      const timing = (trailer as Metadata | null)?.get('server-timing');
      return {
        ...result,
        modelName: result.modelName === '' ? model : result.modelName,
        ...(timing !== undefined &&
          timing.length > 0 && { serverTiming: parseServerTiming(timing.map((v) => String(v))) }),
      };
    } catch (err) {
      throw new Error(
        `${this.url} sent a malformed inference response for model '${model}': ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** Closes the channel. Never rejects. */
  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }

  /** One unary call; its failure as the engine's error. */
  private call<Res>(
    rpc: RpcName,
    request: object,
    about?: { model: string; version: string | undefined },
    signal?: AbortSignal,
    onTrailer?: (metadata: Metadata) => void,
  ): Promise<Res> {
    const definition = inferenceService()[rpc];
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    return new Promise<Res>((resolve, reject) => {
      const options: CallOptions = { deadline: Date.now() + this.timeoutMs };
      const call = this.client.makeUnaryRequest<object, object>(
        `/${SERVICE_NAME}/${rpc}`,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        this.metadata,
        options,
        (err, response) => {
          signal?.removeEventListener('abort', onAbort);
          if (err !== null) {
            reject(
              err.code === Status.CANCELLED && signal?.aborted === true
                ? (signal.reason as Error)
                : this.failure(rpc, err, about),
            );
          } else {
            resolve(response as Res);
          }
        },
      );
      if (onTrailer !== undefined) {
        call.on('status', (status: StatusObject) => {
          onTrailer(status.metadata);
        });
      }
      const onAbort = (): void => {
        call.cancel();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The engine error of a failed call. */
  private failure(
    rpc: RpcName,
    err: ServiceError,
    about: { model: string; version: string | undefined } | undefined,
  ): Error {
    const message = err.details;
    if (
      about !== undefined &&
      (err.code === Status.NOT_FOUND || /^Request for unknown model\b/.test(message))
    ) {
      return new ModelNotFoundError(about.model, about.version);
    }
    if (err.code === Status.INVALID_ARGUMENT) return new InferenceInputError(message);
    if (err.code === Status.RESOURCE_EXHAUSTED && /larger than/i.test(message)) {
      // A message over the server's size limit: retrying will not help.
      return new Error(`${this.url}: ${rpc} refused: ${message}`, { cause: err });
    }
    if (
      err.code === Status.RESOURCE_EXHAUSTED ||
      (err.code === Status.UNAVAILABLE && /maximum queue size/i.test(message))
    ) {
      const queued = /\((\d+) sequences waiting\)/.exec(message)?.[1];
      const retryAfter = Number(err.metadata.get('retry-after')[0] ?? 1);
      return new QueueFullError(
        (Number.isFinite(retryAfter) ? retryAfter : 1) * 1000,
        queued === undefined ? 0 : Number(queued),
      );
    }
    if (err.code === Status.UNAVAILABLE && /connect|No connection|ECONNREFUSED/i.test(message)) {
      return new Error(`cannot reach the KServe gRPC server at ${this.url} (${rpc}): ${message}`, {
        cause: err,
      });
    }
    if (err.code === Status.DEADLINE_EXCEEDED) {
      return new Error(`${this.url}: no answer to ${rpc} within ${this.timeoutMs} ms`, { cause: err });
    }
    return new Error(`${this.url}: ${rpc} answered ${Status[err.code]}: ${message}`, { cause: err });
  }
}
