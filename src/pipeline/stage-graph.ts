/**
 * Wiring a run: one runner per manifest node (a SourceRunner for sources, a NodeRunner for the rest), each
 * created through its node type with a CreateContext, connected along the plan's edges, with the output sink on
 * the output nodes; the implicit input-stream source when the manifest has none; and the sync-depth boundaries
 * that keep a synchronous cascade down a long chain off the stack's limit.
 */
import { CreateContext, type LazyAbort } from './create-context.js';
import type { Manifest } from './manifest.js';
import type { NodeRunOptions, PipelineNode, SourceNode } from './node.js';
import { NodeRunner } from './node-runner.js';
import type { OutputSink } from './run-result.js';
import { SourceRunner, inputStreamSource } from './source-runner.js';
import type { RunState, Stage } from './stage.js';

/** The runners of a run, by manifest node index (runners: null at sources), and the sources to drive. */
export interface StageGraph {
  readonly stages: readonly Stage[];
  readonly runners: readonly (NodeRunner | null)[];
  readonly sources: readonly SourceRunner[];
}

/** Graph levels between two nodes that take their items asynchronously (NodeRunner.boundary). */
const SYNC_DEPTH_LIMIT = 128;

/** Marks the runners on every SYNC_DEPTH_LIMIT-th level of the graph (longest path from a source) as boundaries. */
function markBoundaries(plan: Manifest['plan'], runners: readonly (NodeRunner | null)[]): void {
  if (plan.order.length <= SYNC_DEPTH_LIMIT) return;
  const level = new Array<number>(plan.order.length).fill(0);
  for (const i of plan.order) {
    const l = level[i] as number;
    for (const j of plan.successors[i] ?? []) if ((level[j] as number) < l + 1) level[j] = l + 1;
    const r = runners[i];
    if (r !== null && r !== undefined && l > 0 && l % SYNC_DEPTH_LIMIT === 0) r.boundary = true;
  }
}

/** Creates every node of the manifest and wires its runner into the graph. */
export function buildStages(
  manifest: Manifest,
  state: RunState,
  sink: OutputSink,
  abort: LazyAbort,
  nodeOptions: NodeRunOptions | undefined,
): StageGraph {
  const { nodes, plan } = manifest;
  const stages: Stage[] = [];
  const runners: (NodeRunner | null)[] = [];
  const sources: SourceRunner[] = [];
  for (const n of nodes) {
    const instance = n.type.create(
      new CreateContext(n.id, n.params, manifest.baseDir, n.runtimeHint, nodeOptions ?? {}, abort),
    );
    if (n.type.role === 'source') {
      const s = new SourceRunner(n.id, n.type.name, state, instance as SourceNode, null);
      sources.push(s);
      stages.push(s);
      runners.push(null);
    } else {
      const r = new NodeRunner(
        n.id,
        n.type.name,
        state,
        instance as PipelineNode,
        n.queueCapacity,
        n.queuePolicy,
      );
      stages.push(r);
      runners.push(r);
    }
  }
  nodes.forEach((n, i) => {
    const stage = stages[i] as Stage;
    stage.next = (plan.successors[i] ?? []).map((s) => runners[s] as NodeRunner);
    stage.firstNext = stage.next[0] ?? null;
    if (n.isOutput) stage.output = sink;
  });
  if (sources.length === 0) {
    const entries = nodes
      .filter((_, i) => (plan.predecessors[i]?.length ?? 0) === 0)
      .map((n) => runners[n.index] as NodeRunner);
    const implicit = new SourceRunner('$input', 'Input', state, inputStreamSource, entries[0] ?? null);
    implicit.next = entries;
    sources.push(implicit);
  }

  markBoundaries(plan, runners);
  return { stages, runners, sources };
}
