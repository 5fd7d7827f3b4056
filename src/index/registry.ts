/**
 * The index adapters, as a frozen registry: one entry per adapter (`sqlite`, `opensearch`), each opening a
 * SearchIndex for an embedding dimension from the target its spec names. Callers (the CLI of `serve ingest`)
 * resolve a spec here and never choose an adapter themselves; adding an adapter is one file and one line here.
 * Adapters are imported when first opened, so the OpenSearch client is never loaded for a SQLite index.
 *
 * A spec is `KIND:TARGET` (`sqlite:data/ingest.db`, `opensearch:http://127.0.0.1:9200`); an `http(s)://` URL
 * alone is an OpenSearch cluster and anything else a SQLite file.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { SearchIndex } from './index-port.js';

/** An index adapter: how to open its kind of target. */
export interface IndexAdapter {
  /** What the target is, for messages (`a SQLite file`). */
  readonly target: string;
  /** Opens (creating when missing) the index at `target` for embeddings of `dimension` floats. */
  open(target: string, dimension: number): Promise<OpenedIndex>;
}

/** An open index and a line saying what it is (`SQLite /abs/path.db`). */
export interface OpenedIndex {
  readonly index: SearchIndex;
  readonly description: string;
}

export const INDEX_ADAPTERS = Object.freeze({
  sqlite: {
    target: 'a SQLite file',
    open: async (target: string, dimension: number): Promise<OpenedIndex> => {
      const { openSqliteIndex } = await import('./sqlite-index.js');
      const path = resolve(target);
      mkdirSync(dirname(path), { recursive: true });
      return { index: await openSqliteIndex(path, { dimension }), description: `SQLite ${path}` };
    },
  },
  opensearch: {
    target: 'an OpenSearch cluster URL',
    open: async (target: string, dimension: number): Promise<OpenedIndex> => {
      const { openOpenSearchIndex } = await import('./opensearch-index.js');
      return {
        index: await openOpenSearchIndex({ url: target, dimension }),
        description: `OpenSearch at ${target}`,
      };
    },
  },
} satisfies Record<string, IndexAdapter>);

export type IndexKind = keyof typeof INDEX_ADAPTERS;

/** A resolved spec: which adapter, and what it opens. */
export interface IndexSpec {
  readonly kind: IndexKind;
  readonly target: string;
}

/** Resolves a spec string (see the module header) to an adapter kind and target. */
export function parseIndexSpec(spec: string): IndexSpec {
  const m = /^([a-z]+):(?!\/\/)(.*)$/.exec(spec);
  if (m !== null && m[1] !== undefined && m[2] !== undefined) {
    const kind = m[1];
    if (!isIndexKind(kind)) {
      throw new UsageError(
        `index '${spec}': no index adapter '${kind}'; adapters: ${Object.keys(INDEX_ADAPTERS).join(', ')}`,
      );
    }
    if (m[2] === '') throw new UsageError(`index '${spec}': give ${INDEX_ADAPTERS[kind].target}`);
    return { kind, target: m[2] };
  }
  return /^https?:\/\//.test(spec) ? { kind: 'opensearch', target: spec } : { kind: 'sqlite', target: spec };
}

/** Opens the index a spec names, for embeddings of `dimension` floats. */
export function openIndex(spec: string | IndexSpec, dimension: number): Promise<OpenedIndex> {
  const { kind, target } = typeof spec === 'string' ? parseIndexSpec(spec) : spec;
  return INDEX_ADAPTERS[kind].open(target, dimension);
}

function isIndexKind(kind: string): kind is IndexKind {
  return Object.hasOwn(INDEX_ADAPTERS, kind);
}
