/**
 * Manifest loading and validation: parse JSON or YAML, collect every problem with its JSON path (and line and
 * column in the file), and normalise into the Manifest the executor runs. Nothing runs on an invalid manifest.
 *
 * JSON files take the fast path (JSON.parse); the yaml library is loaded only for YAML files and, on the error
 * path, to locate problems by line and column.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import {
  FileError,
  ManifestInvalidError,
  ManifestParseError,
  toError,
  type ManifestProblem,
} from '../core/errors.js';
import { findCycle, planGraph, reachableFrom, type GraphPlan } from './graph.js';
import {
  ManifestSchema,
  type ErrorPolicySchema,
  type ManifestDocument,
  type NodeDocument,
  type QueuePolicySchema,
} from './manifest-schema.js';
import type { NodeTypeDefinition, NodeTypeRegistry } from './node.js';

export type QueuePolicy = Static<typeof QueuePolicySchema>;
export type ErrorPolicy = Static<typeof ErrorPolicySchema>;

/** Defaults of a manifest's settings, in one place. */
export const MANIFEST_DEFAULTS = Object.freeze({
  queueCapacity: 1024,
  queuePolicy: 'block' satisfies QueuePolicy,
  onError: 'fail' satisfies ErrorPolicy,
});

/** A node of a validated manifest, with its type resolved and settings filled in. */
export interface ManifestNode {
  readonly index: number;
  readonly id: string;
  readonly type: NodeTypeDefinition;
  readonly params: Readonly<Record<string, unknown>>;
  readonly runtimeHint: string | undefined;
  /** Its outputs are pipeline outputs: it is terminal or marked `is_output_node`. */
  readonly isOutput: boolean;
  readonly queueCapacity: number;
  readonly queuePolicy: QueuePolicy;
  /** The node as written, every field preserved (RemoteMedia fields included). */
  readonly document: NodeDocument;
}

/** A validated, normalised manifest: what the executor runs. */
export interface Manifest {
  readonly name: string;
  readonly description: string | undefined;
  readonly nodes: readonly ManifestNode[];
  readonly connections: readonly { readonly from: string; readonly to: string }[];
  /** The graph on node indices; acyclic. */
  readonly plan: GraphPlan & { readonly order: readonly number[] };
  readonly onError: ErrorPolicy;
  /** Folder that relative paths in params are resolved against. */
  readonly baseDir: string;
  /** Where the manifest came from (a path, or a label such as `<inline>`). */
  readonly source: string;
  /** The manifest as written. */
  readonly document: ManifestDocument;
}

/** Reads, parses and validates a manifest file. Throws FileError, ManifestParseError or ManifestInvalidError. */
export async function loadManifestFile(file: string, registry: NodeTypeRegistry): Promise<Manifest> {
  let text: string;
  try {
    // Synchronous on purpose: a manifest is small, and fs/promises costs ~0.1 ms more per read (thread pool).
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = toError(e) as NodeJS.ErrnoException;
    throw new FileError(file, err.code === 'ENOENT' ? 'no such file' : err.message, { cause: err });
  }
  return parseManifest(text, { source: file, baseDir: dirname(resolve(file)) }, registry);
}

/** Options of parseManifest. */
export interface ParseManifestOptions {
  /** Path or label used in messages. */
  readonly source: string;
  /** Folder for relative paths in params; default: the current directory. */
  readonly baseDir?: string;
  /** Force a format; by default `.json` files and text starting with `{` are JSON, others YAML. */
  readonly format?: 'json' | 'yaml';
}

/** Parses and validates manifest text. */
export async function parseManifest(
  text: string,
  options: ParseManifestOptions,
  registry: NodeTypeRegistry,
): Promise<Manifest> {
  const format = options.format ?? detectFormat(options.source, text);
  let doc: unknown;
  if (format === 'json') {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ManifestParseError(options.source, `not valid JSON: ${toError(e).message}`);
    }
  } else {
    const { parseDocument } = await loadYaml();
    const parsed = parseDocument(text, { prettyErrors: true });
    const first = parsed.errors[0];
    if (first) throw new ManifestParseError(options.source, `not valid YAML: ${first.message}`);
    doc = parsed.toJS();
  }
  const result = validateManifest(doc, registry, {
    source: options.source,
    baseDir: options.baseDir ?? process.cwd(),
  });
  if (!result.ok) {
    await locateProblems(text, result.problems);
    result.problems.sort(
      (a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0),
    );
    throw new ManifestInvalidError(options.source, result.problems);
  }
  return result.manifest;
}

type YamlModule = typeof import('yaml');

/** Loads the yaml library on demand (JSON manifests never pay for it); works bundled (CJS interop) or not. */
async function loadYaml(): Promise<YamlModule> {
  const mod = (await import('yaml')) as YamlModule & { default?: YamlModule };
  return typeof mod.parseDocument === 'function' ? mod : (mod.default as YamlModule);
}

function detectFormat(source: string, text: string): 'json' | 'yaml' {
  if (/\.json$/i.test(source)) return 'json';
  if (/\.ya?ml$/i.test(source)) return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

export type ValidationResult =
  | { readonly ok: true; readonly manifest: Manifest; readonly problems: readonly [] }
  | { readonly ok: false; readonly problems: ManifestProblem[] };

/** Validates a parsed manifest document; collects every problem. */
export function validateManifest(
  doc: unknown,
  registry: NodeTypeRegistry,
  where: { readonly source: string; readonly baseDir: string },
): ValidationResult {
  const problems: ManifestProblem[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, problems: [{ path: '$', message: 'a manifest must be an object' }] };
  }
  problems.push(...schemaProblems(ManifestSchema, doc, '$'));
  const raw = doc as Record<string, unknown>;
  if (raw.version !== undefined && raw.version !== 'v1') {
    replaceProblem(
      problems,
      '$.version',
      `unsupported version ${JSON.stringify(raw.version)}: expected "v1"`,
    );
  }

  // Node-level checks that go beyond structure: ids, types, params.
  const rawNodes = Array.isArray(raw.nodes) ? (raw.nodes as unknown[]) : [];
  const indexById = new Map<string, number>();
  const types: (NodeTypeDefinition | undefined)[] = [];
  rawNodes.forEach((n, i) => {
    const node = (typeof n === 'object' && n !== null ? n : {}) as Record<string, unknown>;
    const path = `$.nodes[${i}]`;
    if (typeof node.id === 'string' && node.id !== '') {
      const prev = indexById.get(node.id);
      if (prev === undefined) indexById.set(node.id, i);
      else
        problems.push({
          path: `${path}.id`,
          message: `duplicate node id '${node.id}' (also $.nodes[${prev}])`,
        });
    }
    const type = typeof node.node_type === 'string' ? registry.get(node.node_type) : undefined;
    types.push(type);
    if (typeof node.node_type === 'string' && node.node_type !== '' && !type) {
      problems.push({ path: `${path}.node_type`, message: unknownTypeMessage(node.node_type, registry) });
    }
    if (type) {
      const params = node.params ?? {};
      if (typeof params === 'object' && !Array.isArray(params)) {
        const paramProblems = schemaProblems(type.params, params, `${path}.params`);
        problems.push(...paramProblems);
        if (paramProblems.length === 0 && type.check) {
          for (const p of type.check(params))
            problems.push({ path: `${path}.params${p.path}`, message: p.message });
        }
      }
    }
  });

  // Connections and the graph.
  const rawConnections = Array.isArray(raw.connections) ? (raw.connections as unknown[]) : [];
  const edges: [number, number][] = [];
  const seenEdges = new Map<string, number>();
  rawConnections.forEach((c, i) => {
    if (typeof c !== 'object' || c === null) return;
    const { from, to } = c as Record<string, unknown>;
    const path = `$.connections[${i}]`;
    const a = typeof from === 'string' ? indexById.get(from) : undefined;
    const b = typeof to === 'string' ? indexById.get(to) : undefined;
    if (typeof from === 'string' && a === undefined) {
      problems.push({ path: `${path}.from`, message: `no node has id '${from}'` });
    }
    if (typeof to === 'string' && b === undefined) {
      problems.push({ path: `${path}.to`, message: `no node has id '${to}'` });
    }
    if (a === undefined || b === undefined) return;
    const key = `${a}->${b}`;
    const dup = seenEdges.get(key);
    if (dup !== undefined) {
      problems.push({
        path,
        message: `duplicate connection ${String(from)} → ${String(to)} (also $.connections[${dup}])`,
      });
      return;
    }
    seenEdges.set(key, i);
    if (types[b]?.role === 'source') {
      problems.push({
        path: `${path}.to`,
        message: `'${String(to)}' is a ${types[b].name}: sources take no inputs`,
      });
      return;
    }
    if (types[a]?.role === 'sink') {
      problems.push({
        path: `${path}.from`,
        message: `'${String(from)}' is a ${types[a].name}: sinks have no outputs`,
      });
      return;
    }
    edges.push([a, b]);
  });

  const plan = planGraph(rawNodes.length, edges);
  const idOf = (i: number): string => {
    const id = (rawNodes[i] as Record<string, unknown> | undefined)?.id;
    return typeof id === 'string' ? id : `#${i}`;
  };
  if (plan.order === null) {
    const cycle = findCycle(plan, plan.cyclic) ?? plan.cyclic;
    const first = cycle[0] ?? 0;
    problems.push({
      path: `$.nodes[${first}]`,
      message: `the connections form a cycle: ${cycle.map(idOf).join(' → ')}`,
    });
  }
  const sources = types.flatMap((t, i) => (t?.role === 'source' ? [i] : []));
  if (sources.length > 0) {
    const reached = reachableFrom(plan, sources);
    for (let i = 0; i < rawNodes.length; i++) {
      if (!reached.has(i) && types[i] !== undefined && !plan.cyclic.includes(i)) {
        problems.push({
          path: `$.nodes[${i}]`,
          message: `node '${idOf(i)}' is unreachable: no connection leads to it from a DataSource`,
        });
      }
    }
  }

  if (problems.length > 0 || plan.order === null) return { ok: false, problems };

  const manifestDoc = doc as ManifestDocument;
  const settings = manifestDoc.settings ?? {};
  const nodes: ManifestNode[] = manifestDoc.nodes.map((n, i) => ({
    index: i,
    id: n.id,
    type: types[i] as NodeTypeDefinition,
    params: n.params ?? {},
    runtimeHint: n.runtime_hint,
    isOutput: n.is_output_node === true || (plan.successors[i]?.length ?? 0) === 0,
    queueCapacity: n.settings?.queue_capacity ?? settings.queue_capacity ?? MANIFEST_DEFAULTS.queueCapacity,
    queuePolicy: n.settings?.queue_policy ?? settings.queue_policy ?? MANIFEST_DEFAULTS.queuePolicy,
    document: n,
  }));
  return {
    ok: true,
    problems: [],
    manifest: {
      name: manifestDoc.metadata.name,
      description: manifestDoc.metadata.description,
      nodes,
      connections: manifestDoc.connections ?? [],
      plan: plan as GraphPlan & { order: number[] },
      onError: settings.on_error ?? MANIFEST_DEFAULTS.onError,
      baseDir: where.baseDir,
      source: where.source,
      document: manifestDoc,
    },
  };
}

/** Schema problems of `value`, one per path (the first, most specific message), as readable messages. */
export function schemaProblems(
  schema: Parameters<typeof Value.Errors>[0],
  value: unknown,
  base: string,
): ManifestProblem[] {
  if (Value.Check(schema, value)) return []; // the common case; collecting errors costs more than checking
  const byPath = new Map<string, ManifestProblem>();
  for (const e of Value.Errors(schema, value)) {
    const path = base + pointerToPath(e.path);
    if (byPath.has(path)) continue;
    byPath.set(path, { path, message: describeSchemaError(e) });
  }
  return [...byPath.values()];
}

function describeSchemaError(e: ValueError): string {
  const schema = e.schema as Record<string, unknown>;
  const got = describeValue(e.value);
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown field';
    case ValueErrorType.Union: {
      const options = (schema.anyOf as Record<string, unknown>[] | undefined) ?? [];
      const consts = options.map((o) => o.const).filter((c) => c !== undefined);
      if (consts.length === options.length && consts.length > 0) {
        return `must be one of ${consts.map((c) => JSON.stringify(c)).join(', ')}; got ${got}`;
      }
      return `${e.message.toLowerCase()}; got ${got}`;
    }
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(schema.const)}; got ${got}`;
    default:
      return `${e.message.replace(/^Expected/, 'expected')}; got ${got}`;
  }
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** `/nodes/0/params/op` → `.nodes[0].params.op` */
function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) =>
      /^\d+$/.test(seg)
        ? `[${seg}]`
        : /^[A-Za-z_$][\w$]*$/.test(seg)
          ? `.${seg}`
          : `[${JSON.stringify(seg)}]`,
    )
    .join('');
}

/** `$.nodes[0].params.op` → ['nodes', 0, 'params', 'op'] */
function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.slice(1).matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

function replaceProblem(problems: ManifestProblem[], path: string, message: string): void {
  const i = problems.findIndex((p) => p.path === path);
  if (i >= 0) problems[i] = { path, message };
  else problems.push({ path, message });
}

/** Adds line and column to each problem by finding its path (or its nearest existing parent) in the text. */
async function locateProblems(text: string, problems: ManifestProblem[]): Promise<void> {
  try {
    const { parseDocument, LineCounter, isCollection } = await loadYaml();
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, keepSourceTokens: false });
    for (const p of problems) {
      const segs = pathSegments(p.path);
      for (let n = segs.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(segs.slice(0, n), true);
        if (node === undefined || node === null) continue;
        // Point at the key of a field where possible (more useful than its value).
        let offset = (node as { range?: [number, number, number] }).range?.[0];
        if (n > 0) {
          const parent = n === 1 ? doc.contents : doc.getIn(segs.slice(0, n - 1), true);
          if (isCollection(parent)) {
            const pair = (
              parent.items as { key?: { range?: [number, number, number]; value?: unknown } }[]
            ).find((it) => it.key?.value === segs[n - 1]);
            offset = pair?.key?.range?.[0] ?? offset;
          }
        }
        if (offset === undefined) continue;
        const pos = lineCounter.linePos(offset);
        p.line = pos.line;
        p.column = pos.col;
        break;
      }
    }
  } catch {
    // Locating is a courtesy; problems keep their JSON paths.
  }
}

function unknownTypeMessage(name: string, registry: NodeTypeRegistry): string {
  const all = registry.types.flatMap((t) => [t.name, ...t.aliases]);
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of all) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  const hint =
    best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3))
      ? ` (did you mean '${best}'?)`
      : '';
  return `unknown node_type '${name}'${hint}; known types: ${registry.types.map((t) => t.name).join(', ')}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
