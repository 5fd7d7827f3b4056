/**
 * JSON value helpers shared by nodes and checks: the JSON type name used in every message, and deep
 * equality with JSON semantics (numbers by value, key order ignored, booleans never equal numbers).
 */

/** JSON type names as they appear in messages: null, boolean, number, string, array, object. */
export type JsonTypeName = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

/** The JSON type name of a value (functions and other non-JSON values count as `object`). */
export function jsonTypeOf(value: unknown): JsonTypeName {
  switch (typeof value) {
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? 'array' : 'object';
    default:
      return value === undefined ? 'null' : 'object';
  }
}

/** Deep equality of two JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ob = b as Record<string, unknown>;
  const oa = a as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.hasOwn(ob, k) || !jsonEqual(oa[k], ob[k])) return false;
  }
  return true;
}
