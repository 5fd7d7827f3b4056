/**
 * Field names of a manifest, before its schema check: RemoteMedia's camelCase spellings (`nodeType`,
 * `isStreaming`: its manifest analyzer and JavaScript client write them) are renamed to the snake_case fields,
 * and fields no schema names are reported. RemoteMedia does not deny unknown fields (its serde structs have no
 * `deny_unknown_fields`), so an unknown field is a warning, kept in the document and not acted on; `--strict`
 * makes warnings errors.
 *
 * The known names come from the TypeBox schemas themselves (manifest-schema.ts): an object schema with
 * `properties` is walked; `additionalProperties: true` marks a free-form object (renamed, never warned about),
 * `false` one of pitlane's own objects, whose unknown fields the schema check reports as errors. Records (`params`,
 * `docker`) are not entered.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ManifestProblem } from '../core/errors.js';
import { closestName } from '../core/config-document.js';

/** What the walk found. */
export interface FieldReport {
  /** The document with camelCase fields renamed; every other value is the same object as before. */
  readonly doc: unknown;
  /** Unknown fields. */
  readonly warnings: ManifestProblem[];
  /** A field written both ways (`nodeType` and `node_type`). */
  readonly problems: ManifestProblem[];
}

/** Walks `doc` along `schema`; see the module comment. */
export function checkFieldNames(schema: TSchema, doc: unknown, base = '$'): FieldReport {
  const report: FieldReport = { doc: undefined, warnings: [], problems: [] };
  return { ...report, doc: walk(schema, doc, base, report) };
}

/** `isOutputNode` → `is_output_node` (RemoteMedia's manifest-analyzer rule). */
export function camelToSnake(name: string): string {
  return name.replace(/(?!^)[A-Z]/g, (c) => `_${c}`).toLowerCase();
}

/** `.key`, or `["odd key"]` for a key that is not an identifier. */
export function fieldPath(base: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function walk(schema: TSchema, value: unknown, path: string, report: FieldReport): unknown {
  if (Array.isArray(value)) {
    const items = (schema as { type?: unknown; items?: TSchema }).items;
    if (schema.type !== 'array' || items === undefined) return value;
    const out = value.map((v, i) => walk(items, v, `${path}[${i}]`, report));
    return out.some((w, i) => w !== value[i]) ? out : value;
  }
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  if (typeof value !== 'object' || value === null || schema.type !== 'object' || properties === undefined) {
    return value;
  }
  const open = (schema as { additionalProperties?: unknown }).additionalProperties;
  const record = value as Record<string, unknown>;
  const known = Object.keys(properties);
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(record)) {
    let name = key;
    if (!Object.hasOwn(properties, key)) {
      const snake = camelToSnake(key);
      if (snake !== key && Object.hasOwn(properties, snake)) {
        if (Object.hasOwn(record, snake)) {
          report.problems.push({
            path: fieldPath(path, key),
            message: `'${key}' and '${snake}' are the same field: write it once`,
          });
          changed = true;
          continue;
        }
        name = snake;
        changed = true;
      } else {
        if (open !== true && open !== false) {
          const best = closestName(key, known);
          const hint = best !== undefined ? ` (did you mean '${best}'?)` : '';
          report.warnings.push({
            path: fieldPath(path, key),
            message: `unknown field '${key}', kept and ignored${hint}`,
          });
        }
        out[key] = v;
        continue;
      }
    }
    const w = walk(properties[name] as TSchema, v, fieldPath(path, name), report);
    if (w !== v) changed = true;
    out[name] = w;
  }
  return changed ? out : value;
}

/**
 * A node's params without the ones its type does not know (at any depth its schema names the fields), and a warning
 * for each: RemoteMedia's nodes ignore params they do not read, so a RemoteMedia manifest may carry some pitlane's
 * node does not take. Objects whose schema names no fields (records, unions) are kept whole for the schema check.
 */
export function dropUnknownParams(
  schema: TSchema,
  params: unknown,
  base: string,
): { readonly params: unknown; readonly warnings: ManifestProblem[] } {
  const warnings: ManifestProblem[] = [];
  const drop = (s: TSchema, value: unknown, path: string): unknown => {
    const properties = (s as { properties?: Record<string, TSchema> }).properties;
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      s.type !== 'object' ||
      properties === undefined ||
      (s as { additionalProperties?: unknown }).additionalProperties === true
    ) {
      return value;
    }
    const known = Object.keys(properties);
    const out: Record<string, unknown> = {};
    let changed = false;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (sub === undefined) {
        const best = closestName(key, known);
        const hint = best !== undefined ? ` (did you mean '${best}'?)` : '';
        warnings.push({ path: fieldPath(path, key), message: `unknown param '${key}', ignored${hint}` });
        changed = true;
        continue;
      }
      const w = drop(sub, v, fieldPath(path, key));
      if (w !== v) changed = true;
      out[key] = w;
    }
    return changed ? out : value;
  };
  return { params: drop(schema, params, base), warnings };
}
