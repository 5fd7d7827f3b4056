/**
 * Graph planning on node indices: successors, topological order, cycles and reachability. Used by
 * validation (to report problems) and by the executor (to wire runners and order the flush).
 */

export interface GraphPlan {
  /** successors[i]: indices of the nodes node i sends items to, in connection order. */
  readonly successors: readonly (readonly number[])[];
  /** predecessors[i]: indices of the nodes that send items to node i. */
  readonly predecessors: readonly (readonly number[])[];
  /** All nodes in topological order, or null when the graph has a cycle. */
  readonly order: readonly number[] | null;
  /** Nodes on (or behind) a cycle: left over by Kahn's algorithm, in index order. */
  readonly cyclic: readonly number[];
}

/** Plans a graph of `count` nodes and edges given as [from, to] index pairs. */
export function planGraph(count: number, edges: readonly (readonly [number, number])[]): GraphPlan {
  const successors: number[][] = Array.from({ length: count }, () => []);
  const predecessors: number[][] = Array.from({ length: count }, () => []);
  for (const [from, to] of edges) {
    successors[from]?.push(to);
    predecessors[to]?.push(from);
  }
  const indegree = predecessors.map((p) => p.length);
  const ready: number[] = [];
  for (let i = 0; i < count; i++) if (indegree[i] === 0) ready.push(i);
  const order: number[] = [];
  for (let head = 0; head < ready.length; head++) {
    const n = ready[head] as number;
    order.push(n);
    for (const s of successors[n] ?? []) {
      const d = (indegree[s] as number) - 1;
      indegree[s] = d;
      if (d === 0) ready.push(s);
    }
  }
  const placed = new Set(order);
  const cyclic: number[] = [];
  for (let i = 0; i < count; i++) if (!placed.has(i)) cyclic.push(i);
  return { successors, predecessors, order: cyclic.length === 0 ? order : null, cyclic };
}

/** Finds one cycle among `candidates` (for a readable message): node indices in edge order, first repeated. */
export function findCycle(plan: GraphPlan, candidates: readonly number[]): number[] | null {
  const inCandidates = new Set(candidates);
  const state = new Map<number, 1 | 2>(); // 1: on the stack, 2: done
  const stack: number[] = [];
  const visit = (n: number): number[] | null => {
    state.set(n, 1);
    stack.push(n);
    for (const s of plan.successors[n] ?? []) {
      if (!inCandidates.has(s)) continue;
      const st = state.get(s);
      if (st === 1) return [...stack.slice(stack.indexOf(s)), s];
      if (st === undefined) {
        const found = visit(s);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 2);
    return null;
  };
  for (const c of candidates) {
    if (state.has(c)) continue;
    const found = visit(c);
    if (found) return found;
  }
  return null;
}

/** Indices reachable from `starts` (included). */
export function reachableFrom(plan: GraphPlan, starts: readonly number[]): Set<number> {
  const seen = new Set<number>(starts);
  const todo = [...starts];
  while (todo.length > 0) {
    const n = todo.pop() as number;
    for (const s of plan.successors[n] ?? []) {
      if (!seen.has(s)) {
        seen.add(s);
        todo.push(s);
      }
    }
  }
  return seen;
}
