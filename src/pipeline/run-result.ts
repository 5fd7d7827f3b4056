/**
 * What a pipeline run takes and gives back: its options (input, output sink, error policy, cancellation,
 * timing), the per-node counters, and the result value, which describes a completed, cancelled or failed run
 * without throwing.
 */
import type { Blocker } from './edge-queue.js';
import type { ErrorPolicy } from './manifest.js';
import type { NodeRunOptions } from './node.js';

/** Receives each pipeline output; may return a Blocker to apply backpressure (e.g. a full stdout). */
export type OutputSink = (value: unknown, nodeId: string) => Blocker | null | undefined;

/** Options of a run. */
export interface RunOptions {
  /** The pipeline's input stream (parsed JSONL values or InputParseFailure), for sources that read it. */
  readonly input?: AsyncIterable<unknown>;
  /** Where outputs go; by default they are collected into `result.outputs`. */
  readonly onOutput?: OutputSink;
  /** Overrides the manifest's error policy. */
  readonly onError?: ErrorPolicy;
  /** Cancels the run: sources stop, in-flight items drain, nodes are flushed and cleaned up. */
  readonly signal?: AbortSignal;
  /** Measure time spent in each node's `process` (costs two clock reads per item per node). */
  readonly timing?: boolean;
  /** Options handed to every node (Python runtime override, log sink). */
  readonly nodeOptions?: NodeRunOptions;
}

/** Counters of one node after a run. */
export interface NodeStats {
  readonly id: string;
  readonly type: string;
  /** Items the node received (0 for sources). */
  readonly received: number;
  /** Items the node output (error records not included). */
  readonly emitted: number;
  /** Items dropped by its input queue's drop policy, or discarded from it when the run stopped. */
  readonly dropped: number;
  /** Item errors it raised. */
  readonly errors: number;
  /** Milliseconds spent in `process`/`flush` (synchronous part; whole batches for batching nodes); null when timing was off. */
  readonly timeMs: number | null;
  /** How the node ran, when it says (e.g. the Python runtime chosen and why). */
  readonly detail: string | null;
}

/** The outcome of a run: a value, not an exception, whatever happened. */
export interface PipelineResult {
  readonly state: 'completed' | 'cancelled' | 'failed';
  /** Collected outputs, when no `onOutput` was given. */
  readonly outputs: unknown[];
  /** Per-node counters, in manifest order. */
  readonly stats: readonly NodeStats[];
  /** Set when state is `failed`: the first node failure, or an initialisation or source error. */
  readonly error?: Error;
  readonly durationMs: number;
}
