/**
 * Where an embedding request's time went, in its answer's headers: TEI's (`x-compute-time`, `x-compute-characters`,
 * `x-compute-tokens`, `x-total-time`, `x-tokenization-time`, `x-queue-time`, `x-inference-time`, whole
 * milliseconds as TEI writes them, and `x-compute-type`), and the W3C `Server-Timing` header with the same times to
 * the microsecond (`tokenize`, `queue`, `inference`, `total`), which browsers' developer tools and load generators
 * read. A client that times its requests can so tell the server's part from the network's.
 */
import { serverTimingOf } from '../../inference/kserve/server-timing.js';
import type { RequestTiming } from '../../inference/text/embedding-service.js';

/** What the headers say about one request. */
export interface AnswerTiming {
  /** From the request's arrival to its answer, ms. */
  readonly totalMs: number;
  /** Characters (Unicode code points) of its text inputs; 0 for token ids. */
  readonly characters: number;
  /** Tokens it was embedded with, specials included. */
  readonly tokens: number;
  readonly timing: RequestTiming;
}

/** The headers of an answer: TEI's and Server-Timing. */
export function answerTimingHeaders(a: AnswerTiming): Record<string, string> {
  const whole = (ms: number): string => String(Math.floor(ms));
  const { tokenizationMs, queueMs, inferenceMs } = a.timing;
  return {
    'x-compute-type': 'cpu',
    'x-compute-time': whole(a.totalMs),
    'x-compute-characters': String(a.characters),
    'x-compute-tokens': String(a.tokens),
    'x-total-time': whole(a.totalMs),
    'x-tokenization-time': whole(tokenizationMs),
    'x-queue-time': whole(queueMs),
    'x-inference-time': whole(inferenceMs),
    'server-timing': serverTimingOf({
      tokenize: tokenizationMs,
      queue: queueMs,
      inference: inferenceMs,
      total: a.totalMs,
    }),
  };
}

/** Characters of a request's input as TEI counts them (code points of its texts; token ids count none). */
export function inputCharacters(input: unknown): number {
  if (typeof input === 'string') return codePoints(input);
  if (!Array.isArray(input)) return 0;
  let n = 0;
  for (const item of input) if (typeof item === 'string') n += codePoints(item);
  return n;
}

function codePoints(s: string): number {
  let n = s.length;
  // A surrogate pair is one code point: take one off for each low surrogate that follows a high one.
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}
