/**
 * The logs of every pitlane service, through fastify's pino: one line per request (request id, method, route
 * pattern, status, duration, bytes in and out, and the error when there was one), and the service's own lines
 * (start-up, ready, stop) through the same logger, so that a log shipper reads one format.
 *
 * - Lines go to stderr: stdout carries the `--json` ready event that callers parse. JSON lines, or readable
 *   lines (pino-pretty, in this process) when stderr is a TTY or `--log-format pretty` says so.
 * - The request id is the incoming `x-request-id` when it is a sane one (1 to 128 printable characters without
 *   spaces), else a new UUID; it is echoed in the response's `x-request-id` and logged as `reqId`.
 * - Levels: 5xx at error with the error's stack (`err`); 503 (loading, not ready) at warn; other requests at
 *   info, a 4xx with its message (`error`) and no stack; health probes and /metrics at debug, whatever they
 *   answer but a 5xx other than 503.
 * - fastify's own request lines (two per request) are off; its root logger logs at warn and above only, so
 *   `listen` adds no second "listening" line beside the service's own.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { LOG_LEVELS, type LogFormat, type LogLevel } from './log-levels.js';

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log-levels.js';

/** Routes whose requests are logged at debug: health probes and metric scrapes. */
export const PROBE_ROUTES: ReadonlySet<string> = new Set([
  '/health',
  '/metrics',
  '/v2/health/live',
  '/v2/health/ready',
  '/v2/models/:model/ready',
  '/v2/models/:model/versions/:version/ready',
]);

export interface ServiceLoggerOptions {
  /** Least severe level logged (default info). */
  readonly level?: LogLevel;
  /** JSON lines or readable ones; default: readable when the destination is a TTY. */
  readonly format?: LogFormat;
  /** Where lines go (default stderr); tests pass a stream of their own. */
  readonly destination?: DestinationStream & { isTTY?: boolean };
}

/** The fields of a request line that readable lines show in the message instead. */
const SHOWN_IN_MESSAGE = 'pid,hostname,reqId,method,route,url,status,ms,bytes_in,bytes_out';

/** The logger of a service: `name` is the service (embed, models, ingest). */
export function createServiceLogger(name: string, options: ServiceLoggerOptions = {}): Logger {
  const target = options.destination ?? process.stderr;
  const format = options.format ?? (target.isTTY === true ? 'pretty' : 'json');
  const settings: LoggerOptions = {
    name,
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (format === 'pretty') {
    const stream = pretty({
      destination: options.destination ?? 2,
      colorize: target.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: SHOWN_IN_MESSAGE,
      singleLine: true,
      // `error` (a 4xx's message) stays on the request's line; `err` (a 5xx's error) gets its stack below it.
      errorLikeObjectKeys: ['err'],
      messageFormat: (log, key) => {
        const msg = String(log[key]);
        return typeof log.reqId === 'string' ? `${msg} [${log.reqId}]` : msg;
      },
    });
    return pino(settings, stream);
  }
  return pino(settings, options.destination ?? pino.destination({ dest: 2, sync: false, minLength: 0 }));
}

/** A logger that drops everything (the apps' default when they are given none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The start-up lines of a service (`log(line)`), at info through its logger. */
export function lineLog(logger: Logger): (line: string) => void {
  return (line) => {
    logger.info(line);
  };
}

/** The largest `x-request-id` taken as it is; a longer or odd one is replaced by a new id. */
const MAX_REQUEST_ID = 128;
const SANE_ID = /^[\x21-\x7e]+$/;

/** Whether an incoming request id is taken as it is: 1 to 128 printable ASCII characters, no spaces. */
export function isSaneRequestId(id: string): boolean {
  return id.length <= MAX_REQUEST_ID && SANE_ID.test(id);
}

/** The request id: a sane incoming `x-request-id`, else a new UUID. */
export function requestIdOf(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  return typeof given === 'string' && isSaneRequestId(given) ? given : randomUUID();
}

/** fastify's options for a service with this logger: its request ids, no request lines of its own. */
export function loggingOptions(
  logger: Logger | undefined,
): Pick<
  FastifyServerOptions,
  'loggerInstance' | 'logController' | 'genReqId' | 'childLoggerFactory' | 'logger'
> {
  if (logger === undefined) return { logger: false, genReqId: requestIdOf };
  const root = logger.child({}, { level: moreSevere(logger.level, 'warn') });
  return {
    loggerInstance: root,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    // Request lines use the service's level, not the root's (warn).
    childLoggerFactory: (_root, bindings) => logger.child(bindings),
  };
}

/** The level that logs less of the two (silent logs nothing). */
function moreSevere(a: string, b: LogLevel): string {
  if (a === 'silent') return a;
  const i = LOG_LEVELS.indexOf(a as LogLevel);
  return i >= 0 && i <= LOG_LEVELS.indexOf(b) ? a : b;
}

/** The error a request ended with, as noted by the shared error handler. */
const errors = new WeakMap<FastifyRequest, { status: number; message: string; error: unknown }>();

/** Notes the error a request is answered with, for its log line (called by the shared error handler). */
export function noteRequestError(
  request: FastifyRequest,
  status: number,
  message: string,
  error: unknown,
): void {
  errors.set(request, { status, message, error });
}

/** Installs the request line and the `x-request-id` echo on a service's app. */
export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply);
    done();
  });
}

function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const route = request.routeOptions.url;
  const status = reply.statusCode;
  const probe = route !== undefined && PROBE_ROUTES.has(route);
  // 503 is a planned refusal (loading, not ready): a warning, and for a probe what it is there to say.
  const failed = status >= 500 && status !== 503;
  const level = failed ? 'error' : probe ? 'debug' : status === 503 ? 'warn' : 'info';
  // Without a logger (logger: false) request.log is fastify's no-op one.
  const log = request.log as Partial<Logger> & FastifyRequest['log'];
  if (log.isLevelEnabled?.(level) !== true) return;
  const ms = Math.round(reply.elapsedTime * 1000) / 1000;
  const line: Record<string, unknown> = {
    method: request.method,
    route: route ?? null,
    status,
    ms,
  };
  // An unknown route has no pattern: its path (without the query) says what was asked.
  const path = route ?? (request.url.split('?', 1)[0] ?? '').slice(0, 256);
  if (route === undefined) line.url = path;
  const bytesIn = request.headers['content-length'];
  if (bytesIn !== undefined) line.bytes_in = Number(bytesIn);
  const bytesOut = reply.getHeader('content-length');
  if (bytesOut !== undefined) line.bytes_out = Number(bytesOut);
  const noted = errors.get(request);
  if (noted !== undefined) {
    line.error = noted.message;
    if (failed && noted.error instanceof Error) line.err = noted.error;
  }
  log[level](line, `${request.method} ${path} ${status} ${ms} ms`);
}
