/**
 * Correctness between contestants (BENCHMARKING.md rule 10): the same request sent to each contestant must get
 * the same answer as the baseline's, by the suite's rule: exact JSON (or text), JSON with a numeric tolerance,
 * cosine of vectors at a JSON path, or a custom module. A contestant that disagrees is marked incorrect in every
 * table, and its speed is never shown as a win.
 */
import { jsonEqual } from '../core/json.js';
import { parseJsonPath, selectPath, withoutPath, type PathSegment } from './json-path.js';

/** A normalised correctness rule. */
export type CorrectnessRule =
  | { readonly mode: 'none' }
  | { readonly mode: 'exact'; readonly ignore: readonly PathSegment[][] }
  | { readonly mode: 'json_tolerance'; readonly tolerance: number; readonly ignore: readonly PathSegment[][] }
  | { readonly mode: 'cosine'; readonly path: readonly PathSegment[]; readonly minCosine: number }
  | { readonly mode: 'custom'; readonly compare: CustomCompare };

/** A custom comparator module's export: `export function compare(baseline, other)`. */
export type CustomCompare = (
  baseline: string,
  other: string,
) => boolean | { ok: boolean; reason?: string } | Promise<boolean | { ok: boolean; reason?: string }>;

/** The outcome of one comparison. */
export type Agreement = { readonly ok: true } | { readonly ok: false; readonly reason: string };

function parse(text: string): { json: true; value: unknown } | { json: false } {
  try {
    return { json: true, value: JSON.parse(text) as unknown };
  } catch {
    return { json: false };
  }
}

function strip(value: unknown, ignore: readonly PathSegment[][]): unknown {
  return ignore.reduce((v, p) => withoutPath(v, p), value);
}

/** Compares a contestant's response body with the baseline's. */
export async function agree(rule: CorrectnessRule, baseline: string, other: string): Promise<Agreement> {
  switch (rule.mode) {
    case 'none':
      return { ok: true };
    case 'exact': {
      const a = parse(baseline);
      const b = parse(other);
      if (a.json && b.json) {
        return jsonEqual(strip(a.value, rule.ignore), strip(b.value, rule.ignore))
          ? { ok: true }
          : { ok: false, reason: `JSON differs: ${preview(other)} vs baseline ${preview(baseline)}` };
      }
      return baseline === other
        ? { ok: true }
        : { ok: false, reason: `body differs: ${preview(other)} vs baseline ${preview(baseline)}` };
    }
    case 'json_tolerance': {
      const a = parse(baseline);
      const b = parse(other);
      if (!a.json || !b.json) return { ok: false, reason: 'a response is not JSON' };
      const where = firstDifference(
        strip(a.value, rule.ignore),
        strip(b.value, rule.ignore),
        rule.tolerance,
        '$',
      );
      return where === null ? { ok: true } : { ok: false, reason: where };
    }
    case 'cosine': {
      const a = parse(baseline);
      const b = parse(other);
      if (!a.json || !b.json) return { ok: false, reason: 'a response is not JSON' };
      const va = selectPath(a.value, rule.path);
      const vb = selectPath(b.value, rule.path);
      if (va.length === 0 || va.length !== vb.length) {
        return { ok: false, reason: `the path selects ${vb.length} vectors, the baseline's ${va.length}` };
      }
      for (let i = 0; i < va.length; i++) {
        const c = cosine(va[i], vb[i]);
        if (c === null)
          return { ok: false, reason: `vector ${i} is not a numeric array of the baseline's length` };
        if (c < rule.minCosine)
          return { ok: false, reason: `vector ${i}: cosine ${c.toFixed(6)} < ${rule.minCosine}` };
      }
      return { ok: true };
    }
    case 'custom': {
      const r = await rule.compare(baseline, other);
      if (typeof r === 'boolean')
        return r ? { ok: true } : { ok: false, reason: 'the custom comparator said no' };
      return r.ok ? { ok: true } : { ok: false, reason: r.reason ?? 'the custom comparator said no' };
    }
  }
}

/** Cosine similarity of two numeric arrays of equal length; null if they are not. */
export function cosine(a: unknown, b: unknown): number | null {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length || a.length === 0) return null;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x: unknown = a[i];
    const y: unknown = b[i];
    if (typeof x !== 'number' || typeof y !== 'number') return null;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return na === nb ? 1 : 0;
  return dot / Math.sqrt(na * nb);
}

function firstDifference(a: unknown, b: unknown, tol: number, at: string): string | null {
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b))
      ? null
      : `${at}: ${b} vs baseline ${a}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at}: ${b.length} items vs baseline ${a.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], tol, `${at}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (
    typeof a === 'object' &&
    typeof b === 'object' &&
    a !== null &&
    b !== null &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        tol,
        `${at}.${k}`,
      );
      if (d !== null) return d;
    }
    return null;
  }
  return jsonEqual(a, b) ? null : `${at}: ${JSON.stringify(b)} vs baseline ${JSON.stringify(a)}`;
}

function preview(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Parses the ignore list / path of a rule; returns problems for bad paths. */
export function parsePaths(paths: readonly string[]): { paths: PathSegment[][]; problems: string[] } {
  const out: PathSegment[][] = [];
  const problems: string[] = [];
  for (const p of paths) {
    const r = parseJsonPath(p);
    if (typeof r === 'string') problems.push(r);
    else out.push(r);
  }
  return { paths: out, problems };
}
