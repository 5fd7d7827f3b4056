/**
 * Helpers for the tests of the services' logs: a destination stream that keeps what a logger writes, line by line.
 */
import { Writable } from 'node:stream';

/** What a logger wrote: `texts`, one per line; `json()`, those lines parsed (JSON format). */
export interface CapturedLog {
  readonly destination: Writable;
  readonly texts: string[];
  json(): Record<string, unknown>[];
}

/** A destination for createServiceLogger whose lines the test reads. */
export function captureLog(): CapturedLog {
  const texts: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      texts.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return {
    destination,
    texts,
    json: () => texts.map((t) => JSON.parse(t) as Record<string, unknown>),
  };
}
