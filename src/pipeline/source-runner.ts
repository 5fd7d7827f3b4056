/**
 * SourceRunner drives one source's item loop (an array, an iterable, or an async iterable such as the input
 * stream, whose ItemGroups are emitted item by item in one turn), waiting on blockers for backpressure and yielding to the event loop every YIELD_EVERY items so
 * signals and I/O get through. Unparsable input lines become item errors of the entry node.
 */
import { ItemGroup } from '../core/item-group.js';
import type { Blocker } from './edge-queue.js';
import { InputParseFailure, type SourceNode } from './node.js';
import type { NodeRunner } from './node-runner.js';
import { Stage, type RunState } from './stage.js';

const YIELD_EVERY = 1024;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Drives one source: its item loop. `entry` is the node input-stream errors are attributed to. */
export class SourceRunner extends Stage {
  constructor(
    id: string,
    typeName: string,
    run: RunState,
    readonly node: SourceNode,
    /** For the implicit input source: the entry node whose errors invalid input lines are. */
    readonly entry: NodeRunner | null,
  ) {
    super(id, typeName, run);
  }

  /** Runs the source's item loop; an error while reading (a file that cannot be read) is its item error. */
  async drive(input: AsyncIterable<unknown> | undefined): Promise<void> {
    try {
      await this.loop(input);
    } catch (e) {
      const b = this.reject(e, undefined, null, 'source');
      if (b !== null) await b.whenReady();
    }
  }

  /** Emits the items of a group in this turn; the last blocker, if any, holds the next one back. */
  private emitGroup(items: readonly unknown[]): Blocker | null {
    let blocked: Blocker | null = null;
    for (let i = 0; i < items.length; i++) {
      if (this.run.stopped) return null;
      const b = this.emit(items[i]);
      if (b !== null) blocked = b;
    }
    return blocked;
  }

  private async loop(input: AsyncIterable<unknown> | undefined): Promise<void> {
    const items = this.node.items(this.node.readsInput ? input : undefined);
    const run = this.run;
    if (Array.isArray(items)) {
      const list = items as readonly unknown[];
      for (let i = 0; i < list.length; i++) {
        if (run.stopped) return;
        const b = this.emit(list[i]);
        if (b !== null) await b.whenReady();
        if ((i & (YIELD_EVERY - 1)) === YIELD_EVERY - 1) await yieldToEventLoop();
      }
      return;
    }
    if (Symbol.asyncIterator in items) {
      let index = 0;
      let sinceYield = 0;
      for await (const v of items) {
        if (run.stopped) return;
        const at = index++;
        let b: Blocker | null;
        if (v instanceof InputParseFailure) {
          const message = `invalid JSON on input line ${v.line}${v.reason !== undefined ? `: ${v.reason}` : ''}`;
          b =
            this.entry !== null
              ? this.entry.rejectArriving(message, v.text)
              : this.reject(new Error(message), v.text, at);
        } else if (v instanceof ItemGroup) {
          b = this.emitGroup(v.items);
        } else {
          b = this.emit(v);
        }
        if (b !== null) await b.whenReady();
        if (++sinceYield === YIELD_EVERY) {
          sinceYield = 0;
          await yieldToEventLoop();
        }
      }
      return;
    }
    let sinceYield = 0;
    for (const v of items as Iterable<unknown>) {
      if (run.stopped) return;
      const b = this.emit(v);
      if (b !== null) await b.whenReady();
      if (++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  }
}

/** The implicit source of a manifest without DataSource: the input stream, fed to every entry node. */
export const inputStreamSource: SourceNode = {
  readsInput: true,
  items: (input) => input ?? [],
};
