/**
 * What every stage of a running graph shares: the run's state (policy, timing, the first failure, stopped and
 * cancelled flags) and the routing of a stage's outputs and item errors: each output goes to the pipeline
 * output (at an output node) and to every successor; an item error becomes an ErrorRecord passed along the
 * first connection (policy `skip`) or the run's failure (policy `fail`).
 */
import { ItemError, NodeFailedError, toError } from '../core/errors.js';
import type { Blocker } from './edge-queue.js';
import { ErrorRecord } from './error-record.js';
import type { ErrorPolicy } from './manifest.js';
import type { OutputSink } from './run-result.js';

/** A stage that takes items from its predecessors (a NodeRunner). */
export interface Successor {
  /** Takes one item. Returns a Blocker when the producer must wait before sending more. */
  push(item: unknown): Blocker | null;
  /** Takes an error record passing through. */
  acceptError(record: ErrorRecord): Blocker | null;
}

/** What runners share: the run's policy and its failure/stop state. */
export class RunState {
  stopped = false;
  cancelled = false;
  failure: Error | null = null;
  constructor(
    readonly policy: ErrorPolicy,
    readonly timing: boolean,
    readonly stopSources: () => void,
  ) {}

  fail(error: Error): void {
    if (this.failure === null) this.failure = error;
    this.stopped = true;
    this.stopSources();
  }
}

/** A stage of the graph that outputs items: a source or a node. */
export abstract class Stage {
  next: Successor[] = [];
  firstNext: Successor | null = null;
  output: OutputSink | null = null;
  emitted = 0;
  errors = 0;

  constructor(
    readonly id: string,
    readonly typeName: string,
    protected readonly run: RunState,
  ) {}

  /** Sends one output to the pipeline output (if this is an output node) and to every successor. */
  emit(value: unknown): Blocker | null {
    this.emitted++;
    let blocked: Blocker | null = null;
    if (this.output !== null) {
      try {
        blocked = this.output(value, this.id) ?? null;
      } catch (e) {
        // The output cannot take this value (it cannot be written as JSON): the emitting node's item error.
        return this.reject(e, undefined, null);
      }
    }
    const next = this.next;
    for (let i = 0; i < next.length; i++) {
      const b = (next[i] as Successor).push(value);
      if (b !== null) blocked = b;
    }
    return blocked;
  }

  /** Sends an error record on: along the first connection, or to the output at a terminal node. */
  passError(record: ErrorRecord): Blocker | null {
    if (this.firstNext !== null) return this.firstNext.acceptError(record);
    return this.output?.(record.toJSON(), this.id) ?? null;
  }

  /** Handles an item error raised by this stage according to the policy. */
  reject(
    thrown: unknown,
    item: unknown,
    index: number | null,
    phase: 'flush' | 'source' = 'flush',
  ): Blocker | null {
    this.errors++;
    const message = toError(thrown).message;
    if (this.run.policy === 'fail' && this.run.cancelled && thrown instanceof ItemError && thrown.cancelled) {
      return null; // interrupted by the cancellation, not failed: the run ends as cancelled (exit 130)
    }
    if (this.run.policy === 'skip') {
      const tb = (thrown as { traceback?: unknown } | null)?.traceback;
      return this.passError(
        new ErrorRecord(
          this.id,
          this.typeName,
          index,
          message,
          item,
          typeof tb === 'string' ? tb : undefined,
        ),
      );
    }
    this.run.fail(new NodeFailedError(this.id, this.typeName, index, item, message, thrown, phase));
    this.die();
    return null;
  }

  protected die(): void {
    // Sources simply stop (run.stopped); nodes also stop taking input.
  }
}
