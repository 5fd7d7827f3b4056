/**
 * The W3C `Server-Timing` header of the model server's infer answers, both ways: the server writes where a
 * request's time went (`decode`, `queue`, `input`, `infer`, `output`, `encode`, durations in ms; docs/models.md),
 * and the KServe client reads it back into each result.
 */
import type { InferenceTiming } from '../tensor/tensor.js';

/** The durations of a Server-Timing header, in ms by metric name (metrics without a duration are left out). */
export type ServerTiming = Readonly<Record<string, number>>;

/** A Server-Timing header value: each metric with its duration in ms (to the µs), in the order given. */
export function serverTimingOf(durations: ServerTiming): string {
  return Object.entries(durations)
    .map(([name, ms]) => `${name};dur=${ms.toFixed(3)}`)
    .join(', ');
}

/** The header value of an infer answer: decoding, the engine's split when it gives one, encoding. */
export function formatServerTiming(
  decodeMs: number,
  timing: InferenceTiming | undefined,
  encodeMs: number,
): string {
  const engine =
    timing === undefined
      ? {}
      : { queue: timing.queueMs, input: timing.inputMs, infer: timing.inferMs, output: timing.outputMs };
  return serverTimingOf({ decode: decodeMs, ...engine, encode: encodeMs });
}

/**
 * The durations of a Server-Timing header (one value, or several headers joined by commas). Follows the W3C
 * grammar: `metric;dur=1.5;desc="text, with commas"`; a metric named twice keeps its first duration, as the
 * specification says; malformed parts are skipped.
 */
export function parseServerTiming(header: string | readonly string[] | undefined): ServerTiming {
  const out: Record<string, number> = {};
  if (header === undefined) return out;
  const text = typeof header === 'string' ? header : header.join(',');
  for (const metric of splitOutsideQuotes(text, ',')) {
    const [name = '', ...params] = splitOutsideQuotes(metric, ';').map((p) => p.trim());
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || name in out) continue;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'dur') continue;
      const value = Number(
        param
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
      if (Number.isFinite(value)) out[name] = value;
      break;
    }
  }
  return out;
}

/** `text` split at `separator`, except inside double-quoted strings (with backslash escapes). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  // Every infer answer carries one of these, and pitlane's own never quote: split them the quick way.
  if (!text.includes('"')) return text.split(separator);
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quoted && c === '\\') {
      current += c + text.charAt(i + 1);
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === separator && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}
