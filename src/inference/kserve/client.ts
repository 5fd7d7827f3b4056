/**
 * KServeClient: an InferenceEngine over HTTP, for any server of the KServe v2 / Open Inference Protocol:
 * pitlane's own model server or a real Triton. It keeps a pool of keep-alive connections (undici) and, by
 * default, sends tensors and asks for outputs as binary data (Triton's binary tensor data extension), which
 * costs no JSON encoding of numbers either way. Nothing pitlane-specific is sent or required.
 *
 * Server errors come back as the engine's errors: 404 (or Triton's 400 "Request for unknown model") →
 * ModelNotFoundError, 400 → InferenceInputError with the server's message, 429 (or Triton's 503 "Exceeds
 * maximum queue size") → QueueFullError with the Retry-After delay, anything else → an Error naming the URL,
 * the status and the server's message. An unreachable server gives an Error naming the URL. Each result carries
 * the durations of the answer's `Server-Timing` header (`serverTiming`), when the server sent one.
 */
import { InferenceInputError, ModelNotFoundError, QueueFullError } from '../../core/errors.js';
import { Pool } from 'undici';
import { BodyAssembler, INFERENCE_HEADER, decodeInferResponse, encodeInferRequest } from './codec.js';
import { parseServerTiming } from './server-timing.js';
import {
  isTensorDataType,
  type InferenceEngine,
  type InferenceRequest,
  type InferenceResult,
  type ModelMetadata,
  type TensorMetadata,
} from '../tensor/tensor.js';

export interface KServeClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8000` (a path prefix is kept: `http://gw/triton`). */
  readonly url: string;
  /**
   * Send inputs and ask for outputs as binary data (default true); false: JSON (FP16 inputs still go binary).
   */
  readonly binary?: boolean;
  /** Longest wait for a whole answer, per call, in milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** Most connections kept open to the server (default 16). */
  readonly connections?: number;
  /** Extra headers sent with every request (e.g. authorization for a gateway). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What `GET /v2` says about the server. */
export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Uint8Array;
}

export class KServeClient implements InferenceEngine {
  /** The server's base URL, without a trailing slash. */
  readonly url: string;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly binary: boolean;
  private readonly timeoutMs: number;
  private readonly extraHeaders: Readonly<Record<string, string>>;

  constructor(options: KServeClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new Error(
        `KServe server URL '${options.url}' is not a URL (expected e.g. http://127.0.0.1:8000)`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`KServe server URL '${options.url}' must be http:// or https://`);
    }
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.url = `${parsed.origin}${this.basePath}`;
    this.binary = options.binary ?? true;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.extraHeaders = options.headers ?? {};
    this.pool = new Pool(parsed.origin, { connections: options.connections ?? 16 });
  }

  /** `GET /v2`: the server's name, version and extensions. */
  async serverMetadata(signal?: AbortSignal): Promise<ServerMetadata> {
    const answer = await this.send('GET', '/v2', { signal });
    if (answer.status !== 200) throw this.failure('GET', '/v2', answer);
    const json = this.json(answer, 'GET /v2');
    return {
      name: typeof json.name === 'string' ? json.name : '',
      version: typeof json.version === 'string' ? json.version : '',
      extensions: Array.isArray(json.extensions)
        ? (json.extensions as unknown[]).filter((e): e is string => typeof e === 'string')
        : [],
    };
  }

  /** `GET /v2/health/live`. Rejects only when the server cannot be reached. */
  async live(signal?: AbortSignal): Promise<boolean> {
    return (await this.send('GET', '/v2/health/live', { signal })).status === 200;
  }

  /**
   * `GET /v2/health/ready`: any answer but 200 is "not ready". Rejects only when the server cannot be
   * reached.
   */
  async ready(): Promise<boolean> {
    return (await this.send('GET', '/v2/health/ready', {})).status === 200;
  }

  /** `GET /v2/models/{m}[/versions/{v}]/ready`: false for an unknown model too (as the protocol answers). */
  async modelReady(model: string, version?: string): Promise<boolean> {
    return (await this.send('GET', `${modelPath(model, version)}/ready`, {})).status === 200;
  }

  async modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    const path = modelPath(model, version);
    const answer = await this.send('GET', path, {});
    if (answer.status !== 200) throw this.failure('GET', path, answer, model, version);
    return this.metadataOf(this.json(answer, `GET ${path}`), model);
  }

  async infer(model: string, request: InferenceRequest, version?: string): Promise<InferenceResult> {
    const path = `${modelPath(model, version)}/infer`;
    const encoded = encodeInferRequest(request, { binaryInputs: this.binary, binaryOutputs: this.binary });
    const headers: Record<string, string> = { 'content-type': encoded.contentType };
    if (encoded.headerLength !== undefined) headers[INFERENCE_HEADER] = String(encoded.headerLength);
    const answer = await this.send('POST', path, { body: encoded.body, headers, signal: request.signal });
    if (answer.status !== 200) throw this.failure('POST', path, answer, model, version);
    const headerLength = headerNumber(answer.headers[INFERENCE_HEADER]);
    const timingHeader = answer.headers['server-timing'];
    try {
      const result = decodeInferResponse(answer.body, headerLength, {
        modelName: model,
        modelVersion: version ?? '',
      });
      return timingHeader === undefined
        ? result
        : { ...result, serverTiming: parseServerTiming(timingHeader) };
    } catch (err) {
      throw new Error(
        `${this.url} sent a malformed inference response for model '${model}': ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** Closes the connections (waiting for requests in flight). Never rejects. */
  async close(): Promise<void> {
    try {
      await this.pool.close();
    } catch {
      // Already closed or destroyed: nothing left to release.
    }
  }

  /** One HTTP exchange; the whole body is read. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: Buffer; headers?: Record<string, string>; signal?: AbortSignal | undefined },
  ): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    try {
      const res = await this.pool.request({
        method,
        path: `${this.basePath}${path}`,
        headers: { ...this.extraHeaders, ...options.headers },
        ...(options.body !== undefined && { body: options.body }),
        signal,
      });
      const assembler = new BodyAssembler(
        headerNumber(res.headers['content-length']),
        headerNumber(res.headers[INFERENCE_HEADER]),
        Number.MAX_SAFE_INTEGER,
      );
      for await (const chunk of res.body) assembler.push(chunk as Buffer);
      return { status: res.statusCode, headers: res.headers, body: assembler.finish() };
    } catch (err) {
      if (options.signal?.aborted === true) throw options.signal.reason;
      if (timeout.aborted) {
        throw new Error(`${this.url}: no answer to ${method} ${path} within ${this.timeoutMs} ms`, {
          cause: err,
        });
      }
      if (err instanceof InferenceInputError) {
        throw new Error(`${this.url} sent a malformed answer to ${method} ${path}: ${err.message}`, {
          cause: err,
        });
      }
      throw new Error(`cannot reach the KServe server at ${this.url} (${method} ${path}): ${describe(err)}`, {
        cause: err,
      });
    }
  }

  /** The engine error of a failed answer. */
  private failure(method: string, path: string, answer: Answer, model?: string, version?: string): Error {
    const message = errorMessage(answer.body);
    const unknownModel = /^Request for unknown model\b/.test(message);
    if (model !== undefined && (answer.status === 404 || (answer.status === 400 && unknownModel))) {
      return new ModelNotFoundError(model, version);
    }
    if (answer.status === 400) return new InferenceInputError(message);
    if (answer.status === 429 || (answer.status === 503 && /maximum queue size/i.test(message))) {
      const queued = /\((\d+) sequences waiting\)/.exec(message)?.[1];
      return new QueueFullError(
        retryAfterMs(answer.headers['retry-after']),
        queued === undefined ? 0 : Number(queued),
      );
    }
    return new Error(`${this.url}: ${method} ${path} answered ${answer.status}: ${message}`);
  }

  private json(answer: Answer, what: string): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(answer.body).toString('utf8'));
    } catch (err) {
      throw new Error(`${this.url}: the answer to ${what} is not JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`${this.url}: the answer to ${what} is not a JSON object`);
    }
    return value as Record<string, unknown>;
  }

  private metadataOf(json: Record<string, unknown>, model: string): ModelMetadata {
    const tensors = (field: 'inputs' | 'outputs'): TensorMetadata[] => {
      const list = json[field];
      if (!Array.isArray(list)) {
        throw new Error(`${this.url}: the metadata of model '${model}' has no ${field} array`);
      }
      return (list as unknown[]).map((raw, i) => {
        const t = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        const { name, datatype, shape } = t;
        if (typeof name !== 'string' || !Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) {
          throw new Error(`${this.url}: the metadata of model '${model}' has a malformed ${field}[${i}]`);
        }
        if (!isTensorDataType(datatype)) {
          throw new Error(
            `${this.url}: ${field.slice(0, -1)} '${name}' of model '${model}' ` +
              `has datatype ${String(datatype)}, which pitlane does not support`,
          );
        }
        return { name, datatype, shape };
      });
    };
    const versions = Array.isArray(json.versions)
      ? (json.versions as unknown[]).filter((v): v is string => typeof v === 'string')
      : [];
    return {
      name: typeof json.name === 'string' ? json.name : model,
      versions,
      platform: typeof json.platform === 'string' ? json.platform : '',
      inputs: tensors('inputs'),
      outputs: tensors('outputs'),
    };
  }
}

function modelPath(model: string, version: string | undefined): string {
  const m = `/v2/models/${encodeURIComponent(model)}`;
  return version === undefined ? m : `${m}/versions/${encodeURIComponent(version)}`;
}

function headerNumber(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

/** Retry-After in milliseconds (seconds or an HTTP date; 1 s when absent). */
function retryAfterMs(value: string | string[] | undefined): number {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return 1000;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - Date.now());
}

/** The `error` of a KServe error body, or the start of the body. */
function errorMessage(body: Uint8Array): string {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  try {
    const json = JSON.parse(text) as unknown;
    if (
      typeof json === 'object' &&
      json !== null &&
      typeof (json as { error?: unknown }).error === 'string'
    ) {
      return (json as { error: string }).error;
    }
  } catch {
    // Not JSON: show the text.
  }
  const trimmed = text.trim();
  if (trimmed === '') return '(no message)';
  return trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: unknown }).code;
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${typeof code === 'string' ? `${code} ` : ''}${err.message}${cause}`;
}
