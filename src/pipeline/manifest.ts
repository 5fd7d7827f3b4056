/**
 * Manifest loading and validation: parse JSON or YAML, collect every problem with its JSON path (and line and
 * column in the file), and normalise into the Manifest the executor runs. Nothing runs on an invalid manifest.
 *
 * JSON files take the fast path (JSON.parse); the yaml library is loaded only for YAML files and, on the error
 * path, to locate problems by line and column.
 */
import { dirname, resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { ManifestInvalidError, ManifestParseError, type ManifestProblem } from '../core/errors.js';
import {
  closestName,
  locateAndSortProblems,
  parseDocumentText,
  readConfigFile,
  schemaProblems,
} from '../core/config-document.js';
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
  // Synchronous on purpose: a manifest is small, and fs/promises costs ~0.1 ms more per read (thread pool).
  const text = readConfigFile(file, 'manifest');
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
  const parsed = await parseDocumentText(text, options.source, options.format);
  if (!parsed.ok) throw new ManifestParseError(options.source, parsed.message);
  const doc = parsed.doc;
  const result = validateManifest(doc, registry, {
    source: options.source,
    baseDir: options.baseDir ?? process.cwd(),
  });
  if (!result.ok) {
    await locateAndSortProblems(text, result.problems);
    throw new ManifestInvalidError(options.source, result.problems);
  }
  return result.manifest;
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
          const hint = typeof node.runtime_hint === 'string' ? node.runtime_hint : undefined;
          for (const p of type.check(params, { runtimeHint: hint, baseDir: where.baseDir })) {
            const at = p.path.startsWith('@') ? `${path}${p.path.slice(1)}` : `${path}.params${p.path}`;
            problems.push({ path: at, message: p.message });
          }
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

function replaceProblem(problems: ManifestProblem[], path: string, message: string): void {
  const i = problems.findIndex((p) => p.path === path);
  if (i >= 0) problems[i] = { path, message };
  else problems.push({ path, message });
}

function unknownTypeMessage(name: string, registry: NodeTypeRegistry): string {
  const best = closestName(
    name,
    registry.types.flatMap((t) => [t.name, ...t.aliases]),
  );
  const hint = best !== undefined ? ` (did you mean '${best}'?)` : '';
  return `unknown node_type '${name}'${hint}; known types: ${registry.types.map((t) => t.name).join(', ')}`;
}
