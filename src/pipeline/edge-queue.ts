/**
 * EdgeQueue: the bounded input queue of a node (items from all its incoming edges, in arrival order).
 * A ring buffer, so shift is O(1). Under policy `block` the queue accepts the item that fills it and then
 * reports itself as the blocker the producer must wait on (like a Writable's highWaterMark); under the drop
 * policies it never blocks and counts what it drops.
 */
import type { QueuePolicy } from './manifest.js';

/** Something a producer waits on before sending more. */
export interface Blocker {
  /** Resolves when the producer may send again. */
  whenReady(): Promise<void>;
}

const EMPTY: unknown[] = [];

export class EdgeQueue implements Blocker {
  private buf: unknown[];
  private head = 0;
  private len = 0;
  private waiters: (() => void)[] = [];
  /** Items dropped by a drop policy. */
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly policy: QueuePolicy,
  ) {
    // Allocated on first use: a node whose items go straight through never needs it.
    this.buf = EMPTY;
  }

  get length(): number {
    return this.len;
  }

  /** True when a producer should wait before sending more (policy `block` only). */
  get full(): boolean {
    return this.len >= this.capacity;
  }

  /** Adds an item; returns this queue as a blocker when the producer must now wait, else null. */
  push(item: unknown): Blocker | null {
    if (this.len >= this.capacity) {
      if (this.policy === 'drop_newest') {
        this.dropped++;
        return null;
      }
      if (this.policy === 'drop_oldest') {
        this.shift();
        this.dropped++;
      }
    }
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) % this.buf.length] = item;
    this.len++;
    return this.policy === 'block' && this.len >= this.capacity ? this : null;
  }

  /** The oldest item, left in place (undefined when empty). */
  peek(): unknown {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  /** Removes the oldest item (undefined when empty) and wakes producers once there is room. */
  shift(): unknown {
    if (this.len === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.len--;
    if (this.waiters.length > 0 && this.len < this.capacity) this.wake();
    return item;
  }

  /** Empties the queue, counting the discarded items as dropped, and wakes producers. */
  clear(): void {
    this.dropped += this.len;
    this.buf = EMPTY;
    this.head = 0;
    this.len = 0;
    this.wake();
  }

  whenReady(): Promise<void> {
    if (this.len < this.capacity) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private grow(): void {
    const next = new Array<unknown>(Math.max(8, this.buf.length * 2));
    for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
