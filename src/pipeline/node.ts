/**
 * The node SDK: what a node implements and what the executor gives it. A node type (registered in a
 * NodeTypeRegistry) declares its params schema and creates node instances; instances may keep state.
 *
 * Output convention for `process` and `flush`:
 *   - `undefined`            → no output (the item is dropped; JSON has no undefined, so this is unambiguous)
 *   - any other value        → one output (arrays and null are single values)
 *   - an iterator/generator  → each value it yields is an output (streaming)
 *   - an async iterator      → the same, asynchronously
 *   - a Promise of the above → resolved first
 * Throwing (typically an ItemError) rejects the item; the executor adds node id and item index.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ManifestProblem } from '../core/errors.js';

/** What a node may return from `process` or `flush`; see the module comment. */
export type NodeOutput = unknown;

/** A processing node instance. */
export interface PipelineNode {
  /** Called once before the first item; may be async (load a model, start a worker). */
  initialize?(): void | Promise<void>;
  /** Processes one item; see the output convention above. Must not mutate `item` (it may be shared). */
  process(item: unknown): NodeOutput;
  /** Called once at end of stream; may return outputs like `process`. */
  flush?(): NodeOutput;
  /** Always called at the end, also after errors or cancellation. */
  cleanup?(): void | Promise<void>;
  /**
   * Processes several items at once (a node that crosses a process or VM boundary amortises the crossing).
   * When present, the executor calls it instead of `process` with the items waiting in the node's queue, in
   * order; each result is that item's output (same convention as `process`) or its error.
   */
  processBatch?(items: readonly unknown[]): Promise<readonly BatchItemResult[]>;
  /**
   * Batches `processBatch` may have in flight at once (a pool of workers; default 1). With more than one, a batch
   * starts as soon as one is free, even while an earlier one is still running, and outputs are delivered in order.
   */
  readonly concurrency?: number;
  /** One line about how the node runs, for `--stats` and benchmark results (e.g. the Python runtime chosen). */
  describe?(): string;
}

/** One item's result in a batch. */
export type BatchItemResult =
  { readonly ok: true; readonly output: NodeOutput } | { readonly ok: false; readonly error: unknown };

/** Run-wide options a node may read (set by the CLI or the caller of runPipeline). */
export interface NodeRunOptions {
  /** Forces the runtime of Python nodes whose hint is auto (or absent): for tests and benchmarks. */
  readonly pythonRuntime?: 'cpython' | 'pyodide';
  /** Where nodes' own log lines go (default: stderr). */
  readonly log?: (nodeId: string, level: string, message: string) => void;
}

/** A source node instance: produces the items that enter the pipeline. */
export interface SourceNode {
  initialize?(): void | Promise<void>;
  /**
   * The items this source produces. An array is iterated by index (fastest); any other iterable or async
   * iterable is consumed lazily, so unbounded sources run in constant memory. `input` is the pipeline's
   * input stream (CLI `--input`), given to sources that read it.
   */
  items(
    input: AsyncIterable<InputRecord> | undefined,
  ): Iterable<unknown> | AsyncIterable<unknown> | readonly unknown[];
  /** True when this source reads the pipeline's input stream. */
  readonly readsInput: boolean;
  cleanup?(): void | Promise<void>;
}

/** An input line that failed to parse; sources yield it and the executor records an item error. */
export class InputParseFailure {
  constructor(
    /** 1-based physical line number (blank lines counted). */
    readonly line: number,
    /** The raw line text (its start only, for a line over the length limit). */
    readonly text: string,
    /** Why a line that is not a plain syntax error was refused (too long, nested too deep). */
    readonly reason?: string,
  ) {}
}

/** What the pipeline's input stream yields: parsed values, or parse failures to report. */
export type InputRecord = unknown;

/** Context handed to a node type's `create`. */
export interface NodeContext<P> {
  /** The node's id in the manifest. */
  readonly id: string;
  /** The node's params, already validated against the type's schema. */
  readonly params: P;
  /** Folder of the manifest file, for params that name files relative to it. */
  readonly baseDir: string;
  /** Aborted when the run is cancelled. */
  readonly signal: AbortSignal;
  /** The node's `runtime_hint` in the manifest, if any. */
  readonly runtimeHint: string | undefined;
  /** Run-wide options. */
  readonly options: NodeRunOptions;
}

/** The role of a node type in a graph. */
export type NodeRole = 'source' | 'transform' | 'sink';

/** A registered node type. */
export interface NodeTypeDefinition<P = unknown> {
  /** Canonical (short) name, e.g. `Calculator`. */
  readonly name: string;
  /** Other accepted names, e.g. the RemoteMedia class name `CalculatorNode`. */
  readonly aliases: readonly string[];
  /** One line for `pitlane nodes` and the JSON Schema. */
  readonly description: string;
  readonly role: NodeRole;
  /** Schema of `params` (TypeBox, hence JSON Schema). */
  readonly params: TSchema;
  /**
   * Checks the schema cannot express (e.g. `step` must not be 0). Paths are relative to params (`.step`), or to
   * the node when they start with `@` (`@.runtime_hint`).
   */
  readonly check?: (
    params: P,
    node: { readonly runtimeHint: string | undefined; readonly baseDir: string },
  ) => readonly Omit<ManifestProblem, 'line' | 'column'>[];
  /** Creates an instance. Sources return a SourceNode, others a PipelineNode. */
  readonly create: (ctx: NodeContext<P>) => PipelineNode | SourceNode;
}

/** A frozen lookup of node types by canonical name and alias. */
export interface NodeTypeRegistry {
  /** Canonical definitions, in registration order. */
  readonly types: readonly NodeTypeDefinition[];
  /** Finds a type by canonical name or alias. */
  get(name: string): NodeTypeDefinition | undefined;
}

/** Builds a frozen registry; fails on a duplicate name or alias (a programming error). */
export function createNodeTypeRegistry(types: readonly NodeTypeDefinition[]): NodeTypeRegistry {
  const byName = new Map<string, NodeTypeDefinition>();
  for (const t of types) {
    for (const name of [t.name, ...t.aliases]) {
      if (byName.has(name)) throw new Error(`node type name '${name}' registered twice`);
      byName.set(name, t);
    }
  }
  return Object.freeze({
    types: Object.freeze([...types]),
    get: (name: string) => byName.get(name),
  });
}

/** Defines a node type with its params type inferred by the caller. */
export function defineNodeType<P>(def: NodeTypeDefinition<P>): NodeTypeDefinition {
  return def as unknown as NodeTypeDefinition;
}
