/**
 * What every pitlane service shares about oversized requests: one description of each request limit (what it
 * bounds, its flag, its value) so that a refusal names the limit and the flag that raises it, `--help` and the README's limits table say the same, and memory
 * stays bounded by the configured limits whatever a client sends (TEI's max_client_batch_size and
 * max_batch_tokens, Triton's and fastify's body limits). A request over a limit is refused before anything
 * proportional to it is allocated.
 */
import type { IncomingMessage } from 'node:http';
import { HttpProblem } from './problem.js';

/** The unit a limit counts in; it decides how values are printed. */
export type LimitUnit = 'bytes' | 'items' | 'tokens' | 'files' | 'pixels' | 'characters' | 'requests';

/** One request limit of a service, as documented and as enforced. */
export interface RequestLimit {
  /** Short name for messages and tables, e.g. "request body", "inputs per request". */
  readonly name: string;
  /** The command-line flag that sets it, e.g. "--max-body-mb". */
  readonly flag: string;
  /** The limit, in `unit`s (bytes for sizes, whatever the flag's own unit is). */
  readonly value: number;
  readonly unit: LimitUnit;
  /** HTTP status of a refusal: 413 for sizes, 422 (TEI) or 400 (OpenAI) for counts, as the API does. */
  readonly status: number;
}

/** Formats a count of `unit`s for a person: MiB for bytes of a MiB or more, thousands separators otherwise. */
export function formatLimitValue(value: number, unit: LimitUnit): string {
  if (unit === 'bytes') {
    if (value >= 1 << 20) return `${trim(value / (1 << 20))} MiB`;
    if (value >= 1 << 10) return `${trim(value / (1 << 10))} KiB`;
    return `${value} bytes`;
  }
  return `${value.toLocaleString('en-US')} ${unit}`;
}

function trim(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/**
 * The refusal of a request over `limit`: "`what` is 3,000,000 inputs; the limit is 512 inputs (--max-client-batch-size)".
 * `got` is omitted when it is unknown (a body cut off at the limit).
 */
export function overLimit(
  limit: RequestLimit,
  what: string,
  got?: number,
  param: string | null = null,
): HttpProblem {
  const amount =
    got === undefined ? `over the limit of` : `${formatLimitValue(got, limit.unit)}; the limit is`;
  return new HttpProblem(
    limit.status,
    `${what} is ${amount} ${formatLimitValue(limit.value, limit.unit)} (${limit.flag})`,
    param,
  );
}

/** Throws the refusal when `got` exceeds the limit. */
export function enforceLimit(
  limit: RequestLimit,
  what: string,
  got: number,
  param: string | null = null,
): void {
  if (got > limit.value) throw overLimit(limit, what, got, param);
}

/** The limits of a service as a Markdown table (for docs and `--help` text generation). */
export function limitsTable(limits: readonly RequestLimit[]): string {
  const rows = limits.map(
    (l) => `| ${l.name} | ${formatLimitValue(l.value, l.unit)} | \`${l.flag}\` | ${l.status} |`,
  );
  return ['| limit | default | flag | refused with |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/**
 * An upper bound of the values a JSON text holds (every comma, `[` and `{` outside strings, plus one), counted
 * in one pass without building anything. JSON.parse of a body of tiny values costs far more than the body (a
 * 16 MiB body of `{}`s becomes 500 MB of objects), so a service that takes at most a few hundred values refuses
 * a body over its count before parsing it. Malformed JSON is counted as far as it goes; the parser reports it.
 */
export function countJsonValues(text: string): number {
  let count = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x2c /* , */ || c === 0x5b /* [ */ || c === 0x7b /* { */) count++;
  }
  return count;
}

/**
 * A budget of what is in flight at once (requests, or request bytes), shared by every request of a service:
 * `tryTake` before the work, `give` back after the answer. A request that does not fit is refused at once with
 * 429 + Retry-After (TEI's Overloaded, Triton's rate limiter) rather than held, so memory stays bounded by the
 * limit × what one unit costs, whatever the number of clients.
 */
export class InFlightBudget {
  private used = 0;

  constructor(readonly limit: RequestLimit) {}

  /** What is taken now. */
  get inFlight(): number {
    return this.used;
  }

  /** Takes `amount` when it fits; false (nothing taken) when it would go over the limit. */
  tryTake(amount: number): boolean {
    if (this.used + amount > this.limit.value) return false;
    this.used += amount;
    return true;
  }

  give(amount: number): void {
    this.used = Math.max(0, this.used - amount);
  }

  /** The refusal of a request that did not fit: 429 with Retry-After, naming the limit and its flag. */
  refusal(retryAfterS = 1): HttpProblem {
    const { limit } = this;
    return new HttpProblem(
      429,
      `overloaded: ${formatLimitValue(this.used, limit.unit)} in flight; the limit is ` +
        `${formatLimitValue(limit.value, limit.unit)} (${limit.flag}); retry in ${retryAfterS} s`,
      null,
      { 'retry-after': String(retryAfterS) },
    );
  }
}

/** Lingering after a refusal (nginx's lingering_time): the most bytes and the longest time spent discarding. */
const LINGER_BYTES = 64 * 1024 * 1024;
const LINGER_MS = 10_000;

/**
 * Before a refusal of a request whose body has not been read to the end (over a size or in-flight limit): reads
 * and discards the rest of the body (up to 64 MiB, for up to 10 s; nothing is kept), then resolves, so that the
 * refusal goes out on a connection the client has finished writing to. Answering at once would close a connection
 * the client is still writing to, and most clients then report a broken pipe instead of the answer. A body that
 * is still coming after the linger is cut off (the connection is dropped) and it resolves then.
 */
export function discardRest(raw: IncomingMessage): Promise<void> {
  raw.unpipe();
  if (raw.complete || raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const drop = (): void => {
      finish();
      raw.socket.destroy();
    };
    const timer = setTimeout(drop, LINGER_MS);
    timer.unref();
    raw.on('data', (chunk: Buffer) => {
      discarded += chunk.byteLength;
      if (discarded > LINGER_BYTES) drop();
    });
    raw.once('end', finish);
    raw.once('close', finish);
    raw.resume();
  });
}
