/**
 * The one error handler of the pitlane services. Every error a route lets through becomes an HttpProblem in
 * the same order of rules (a client gone: 499 and nothing sent; an HttpProblem as thrown; fastify's body and
 * content-type refusals; the status table of status.ts; the service's own mapping of the errors of the layer it
 * fronts; fastify's other 4xx; else a 500), and is sent in the error format of the service's API, which stays
 * the service's own (TEI / OpenAI, KServe, ingest); the problem is noted for the request's log line
 * (request-log.ts). A refusal sent before the body was read to the end first
 * reads and drops the rest, so the client, still sending, gets the answer rather than a broken pipe.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClientGone, HttpProblem } from './problem.js';
import { discardRest } from './request-limits.js';
import { noteRequestError } from './request-log.js';
import { httpStatusOf } from './status.js';

/** An error as fastify hands it to the handler. */
export type RouteError = Error & { code?: string; statusCode?: number };

export interface ErrorHandlerOptions {
  /** Sends a problem (status and headers already set) in the error format of the service's API. */
  readonly send: (reply: FastifyReply, problem: HttpProblem, request: FastifyRequest) => FastifyReply;
  /** The refusal of a body over fastify's body limit. */
  readonly bodyTooLarge: (request: FastifyRequest) => HttpProblem;
  /** The message of a 415 for a Content-Type fastify has no parser for; without it, fastify's own message. */
  readonly invalidMediaType?: string;
  /**
   * Which refusals read and drop the rest of the body first: none, fastify's body-limit refusal, or that and any
   * HttpProblem 413 or 429 a route threw (refused before its body was read).
   */
  readonly drain: 'none' | 'body-too-large' | 'refusals';
  /** The service's own mapping of errors of the layer it fronts (e.g. inference errors); null: not one of them. */
  readonly problemOf?: (error: RouteError) => HttpProblem | null;
  /** fastify's 4xx for a body that is not JSON says so (`the body is not valid JSON: ...`). */
  readonly sayInvalidJson?: boolean;
  /** What a 500's message starts with (default `internal error`). */
  readonly internalPrefix?: (request: FastifyRequest) => string;
}

const BODY_TOO_LARGE = 'FST_ERR_CTP_BODY_TOO_LARGE';
const INVALID_MEDIA_TYPE = 'FST_ERR_CTP_INVALID_MEDIA_TYPE';

/** Installs the shared error handler on a service's app. */
export function setServiceErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions): void {
  app.setErrorHandler(async (error: RouteError, request, reply) => {
    if (error instanceof ClientGone) return reply.code(499).send();
    if (mustDrain(error, options.drain)) await discardRest(request.raw);
    const problem = problemFor(error, request, options);
    noteRequestError(request, problem.status, problem.message, error);
    for (const [name, value] of Object.entries(problem.headers)) void reply.header(name, value);
    void reply.code(problem.status);
    return options.send(reply, problem, request);
  });
}

function mustDrain(error: RouteError, drain: ErrorHandlerOptions['drain']): boolean {
  if (drain === 'none') return false;
  if (error.code === BODY_TOO_LARGE) return true;
  return (
    drain === 'refusals' && error instanceof HttpProblem && (error.status === 413 || error.status === 429)
  );
}

function problemFor(error: RouteError, request: FastifyRequest, options: ErrorHandlerOptions): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error.code === BODY_TOO_LARGE) return options.bodyTooLarge(request);
  if (error.code === INVALID_MEDIA_TYPE && options.invalidMediaType !== undefined) {
    return new HttpProblem(415, options.invalidMediaType);
  }
  const byCode = httpStatusOf(error);
  if (byCode !== null) return new HttpProblem(byCode, error.message);
  const own = options.problemOf?.(error) ?? null;
  if (own !== null) return own;
  const status = error.statusCode ?? 500;
  if (status < 500) {
    const invalidJson =
      options.sayInvalidJson === true &&
      (error instanceof SyntaxError || (error.code ?? '').includes('JSON'));
    return new HttpProblem(
      status,
      invalidJson ? `the body is not valid JSON: ${error.message}` : error.message,
    );
  }
  const prefix = options.internalPrefix?.(request) ?? 'internal error';
  return new HttpProblem(500, `${prefix}: ${error.message}`);
}
