/**
 * ErrorRecord: an item error under error policy `skip`, as a value. It travels along the first outgoing
 * connection of the node that raised it, unprocessed, to a terminal node, and reaches the output as
 * `{"$error": {...}}` in input order.
 */

/** An item error under policy `skip`; travels to the output unprocessed. */
export class ErrorRecord {
  constructor(
    readonly node: string,
    readonly nodeType: string,
    readonly itemIndex: number | null,
    readonly message: string,
    readonly item: unknown,
    /** For errors raised by Python code: the traceback of the node's own frames. */
    readonly traceback?: string,
  ) {}

  /** The record as it appears in the output stream. */
  toJSON(): { $error: Record<string, unknown> } {
    const e: Record<string, unknown> = {
      node: this.node,
      node_type: this.nodeType,
      item_index: this.itemIndex,
      message: this.message,
    };
    if (this.item !== undefined) e.item = this.item;
    if (this.traceback !== undefined) e.traceback = this.traceback;
    return { $error: e };
  }
}
