/**
 * The streaming executor. Items are pushed through the graph depth-first: when a node is idle and its
 * `process` returns a plain value, the value goes straight to its successors in the same call stack, so a
 * chain of synchronous nodes costs a few function calls per item and allocates no promise. A node whose
 * `process` returns a promise or an async iterator becomes busy; items that reach it meanwhile wait in its
 * bounded EdgeQueue and an async pump drains them in order. A full queue (policy `block`) hands a Blocker back
 * up the call stack to the producer (a source loop or another pump), which waits on it: backpressure without
 * a promise per item. Sources yield to the event loop every 1024 items so signals and I/O get through.
 *
 * Error policy `skip` turns an item error into an ErrorRecord that travels along the first outgoing
 * connection, unprocessed, to a terminal node; `fail` stops the sources, lets in-flight items drain, skips
 * flush and reports a NodeFailedError. `cleanup` always runs. Semantics: docs/pipelines.md.
 *
 * This module owns a run's life: it wires one runner per node (stage-graph.ts), initialises the nodes, drives
 * the sources, drains and flushes the nodes in topological order, handles cancellation, cleans up and counts.
 * The parts: stage.ts (output and error routing), node-runner.ts (a node's fast path, queue, pump, batches),
 * source-runner.ts (a source's item loop), error-record.ts, run-result.ts (options and result types).
 */
import { performance } from 'node:perf_hooks';
import { NodeInitError, toError } from '../core/errors.js';
import { LazyAbort } from './create-context.js';
import type { Manifest } from './manifest.js';
import type { PipelineNode, SourceNode } from './node.js';
import { NodeRunner } from './node-runner.js';
import type { NodeStats, OutputSink, PipelineResult, RunOptions } from './run-result.js';
import { SourceRunner } from './source-runner.js';
import { RunState, type Stage } from './stage.js';
import { buildStages } from './stage-graph.js';

export { ErrorRecord } from './error-record.js';
export type { NodeStats, OutputSink, PipelineResult, RunOptions } from './run-result.js';

/** Runs a validated manifest to completion (or failure, or cancellation). */
export async function runPipeline(manifest: Manifest, options: RunOptions = {}): Promise<PipelineResult> {
  const started = performance.now();
  const abort = new LazyAbort();
  // Cancellation: sources stop, items waiting in queues are discarded (counted as dropped), items being
  // processed finish, then nodes are flushed as at a normal end of stream.
  const onAbort = (): void => {
    state.stopped = true;
    state.cancelled = true;
    for (const r of runners) r?.queue.clear();
    abort.abort();
  };
  const state = new RunState(options.onError ?? manifest.onError, options.timing === true, () => {
    abort.abort();
  });
  const outputs: unknown[] = [];
  const sink: OutputSink =
    options.onOutput ??
    ((v) => {
      outputs.push(v);
      return null;
    });

  const { nodes, plan } = manifest;
  const { stages, runners, sources } = buildStages(manifest, state, sink, abort, options.nodeOptions);
  const order = plan.order.map((i) => stages[i] as Stage);
  const initialised: (PipelineNode | SourceNode)[] = [];
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (const stage of order) {
      const node = stage instanceof NodeRunner || stage instanceof SourceRunner ? stage.node : null;
      if (node === null) continue;
      try {
        const ready = node.initialize?.();
        initialised.push(node);
        if (ready !== undefined) await ready;
      } catch (e) {
        throw new NodeInitError(stage.id, stage.typeName, toError(e));
      }
    }

    if (sources.length === 1) await (sources[0] as SourceRunner).drive(options.input);
    else await Promise.all(sources.map((s) => s.drive(options.input)));

    // End of stream: in topological order, wait for each node to go idle, then flush it (not after a failure).
    for (const stage of order) {
      if (!(stage instanceof NodeRunner)) continue;
      const idle = stage.idle();
      if (idle !== null) await idle;
      if (state.failure !== null) continue;
      const flushed = stage.flush();
      if (flushed !== null) await flushed;
    }
  } catch (e) {
    state.fail(toError(e));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const node of initialised.reverse()) {
      try {
        const done = node.cleanup?.();
        if (done !== undefined) await done;
      } catch (e) {
        if (state.failure === null) state.failure = toError(e);
      }
    }
  }

  const stats: NodeStats[] = nodes.map((n, i) => {
    const stage = stages[i] as Stage;
    const r = runners[i];
    return {
      id: n.id,
      type: n.type.name,
      received: r?.received ?? 0,
      emitted: stage.emitted,
      dropped: r?.queue.dropped ?? 0,
      errors: stage.errors,
      timeMs: state.timing && r ? r.timeMs : null,
      detail: r?.node.describe?.() ?? null,
    };
  });
  const durationMs = performance.now() - started;
  if (state.failure !== null) return { state: 'failed', outputs, stats, error: state.failure, durationMs };
  return { state: state.cancelled ? 'cancelled' : 'completed', outputs, stats, durationMs };
}
