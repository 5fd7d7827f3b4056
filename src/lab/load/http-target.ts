/**
 * HttpTarget: one contestant's HTTP endpoint as the load engine sees it: an undici Pool with keep-alive and a
 * fixed number of connections, and one request function that always consumes the body (so connections are
 * reused) and classifies failures: connect, timeout, status, body.
 */
import { performance } from 'node:perf_hooks';
import { Pool, errors, type Dispatcher } from 'undici';

/** One request as a workload defines it. */
export interface HttpRequestSpec {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Serialised body, or null for none. */
  readonly body: string | null;
}

/** How a request ended. */
export type RequestOutcome =
  | { readonly ok: true; readonly status: number; readonly body: string; readonly writtenAtMs: number }
  | {
      readonly ok: false;
      readonly errorClass: ErrorClass;
      readonly status: number | null;
      readonly message: string;
      readonly writtenAtMs: number | null;
    };

/** Epoch milliseconds with sub-millisecond resolution, comparable across threads. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Failure classes (BENCHMARKING.md: errors by class and status). */
export type ErrorClass = 'connect' | 'timeout' | 'status' | 'body';

export class HttpTarget {
  private readonly pool: Pool;

  constructor(
    readonly baseUrl: string,
    options: { readonly connections: number; readonly timeoutMs: number },
  ) {
    this.pool = new Pool(baseUrl, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: Math.min(options.timeoutMs, 10_000),
    });
  }

  /**
   * Sends one request; resolves (never rejects) with its outcome. `expectStatus` decides success. Uses the
   * pool's dispatch() handler API rather than request(): no body stream and no promise chain per request, which
   * is most of the client's cost at tens of thousands of requests per second.
   */
  send(req: HttpRequestSpec, expectStatus: number, keepBody: boolean): Promise<RequestOutcome> {
    return new Promise((resolve) => {
      let status: number | null = null;
      let chunks: Buffer[] | null = null;
      // When the request is written to a connection: a request waiting in the pool for a free connection has
      // not been sent yet (service time starts here; response time starts at the scheduled time).
      let writtenAtMs: number | null = null;
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: () => {
          writtenAtMs = epochNow();
        },
        onResponseStart: (_controller, statusCode) => {
          status = statusCode;
          if (keepBody || statusCode !== expectStatus) chunks = [];
        },
        onResponseData: (_controller, chunk) => {
          chunks?.push(chunk);
        },
        onResponseEnd: () => {
          const body = chunks === null ? '' : Buffer.concat(chunks).toString('utf8');
          if (status !== expectStatus) {
            resolve({
              ok: false,
              errorClass: 'status',
              status,
              message: `status ${String(status)}: ${body.slice(0, 200)}`,
              writtenAtMs,
            });
          } else {
            resolve({ ok: true, status, body, writtenAtMs: writtenAtMs ?? epochNow() });
          }
        },
        onResponseError: (_controller, err) => {
          resolve({
            ok: false,
            errorClass: classify(err, status),
            status,
            message: err.message,
            writtenAtMs,
          });
        },
      };
      this.pool.dispatch(
        { method: req.method, path: req.path, headers: req.headers, body: req.body },
        handler,
      );
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function classify(e: unknown, status: number | null): ErrorClass {
  if (
    e instanceof errors.HeadersTimeoutError ||
    e instanceof errors.BodyTimeoutError ||
    e instanceof errors.ConnectTimeoutError
  ) {
    return 'timeout';
  }
  if (status !== null) return 'body';
  return 'connect';
}
