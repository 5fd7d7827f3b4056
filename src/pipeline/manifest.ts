/**
 * Manifest loading and validation: parse JSON or YAML, collect every problem with its JSON path (and line and
 * column in the file), and normalise into the Manifest the executor runs. Nothing runs on an invalid manifest.
 *
 * JSON files take the fast path (JSON.parse); the yaml library is loaded only for YAML files and, on the error
 * path, to locate problems by line and column.
 */
import { basename, dirname, extname, resolve } from 'node:path';
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
import { checkFieldNames, dropUnknownParams } from './manifest-fields.js';
import {
  KEPT_FIELD_PATH,
  MANIFEST_VERSIONS,
  ManifestSchema,
  type ErrorPolicySchema,
  type ManifestDocument,
  type NodeDocument,
  type QueuePolicySchema,
} from './manifest-schema.js';
import type { NodeTypeDefinition, NodeTypeRegistry } from './node.js';
import { remoteMediaStatus } from './remotemedia-types.js';

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
  /** The node as written, every field preserved (RemoteMedia fields included; camelCase names in snake_case). */
  readonly document: NodeDocument;
}

/** A validated, normalised manifest: what the executor runs. */
export interface Manifest {
  /** `metadata.name`, else the file name without its extension. */
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
  /** The manifest as written (camelCase field names in snake_case). */
  readonly document: ManifestDocument;
  /** Unknown fields and other things kept but not acted on, with their paths (and lines, for files). */
  readonly warnings: readonly ManifestProblem[];
}

/** Options of loading and validating a manifest. */
export interface ManifestCheckOptions {
  /** Warnings are errors (`--strict`). */
  readonly strict?: boolean;
  /** Called with the warnings (located in the text) before the manifest is returned or refused. */
  readonly onWarnings?: (warnings: readonly ManifestProblem[]) => void;
}

/** Reads, parses and validates a manifest file. Throws FileError, ManifestParseError or ManifestInvalidError. */
export async function loadManifestFile(
  file: string,
  registry: NodeTypeRegistry,
  check: ManifestCheckOptions = {},
): Promise<Manifest> {
  // Synchronous on purpose: a manifest is small, and fs/promises costs ~0.1 ms more per read (thread pool).
  const text = readConfigFile(file, 'manifest');
  return parseManifest(text, { ...check, source: file, baseDir: dirname(resolve(file)) }, registry);
}

/** Options of parseManifest. */
export interface ParseManifestOptions extends ManifestCheckOptions {
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
  const result = validateManifest(
    parsed.doc,
    registry,
    { source: options.source, baseDir: options.baseDir ?? process.cwd() },
    options.strict === true,
  );
  if (result.warnings.length > 0) {
    await locateAndSortProblems(text, result.warnings);
    options.onWarnings?.(result.warnings);
  }
  if (!result.ok) {
    await locateAndSortProblems(text, result.problems);
    throw new ManifestInvalidError(options.source, result.problems);
  }
  return result.manifest;
}

export type ValidationResult =
  | {
      readonly ok: true;
      readonly manifest: Manifest;
      readonly problems: readonly [];
      readonly warnings: ManifestProblem[];
    }
  | { readonly ok: false; readonly problems: ManifestProblem[]; readonly warnings: ManifestProblem[] };

/**
 * Validates a parsed manifest document; collects every problem, and every warning (unknown fields: RemoteMedia
 * ignores them). With `strict`, warnings are problems.
 */
export function validateManifest(
  input: unknown,
  registry: NodeTypeRegistry,
  where: { readonly source: string; readonly baseDir: string },
  strict = false,
): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: [{ path: '$', message: 'a manifest must be an object' }], warnings: [] };
  }
  const fields = checkFieldNames(ManifestSchema, input);
  const doc = fields.doc as Record<string, unknown>;
  const problems: ManifestProblem[] = [...fields.problems];
  const warnings: ManifestProblem[] = strict ? problems : [];
  warnings.push(...fields.warnings);
  for (const p of schemaProblems(ManifestSchema, doc, '$')) {
    if (KEPT_FIELD_PATH.test(p.path)) warnings.push({ ...p, message: `${p.message}; kept and ignored` });
    else problems.push(p);
  }
  const raw = doc;
  if (typeof raw.version === 'string' && raw.version !== 'v1') {
    if ((MANIFEST_VERSIONS as readonly string[]).includes(raw.version)) {
      warnings.push({
        path: '$.version',
        message: `version ${JSON.stringify(raw.version)} read as "v1" (RemoteMedia's pipeline-runner templates write it; write "v1")`,
      });
    } else {
      replaceProblem(
        problems,
        '$.version',
        `unsupported version ${JSON.stringify(raw.version)}: expected "v1"`,
      );
    }
  }

  // Node-level checks that go beyond structure: ids, types, params.
  const rawNodes = Array.isArray(raw.nodes) ? (raw.nodes as unknown[]) : [];
  const indexById = new Map<string, number>();
  const types: (NodeTypeDefinition | undefined)[] = [];
  /** Each node's params without the unknown ones (warned about). */
  const paramsOf: (Record<string, unknown> | undefined)[] = [];
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
      const written = node.params ?? {};
      if (typeof written === 'object' && !Array.isArray(written)) {
        const known = dropUnknownParams(type.params, written, `${path}.params`);
        warnings.push(...known.warnings);
        const params = known.params as Record<string, unknown>;
        paramsOf[i] = params;
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

  const outWarnings = strict ? [] : warnings;
  if (problems.length > 0 || plan.order === null) return { ok: false, problems, warnings: outWarnings };

  const manifestDoc = doc as unknown as ManifestDocument;
  const settings = manifestDoc.settings ?? {};
  const nodes: ManifestNode[] = manifestDoc.nodes.map((n, i) => ({
    index: i,
    id: n.id,
    type: types[i] as NodeTypeDefinition,
    params: paramsOf[i] ?? n.params ?? {},
    runtimeHint: n.runtime_hint,
    isOutput: n.is_output_node === true || (plan.successors[i]?.length ?? 0) === 0,
    queueCapacity: n.settings?.queue_capacity ?? settings.queue_capacity ?? MANIFEST_DEFAULTS.queueCapacity,
    queuePolicy: n.settings?.queue_policy ?? settings.queue_policy ?? MANIFEST_DEFAULTS.queuePolicy,
    document: n,
  }));
  return {
    ok: true,
    problems: [],
    warnings: outWarnings,
    manifest: {
      name: manifestDoc.metadata?.name ?? nameFromSource(where.source),
      description: manifestDoc.metadata?.description,
      nodes,
      connections: manifestDoc.connections ?? [],
      plan: plan as GraphPlan & { order: number[] },
      onError: settings.on_error ?? MANIFEST_DEFAULTS.onError,
      baseDir: where.baseDir,
      source: where.source,
      document: manifestDoc,
      warnings: outWarnings,
    },
  };
}

/** `pipelines/tts.yaml` → `tts`: the name of a manifest whose metadata has none. */
function nameFromSource(source: string): string {
  const file = basename(source);
  return file.slice(0, file.length - extname(file).length) || source;
}

function replaceProblem(problems: ManifestProblem[], path: string, message: string): void {
  const i = problems.findIndex((p) => p.path === path);
  if (i >= 0) problems[i] = { path, message };
  else problems.push({ path, message });
}

function unknownTypeMessage(name: string, registry: NodeTypeRegistry): string {
  const remoteMedia = remoteMediaStatus(name, registry);
  if (remoteMedia !== undefined) {
    return `'${name}' is a RemoteMedia node type that pitlane does not provide: ${remoteMedia.reason} (see docs/remotemedia-nodes.md)`;
  }
  const best = closestName(
    name,
    registry.types.flatMap((t) => [t.name, ...t.aliases]),
  );
  const hint = best !== undefined ? ` (did you mean '${best}'?)` : '';
  return `unknown node_type '${name}'${hint}; \`pitlane nodes\` lists the known types`;
}
