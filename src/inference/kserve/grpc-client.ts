/**
 * KServeGrpcClient: an InferenceEngine over KServe v2 gRPC (`inference.GRPCInferenceService`), for pitlane's own
 * `serve models` (tested) or, by the same protocol, a real Triton on its port 8001 (not tried here). Tensors go as
 * raw contents both ways, which costs no per-element encoding. Nothing pitlane-specific is sent or required; the
 * `server-timing` trailer pitlane's server adds (its time split, as HTTP's Server-Timing header) comes back in each
 * result's `serverTiming`.
 *
 * It speaks gRPC's HTTP/2 mapping itself, on `node:http2`, rather than through @grpc/grpc-js: measured on this
 * project's 2-core VM, grpc-js's client cost about 200 µs per unary call over a raw HTTP/2 request to the same
 * server and halved throughput at concurrency 16 (issue 16). What it needs of gRPC is small: unary calls only, no
 * compression, no TLS, no name resolution or load balancing. The messages are (de)serialised by protobufjs through
 * the service definition of grpc-proto.ts, as the server does.
 *
 * - One HTTP/2 session, opened on the first call and again after it closes or receives GOAWAY. It is unref'd
 *   while no call is open, so an idle client does not keep the process alive. A call refused by a server going
 *   away (REFUSED_STREAM, or a session that can take no new stream) is sent once more on a new session: the
 *   server never saw it. A call open on a session that dies fails with an Error naming the address.
 * - A call: POST `/inference.GRPCInferenceService/<Rpc>` with `content-type: application/grpc`, `te: trailers`,
 *   `grpc-timeout` and the `headers` option as metadata; the body is one length-prefixed message (flag 0: no
 *   compression). The answer is read frame by frame (a message and its 5-byte prefix may be split anywhere);
 *   a compressed message, or one over `maxReceiveBytes` (seen from its prefix), fails the call and cancels the
 *   stream. The status comes from the trailers, or from the headers of a trailers-only answer; `grpc-message`
 *   is percent-decoded. An HTTP status other than 200 or a content-type other than application/grpc fails the
 *   call naming it.
 * - Deadline: `grpc-timeout` tells the server, and a local timer of the same length fails the call and cancels
 *   its stream (RST_STREAM CANCEL), so the server drops the request. An AbortSignal does the same.
 * - Keep-alive: while calls are open, a PING every `keepAliveMs`; one unanswered as long destroys the session, so
 *   the calls on a connection gone silent fail then rather than at their deadlines.
 *
 * Server errors come back as the engine's errors, as KServeClient's do over HTTP: NOT_FOUND (or Triton's
 * "Request for unknown model") → ModelNotFoundError, INVALID_ARGUMENT → InferenceInputError with the server's
 * message, RESOURCE_EXHAUSTED (or Triton's UNAVAILABLE "Exceeds maximum queue size") → QueueFullError, anything
 * else → an Error naming the address, the status and the message. A server that cannot be reached gives an Error
 * naming the address.
 */
import {
  connect,
  constants as h2,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { connect as netConnect } from 'node:net';
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
  /**
   * While calls are open, an HTTP/2 PING every this many milliseconds; one not answered within as long closes
   * the connection, and its calls fail, rather than each waiting for its deadline (default 30 000; 0: none).
   */
  readonly keepAliveMs?: number;
}

/** The scheme of a gRPC inference URL. */
export const GRPC_SCHEME = 'grpc:';

/** gRPC's status codes by number (grpc/doc/statuscodes.md). */
export const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

const OK = 0;
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;

/** A call the server answered with a status other than OK: the cause of the engine error it becomes. */
export class GrpcStatusError extends Error {
  constructor(
    readonly rpc: RpcName,
    /** The `grpc-status` code. */
    readonly status: number,
    /** The `grpc-message`, percent-decoded. */
    readonly details: string,
    /** The trailers (or the headers of a trailers-only answer). */
    readonly trailers: IncomingHttpHeaders,
  ) {
    super(`${rpc} answered ${statusName(status)}: ${details}`);
    this.name = 'GrpcStatusError';
  }
}

function statusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? `status ${code}`;
}

/** The default of `maxReceiveBytes`. */
const DEFAULT_MAX_RECEIVE_BYTES = 1 << 30;

/** Flow-control windows: big enough that a tensor of a few MiB needs no WINDOW_UPDATE round trips. */
const STREAM_WINDOW_BYTES = 4 << 20;
const SESSION_WINDOW_BYTES = 32 << 20;

/** Below this size, the prefix and the message are copied into one buffer and written once. */
const COALESCE_BYTES = 64 * 1024;

/** The header names a caller may not set (HTTP/2 pseudo-headers, the ones gRPC's mapping owns). */
const RESERVED_HEADERS = new Set(['content-type', 'te', 'user-agent', 'host', 'connection', 'grpc-timeout']);

/** One HTTP/2 session and what the client knows of it. */
interface Connection {
  readonly session: ClientHttp2Session;
  /** Calls open on it (it is ref'd while there are any). */
  open: number;
  /** Whether the connection was ever established. */
  connected: boolean;
  /** The session's own failure (connection refused, reset, protocol error), if any. */
  error: Error | null;
}

/** What a call's stream ended with, before it becomes a result or an engine error. */
type Outcome =
  | { readonly kind: 'answer'; readonly message: Buffer; readonly trailers: IncomingHttpHeaders }
  | { readonly kind: 'status'; readonly error: GrpcStatusError }
  | { readonly kind: 'failed'; readonly error: Error }
  /** The server refused the stream before any work (REFUSED_STREAM, or a session closing): send it again. */
  | { readonly kind: 'refused'; readonly error: Error };

export class KServeGrpcClient implements InferenceEngine {
  /** The server's address, `grpc://host:port`. */
  readonly url: string;
  private readonly authority: string;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly grpcTimeout: string;
  private readonly maxReceiveBytes: number;
  private readonly keepAliveMs: number;
  private readonly metadata: OutgoingHttpHeaders;
  private connection: Connection | null = null;
  private closed = false;

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
    this.authority = `http://${parsed.host}`;
    this.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(parsed.port);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    if (!(this.timeoutMs > 0)) {
      throw new Error(`KServe gRPC client: timeoutMs must be positive (got ${this.timeoutMs})`);
    }
    this.grpcTimeout = grpcTimeoutHeader(this.timeoutMs);
    this.maxReceiveBytes = options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES;
    this.keepAliveMs = options.keepAliveMs ?? 30_000;
    this.metadata = {};
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      const key = k.toLowerCase();
      if (!/^[0-9a-z_.-]+$/.test(key) || key.startsWith('grpc-') || RESERVED_HEADERS.has(key)) {
        throw new Error(
          `KServe gRPC client: header '${k}' cannot be sent as metadata (names are letters, digits, ` +
            "'-', '_' and '.', and not grpc-*, content-type, te, user-agent, host or connection)",
        );
      }
      if (key.endsWith('-bin')) {
        throw new Error(`KServe gRPC client: header '${k}' is binary metadata (-bin), which takes no text`);
      }
      if (!/^[\x20-\x7e]*$/.test(v)) {
        throw new Error(`KServe gRPC client: the value of header '${k}' must be printable ASCII`);
      }
      this.metadata[key] = v;
    }
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
    let trailers: IncomingHttpHeaders = {};
    const answer = await this.call<ModelInferResponseMessage>(
      'ModelInfer',
      encodeInferRequest(model, request, version),
      { model, version },
      request.signal,
      (t) => {
        trailers = t;
      },
    );
    try {
      const result = decodeInferResponse(answer);
      const timing = trailers['server-timing'];
      return {
        ...result,
        modelName: result.modelName === '' ? model : result.modelName,
        ...(timing !== undefined && timing.length > 0 && { serverTiming: parseServerTiming(timing) }),
      };
    } catch (err) {
      throw new Error(
        `${this.url} sent a malformed inference response for model '${model}': ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Closes the session: no new call is accepted, the calls still open finish (or meet their deadline), and the
   * promise resolves once the connection is closed. Never rejects.
   */
  close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = null;
    if (connection === null || connection.session.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      connection.session.close(() => {
        resolve();
      });
    });
  }

  /** One unary call; its failure as the engine's error. */
  private async call<Res>(
    rpc: RpcName,
    request: object,
    about?: { model: string; version: string | undefined },
    signal?: AbortSignal,
    onTrailers?: (trailers: IncomingHttpHeaders) => void,
  ): Promise<Res> {
    if (signal?.aborted === true) throw signal.reason as Error;
    if (this.closed) throw new Error(`${this.url}: ${rpc} called on a closed KServe gRPC client`);
    const definition = inferenceService()[rpc];
    const message = definition.requestSerialize(request);
    const deadline = Date.now() + this.timeoutMs;
    let outcome = await this.send(rpc, message, deadline, signal);
    if (outcome.kind === 'refused') outcome = await this.send(rpc, message, deadline, signal);
    switch (outcome.kind) {
      case 'answer':
        onTrailers?.(outcome.trailers);
        try {
          return definition.responseDeserialize(outcome.message) as Res;
        } catch (err) {
          throw new Error(`${this.url}: ${rpc} answer is not a valid message: ${(err as Error).message}`, {
            cause: err,
          });
        }
      case 'status':
        throw this.failure(rpc, outcome.error, about);
      case 'failed':
      case 'refused':
        throw outcome.error;
    }
  }

  /** The open session, or a new one. */
  private connect(): Connection {
    const current = this.connection;
    if (current !== null && !current.session.closed && !current.session.destroyed) return current;
    const session = connect(this.authority, {
      // Small frames go out at once (no Nagle delay), as grpc-js sets its sockets.
      createConnection: () => netConnect({ host: this.host, port: this.port, noDelay: true }),
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
      // Node caps a session's memory (10 MB by default) and, past it, resets every stream whose answer
      // arrives with ENHANCE_YOUR_CALM: a few MiB-sized requests waiting for the server's window are enough.
      // The memory is bounded by the requests in flight and maxReceiveBytes already (as grpc-js does).
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
    });
    const connection: Connection = { session, open: 0, connected: false, error: null };
    session.on('connect', () => {
      connection.connected = true;
      try {
        session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      } catch {
        // The session closed meanwhile; its calls fail on their own.
      }
    });
    session.on('error', (err: Error) => {
      connection.error = err;
    });
    const forget = (): void => {
      if (this.connection === connection) this.connection = null;
    };
    // No new call goes to a session the server is closing; the calls already on it finish there.
    session.on('goaway', forget);
    session.on('close', forget);
    if (this.keepAliveMs > 0) {
      const keepAlive = setInterval(() => {
        this.ping(connection);
      }, this.keepAliveMs);
      keepAlive.unref();
      session.on('close', () => {
        clearInterval(keepAlive);
      });
    }
    session.unref();
    this.connection = connection;
    return connection;
  }

  /** A keep-alive PING, when calls are open; not answered in time, the session is destroyed. */
  private ping(connection: Connection): void {
    const { session } = connection;
    if (connection.open === 0 || !connection.connected || session.destroyed) return;
    const timer = setTimeout(() => {
      session.destroy(new Error(`no answer to a keep-alive ping within ${this.keepAliveMs} ms`));
    }, this.keepAliveMs);
    timer.unref();
    const sent = session.ping(() => {
      clearTimeout(timer);
    });
    if (!sent) clearTimeout(timer);
  }

  /** Sends one call and waits for what its stream ends with. Never rejects. */
  private send(rpc: RpcName, message: Buffer, deadline: number, signal?: AbortSignal): Promise<Outcome> {
    let connection: Connection;
    let stream: ClientHttp2Stream;
    try {
      connection = this.connect();
      stream = connection.session.request(
        {
          [h2.HTTP2_HEADER_METHOD]: 'POST',
          [h2.HTTP2_HEADER_PATH]: `/${SERVICE_NAME}/${rpc}`,
          [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
          [h2.HTTP2_HEADER_TE]: 'trailers',
          'grpc-timeout': this.grpcTimeout,
          ...this.metadata,
        },
        { endStream: false },
      );
    } catch (err) {
      // The session is closing (GOAWAY) or gone: the call never left, so it can go on a new session.
      this.connection = null;
      return Promise.resolve({ kind: 'refused', error: this.lost(rpc, null, err as Error) });
    }
    const frame = Buffer.allocUnsafe(5);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(message.length, 1);
    if (message.length < COALESCE_BYTES) {
      stream.end(Buffer.concat([frame, message]));
    } else {
      stream.write(frame);
      stream.end(message);
    }
    if (connection.open++ === 0) connection.session.ref();

    return new Promise<Outcome>((resolve) => {
      const reader = new MessageReader(this.maxReceiveBytes);
      let headers: IncomingHttpHeaders | null = null;
      let trailers: IncomingHttpHeaders | null = null;
      let settled = false;
      const settle = (outcome: Outcome, cancel: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (--connection.open === 0 && !connection.session.destroyed) connection.session.unref();
        if (cancel && !stream.closed) stream.close(h2.NGHTTP2_CANCEL);
        resolve(outcome);
      };
      const fail = (error: Error): void => {
        settle({ kind: 'failed', error }, true);
      };
      const onAbort = (): void => {
        fail(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(
        () => {
          fail(new Error(`${this.url}: no answer to ${rpc} within ${this.timeoutMs} ms (DEADLINE_EXCEEDED)`));
        },
        Math.max(0, deadline - Date.now()),
      );

      stream.on('response', (h: IncomingHttpHeaders) => {
        headers = h;
        const httpStatus = Number(h[h2.HTTP2_HEADER_STATUS]);
        const contentType = firstValue(h[h2.HTTP2_HEADER_CONTENT_TYPE]);
        if (httpStatus !== 200) {
          fail(
            new Error(
              `${this.url}: ${rpc} answered HTTP ${String(httpStatus)}` +
                `${contentType === undefined ? '' : ` (${contentType})`}, not a gRPC answer`,
            ),
          );
        } else if (contentType === undefined || !/^application\/grpc(\+|;|$)/.test(contentType)) {
          fail(
            new Error(
              `${this.url}: ${rpc} answered content-type ${contentType === undefined ? '(none)' : `'${contentType}'`}, ` +
                'not application/grpc',
            ),
          );
        }
      });
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        const problem = reader.push(chunk);
        if (problem !== null) fail(new Error(`${this.url}: ${rpc} answer refused: ${problem}`));
      });
      stream.on('trailers', (t: IncomingHttpHeaders) => {
        trailers = t;
      });
      let streamError: Error | null = null;
      stream.on('error', (err: Error) => {
        streamError = err;
      });
      stream.on('close', () => {
        if (settled) return;
        const ending = trailers ?? (headers?.['grpc-status'] !== undefined ? headers : null);
        if (ending === null) {
          if (headers === null && stream.rstCode === h2.NGHTTP2_REFUSED_STREAM) {
            settle({ kind: 'refused', error: this.lost(rpc, connection, streamError) }, false);
          } else {
            settle({ kind: 'failed', error: this.lost(rpc, connection, streamError, stream.rstCode) }, false);
          }
          return;
        }
        const code = Number(ending['grpc-status']);
        if (!Number.isInteger(code) || code < 0) {
          fail(
            new Error(
              `${this.url}: ${rpc} answer has no valid grpc-status (${String(ending['grpc-status'])})`,
            ),
          );
          return;
        }
        if (code !== OK) {
          const details = percentDecode(String(ending['grpc-message'] ?? ''));
          settle({ kind: 'status', error: new GrpcStatusError(rpc, code, details, ending) }, false);
          return;
        }
        const messages = reader.messages;
        const [only] = messages;
        if (reader.pending || only === undefined || messages.length !== 1) {
          fail(
            new Error(
              `${this.url}: ${rpc} answered OK with ${reader.pending ? 'a truncated message' : `${messages.length} messages`}, not one`,
            ),
          );
          return;
        }
        settle({ kind: 'answer', message: only, trailers: ending }, false);
      });
    });
  }

  /** The error of a call whose stream ended without a status: the connection failed or was reset. */
  private lost(rpc: RpcName, connection: Connection | null, err: Error | null, rstCode?: number): Error {
    if (connection !== null && !connection.connected) {
      const cause = connection.error ?? err;
      return new Error(
        `cannot reach the KServe gRPC server at ${this.url} (${rpc}): ${cause?.message ?? 'the connection closed'}`,
        { cause },
      );
    }
    const cause = err ?? connection?.error ?? null;
    const why =
      cause !== null
        ? cause.message
        : rstCode !== undefined && rstCode !== h2.NGHTTP2_NO_ERROR
          ? `the stream was reset (HTTP/2 error ${rstCode})`
          : 'the connection closed';
    return new Error(`${this.url}: ${rpc} got no answer: ${why}`, { cause });
  }

  /** The engine error of a call the server answered with a status other than OK. */
  private failure(
    rpc: RpcName,
    err: GrpcStatusError,
    about: { model: string; version: string | undefined } | undefined,
  ): Error {
    const message = err.details;
    const code = err.status;
    if (about !== undefined && (code === NOT_FOUND || /^Request for unknown model\b/.test(message))) {
      return new ModelNotFoundError(about.model, about.version);
    }
    if (code === INVALID_ARGUMENT) return new InferenceInputError(message);
    if (code === RESOURCE_EXHAUSTED && /larger than/i.test(message)) {
      // A message over the server's size limit: retrying will not help.
      return new Error(`${this.url}: ${rpc} refused: ${message}`, { cause: err });
    }
    if (code === RESOURCE_EXHAUSTED || (code === UNAVAILABLE && /maximum queue size/i.test(message))) {
      const queued = /\((\d+) sequences waiting\)/.exec(message)?.[1];
      const retryAfter = Number(firstValue(err.trailers['retry-after']) ?? 1);
      return new QueueFullError(
        (Number.isFinite(retryAfter) ? retryAfter : 1) * 1000,
        queued === undefined ? 0 : Number(queued),
      );
    }
    if (code === DEADLINE_EXCEEDED) {
      return new Error(`${this.url}: no answer to ${rpc} within ${this.timeoutMs} ms (DEADLINE_EXCEEDED)`, {
        cause: err,
      });
    }
    return new Error(`${this.url}: ${rpc} answered ${statusName(code)}: ${message}`, { cause: err });
  }
}

/**
 * Reads gRPC's length-prefixed messages from DATA chunks split anywhere (the 5-byte prefix too). A message is
 * refused from its prefix when it is compressed (none was asked for) or larger than the limit.
 */
export class MessageReader {
  /** The messages read whole, in order. */
  readonly messages: Buffer[] = [];
  private readonly prefix = Buffer.alloc(5);
  private prefixFill = 0;
  /** Bytes still missing of the message being read; -1 between messages. */
  private missing = -1;
  private parts: Buffer[] = [];

  constructor(private readonly limitBytes: number) {}

  /** Whether a message (or its prefix) was started and not finished. */
  get pending(): boolean {
    return this.prefixFill > 0 || this.missing >= 0;
  }

  /** Takes a chunk; a problem (and nothing more is read) or null. */
  push(chunk: Buffer): string | null {
    let at = 0;
    while (at < chunk.length) {
      if (this.missing < 0) {
        const n = Math.min(5 - this.prefixFill, chunk.length - at);
        chunk.copy(this.prefix, this.prefixFill, at, at + n);
        this.prefixFill += n;
        at += n;
        if (this.prefixFill < 5) break;
        this.prefixFill = 0;
        const flag = this.prefix.readUInt8(0);
        const length = this.prefix.readUInt32BE(1);
        if (flag === 1) return 'the message is compressed, and no compression was asked for';
        if (flag !== 0) return `the message's flag byte is ${flag} (0 or 1 expected)`;
        if (length > this.limitBytes) {
          return `the message is ${length} bytes, over the limit of ${this.limitBytes} (maxReceiveBytes)`;
        }
        this.missing = length;
      }
      const n = Math.min(this.missing, chunk.length - at);
      if (n > 0) this.parts.push(chunk.subarray(at, at + n));
      at += n;
      this.missing -= n;
      if (this.missing === 0) {
        const [part] = this.parts;
        this.messages.push(this.parts.length === 1 && part !== undefined ? part : Buffer.concat(this.parts));
        this.parts = [];
        this.missing = -1;
      }
    }
    return null;
  }
}

/** gRPC's `grpc-timeout` value: at most 8 digits and a unit. */
export function grpcTimeoutHeader(ms: number): string {
  const millis = Math.ceil(ms);
  if (millis < 1e8) return `${millis}m`;
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 1e8) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(ms / 3_600_000))}H`;
}

/** `grpc-message`'s percent-encoding undone (as UTF-8); a stray `%` is kept as it is. */
export function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: Buffer[] = [];
  let from = 0;
  for (const m of text.matchAll(/%([0-9a-fA-F]{2})/g)) {
    bytes.push(Buffer.from(text.slice(from, m.index), 'utf8'), Buffer.from([parseInt(m[1] ?? '', 16)]));
    from = m.index + m[0].length;
  }
  bytes.push(Buffer.from(text.slice(from), 'utf8'));
  return Buffer.concat(bytes).toString('utf8');
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
