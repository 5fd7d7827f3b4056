/**
 * The NodeContext a node type's `create` receives, and the run's abort signal behind it, made only when a node
 * asks for it. Aborting it (at cancellation or failure) is how in-flight node work learns that the run stops.
 */
import type { NodeContext, NodeRunOptions } from './node.js';

/**
 * An AbortController made only when a node asks for its signal: creating one costs more than running a small
 * pipeline, and most nodes never look at it.
 */
export class LazyAbort {
  private controller: AbortController | null = null;
  private aborted = false;

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort();
  }
}

/** The NodeContext handed to `create`; the signal is made on first access. */
export class CreateContext implements NodeContext<unknown> {
  constructor(
    readonly id: string,
    readonly params: unknown,
    readonly baseDir: string,
    readonly runtimeHint: string | undefined,
    readonly options: NodeRunOptions,
    private readonly abort: LazyAbort,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }
}
