/**
 * How fastify validates a route from its schema (the same TypeBox object the OpenAPI document shows, see
 * openapi.ts `validatedBy`), and how a value the schema does not allow is refused: an HttpProblem with the API's
 * status whose message names the field by its JSON path (`inputs[1] must be a string, got 7`,
 * `parameters.force: not supported; ...`) and whose `param` is that path, sent by the service's error handler in
 * its API's shape like any other refusal.
 *
 * The validator is fastify's ajv with three options changed, so that a schema refuses what the APIs refuse:
 * no type coercion (fastify coerces `"inputs": 5` into `"5"` by default), no removal of fields a schema does not
 * allow (fastify drops them silently by default; a schema that refuses them says `additionalProperties: false`),
 * no defaults filled in (the handler applies defaults, some of which come from the command line). `verbose`
 * makes ajv hand the refused value and its schema to the formatter, on the error path only.
 *
 * Wording, from the first error ajv reports (it stops at the first, `allErrors: false`):
 * - a schema with a `title` says what a valid value is: `must be <title>, got <value>`;
 * - of the branches of an `anyOf`, the one that got furthest into the value (deepest path, then latest index,
 *   then one whose type matched) is the one reported; when none got past the value's type (or const), the
 *   `anyOf` itself is (`must be a string, an array of strings or token ids, got 5`);
 * - otherwise by keyword: required, type, enum, const, an empty string or array, a field not taken.
 */
import type { FastifyServerOptions, FastifySchemaValidationError } from 'fastify';
import { HttpProblem } from './problem.js';

/** The Fastify constructor options every service passes: how its ajv validates (see the header). */
export const SCHEMA_VALIDATION: Pick<FastifyServerOptions, 'ajv'> = Object.freeze({
  ajv: {
    customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, verbose: true },
  },
});

/** How an API refuses a value its schema does not allow. */
export interface SchemaRefusalStyle {
  /** The HTTP status (TEI 422, OpenAI / KServe / ingest 400). */
  readonly status: number;
  /**
   * Between the field's path and what is wrong: `' '` (`inputs is required`) or `': '` (`ready: must be ...`);
   * the body as a whole is `the body must be ...`.
   */
  readonly separator: string;
}

/** A route's `schemaErrorFormatter`: ajv's errors as one HttpProblem. */
export type SchemaErrorFormatter = (errors: FastifySchemaValidationError[], dataVar: string) => HttpProblem;

/** The formatter of an API (make one per API, once: it is a route option). */
export function schemaRefusal(style: SchemaRefusalStyle): SchemaErrorFormatter {
  return (errors, dataVar) => {
    const { path, what } = describe(errors, dataVar);
    const field = path === '' ? null : path;
    const named = field === null ? `${rootName(dataVar)} ` : `${field}${style.separator}`;
    return new HttpProblem(style.status, `${named}${what}`, field);
  };
}

/** An ajv error with `verbose: true`. */
interface AjvError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly data?: unknown;
  readonly parentSchema?: SchemaNode;
}

interface SchemaNode {
  readonly title?: string;
  readonly description?: string;
  readonly type?: string | string[];
  readonly properties?: Record<string, unknown>;
  readonly anyOf?: SchemaNode[];
  readonly const?: unknown;
  readonly enum?: unknown[];
}

function rootName(dataVar: string): string {
  return dataVar === 'body' ? 'the body' : `the ${dataVar}`;
}

/** The path of the field an error is about and what is wrong with it. */
function describe(errors: readonly AjvError[], dataVar: string): { path: string; what: string } {
  const error = reported(errors);
  if (error === undefined) return { path: '', what: 'is invalid' };
  const path = jsonPath(error.instancePath);
  const schema = error.parentSchema ?? {};
  const got = `, got ${shown(error.data)}`;
  switch (error.keyword) {
    case 'required':
      return { path: join(path, String(error.params.missingProperty)), what: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys(schema.properties ?? {});
      const why =
        schema.description ?? `the fields taken here are: ${known.length === 0 ? 'none' : known.join(', ')}`;
      return { path: join(path, String(error.params.additionalProperty)), what: `not supported; ${why}` };
    }
    case 'minLength':
      if (error.params.limit === 1) return { path, what: 'is an empty string' };
      break;
    case 'minItems':
      // `an array of token ids` → `is an empty array of token ids`.
      if (error.params.limit === 1) {
        const of = schema.title?.startsWith('an array of ') === true ? schema.title.slice(8) : '';
        return { path, what: `is an empty array${of}` };
      }
      break;
    default:
  }
  if (schema.title !== undefined) return { path, what: `must be ${schema.title}${got}` };
  switch (error.keyword) {
    case 'type':
      return {
        path,
        what: `must be ${path === '' && dataVar === 'body' ? 'a JSON object' : typeWords(schema)}${got}`,
      };
    case 'anyOf':
      return { path, what: `must be ${branchWords(schema.anyOf ?? [])}${got}` };
    case 'enum':
      return { path, what: `must be one of ${(schema.enum ?? []).map(String).join(', ')}${got}` };
    case 'const':
      return { path, what: `must be ${JSON.stringify(schema.const)}${got}` };
    default:
      return { path, what: `${error.message ?? 'is invalid'}${got}` };
  }
}

/**
 * The error to report: the first, except after an `anyOf` that failed, where the branch that got furthest into
 * the value is the one meant (the anyOf itself when no branch got past the value's type).
 */
function reported(errors: readonly AjvError[]): AjvError | undefined {
  const anyOf = errors.findLast((e) => e.keyword === 'anyOf');
  if (anyOf === undefined) return errors[0];
  const base = anyOf.instancePath;
  let best: AjvError | undefined;
  for (const e of errors) {
    if (e === anyOf || !(e.instancePath === base || e.instancePath.startsWith(`${base}/`))) continue;
    if (best === undefined || furtherThan(e, best)) best = e;
  }
  if (best === undefined || (best.instancePath === base && SHALLOW.has(best.keyword))) return anyOf;
  return best;
}

/** Whether error `a` got further into the value than `b`: deeper, then at a later index, then inside it. */
function furtherThan(a: AjvError, b: AjvError): boolean {
  const pa = a.instancePath.split('/');
  const pb = b.instancePath.split('/');
  if (pa.length !== pb.length) return pa.length > pb.length;
  for (let i = 0; i < pa.length; i++) {
    const [x, y] = [pa[i] ?? '', pb[i] ?? ''];
    if (x !== y) return /^\d+$/.test(x) && /^\d+$/.test(y) && Number(x) > Number(y);
  }
  return !SHALLOW.has(a.keyword) && SHALLOW.has(b.keyword);
}

/** Keywords that refuse a value as a whole (a branch it is not), not something inside it. */
const SHALLOW = new Set(['type', 'const', 'enum']);

/** `/inputs/1` → `inputs[1]`; `/parameters/unload_dependents` → `parameters.unload_dependents`. */
function jsonPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path = /^\d+$/.test(part) ? `${path}[${part}]` : join(path, part);
  }
  return path;
}

function join(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  boolean: 'true or false',
  integer: 'an integer',
  number: 'a number',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function typeWords(schema: SchemaNode): string {
  const types = [schema.type ?? []].flat();
  return types.map((t) => TYPE_WORDS[t] ?? t).join(' or ');
}

/** `an integer (or null)` for the branches of an anyOf without a title. */
function branchWords(branches: readonly SchemaNode[]): string {
  const nullable = branches.some((b) => b.type === 'null');
  const words = branches
    .filter((b) => b.type !== 'null')
    .map((b) => b.title ?? (b.const !== undefined ? JSON.stringify(b.const) : typeWords(b)));
  return `${words.join(' or ')}${nullable ? ' (or null)' : ''}`;
}

/** A refused value as the message shows it: short JSON, or its kind. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  if (text.length <= 40) return text;
  if (typeof value === 'string') return `a string of ${value.length.toLocaleString('en-US')} characters`;
  return Array.isArray(value) ? `an array of ${value.length.toLocaleString('en-US')} items` : 'an object';
}
