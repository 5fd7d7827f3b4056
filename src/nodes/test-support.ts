/**
 * Helpers for unit tests: build manifests of the built-in node types plus custom ones, without files. It lives
 * in nodes/ (not pipeline/) because it needs the built-in registry, and nodes/ sits above pipeline/.
 */
import { Type } from '@sinclair/typebox';
import { validateManifest, type Manifest } from '../pipeline/manifest.js';
import {
  createNodeTypeRegistry,
  defineNodeType,
  type PipelineNode,
  type NodeTypeRegistry,
} from '../pipeline/node.js';
import { BUILTIN_NODE_TYPES } from './registry.js';

/** A registry of the built-ins plus a `Custom` node whose instances come from `factories[params.name]`. */
export function registryWith(factories: Record<string, () => PipelineNode>): NodeTypeRegistry {
  const Custom = defineNodeType<{ name: string }>({
    name: 'Custom',
    aliases: [],
    role: 'transform',
    description: 'test node',
    params: Type.Object({ name: Type.String() }),
    create: ({ params }) => {
      const f = factories[params.name];
      if (!f) throw new Error(`no factory ${params.name}`);
      return f();
    },
  });
  return createNodeTypeRegistry([...BUILTIN_NODE_TYPES.types, Custom]);
}

/** Validates a manifest document or throws with its problems (`strict`: warnings too, as `--strict` does). */
export function manifestOf(
  doc: object,
  registry: NodeTypeRegistry = BUILTIN_NODE_TYPES,
  strict = false,
): Manifest {
  const r = validateManifest(doc, registry, { source: 'test', baseDir: process.cwd() }, strict);
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.manifest;
}

/** A linear manifest: nodes given as [id, node_type, params?], connected in order. */
export function chain(nodes: [string, string, Record<string, unknown>?][], extra: object = {}): object {
  return {
    version: 'v1',
    metadata: { name: 'test' },
    nodes: nodes.map(([id, node_type, params]) => ({ id, node_type, ...(params ? { params } : {}) })),
    connections: nodes.slice(1).map(([id], i) => ({ from: nodes[i]?.[0], to: id })),
    ...extra,
  };
}

export async function* asyncFrom<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const i of items) {
    await Promise.resolve();
    yield i;
  }
}
