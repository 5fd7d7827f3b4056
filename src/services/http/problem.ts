/**
 * The problem type of every pitlane service: an HTTP status, a message naming the field or the limit, and what
 * the API wants beside it (OpenAI's `param`, Retry-After). Handlers throw it; the shared error handler
 * (error-handler.ts) sends it in the error format of the service's API. Also the marker of a client that went
 * away before its answer (nothing is sent; 499 in the logs).
 */

/** A request problem: HTTP status, a message naming the field or limit, and what the API wants beside it. */
export class HttpProblem extends Error {
  constructor(
    /** HTTP status to answer with. */
    readonly status: number,
    message: string,
    /** The request field the problem is about (OpenAI's `param`), or null. */
    readonly param: string | null = null,
    /** Headers to send with the answer (e.g. Retry-After). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

/** The client went away before the answer: nothing is sent (499 in the logs). */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before the answer');
  }
}
