/**
 * A small JSON path for correctness checks and ignore lists: `$`, `.key`, `["key"]`, `[3]` and `[*]`.
 * Enough to point at `$.data[*].embedding` or `$.total_time_ms`; not a query language.
 */

/** Selects every element of an array or every value of an object. */
export const WILDCARD: unique symbol = Symbol('*');

export type PathSegment = string | number | typeof WILDCARD;

/** Parses a path; returns an error message for anything it does not understand. */
export function parseJsonPath(path: string): PathSegment[] | string {
  if (!path.startsWith('$')) return `JSON path '${path}' must start with $`;
  const out: PathSegment[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\*\]|\["((?:[^"\\]|\\.)*)"\]|\.\*/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const at = re.lastIndex;
    const m = re.exec(path);
    if (!m) return `cannot read JSON path '${path}' at character ${at + 1}`;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(`"${m[3]}"`) as string);
    else out.push(WILDCARD);
  }
  return out;
}

/** Every value the path selects. */
export function selectPath(value: unknown, path: readonly PathSegment[]): unknown[] {
  let current: unknown[] = [value];
  for (const seg of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if (seg === WILDCARD) {
        if (Array.isArray(v)) next.push(...(v as unknown[]));
        else if (typeof v === 'object' && v !== null) next.push(...(Object.values(v) as readonly unknown[]));
      } else if (typeof seg === 'number') {
        if (Array.isArray(v) && seg < v.length) next.push(v[seg]);
      } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, seg)) {
        next.push((v as Record<string, unknown>)[seg]);
      }
    }
    current = next;
  }
  return current;
}

/** A deep copy of `value` without what the path selects (for ignore lists). */
export function withoutPath(value: unknown, path: readonly PathSegment[]): unknown {
  if (path.length === 0) return undefined;
  const [seg, ...rest] = path;
  if (Array.isArray(value)) {
    return (value as unknown[]).flatMap((v, i) => {
      if (seg === WILDCARD || seg === i) {
        const r = rest.length === 0 ? undefined : withoutPath(v, rest);
        return r === undefined ? [] : [r];
      }
      return [v];
    });
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (seg === WILDCARD || seg === k) {
        if (rest.length > 0) out[k] = withoutPath(v, rest);
      } else {
        out[k] = v;
      }
    }
    return out;
  }
  return value;
}
