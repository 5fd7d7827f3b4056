/**
 * The per-item timeout of a CPython worker. The worker stores the sequence number and start time of the call it is
 * running in its control file (control-file.ts); this watch reads it only when its timer fires: a reading that has
 * not changed since the previous wake-up, and whose call began at least a timeout ago, is a hung item. A reading
 * seen for the first time re-arms the timer for the moment that call reaches its timeout, so detection comes
 * within ~1 ms of it. Without a call running (the worker between items, or gone quiet), the same reading over a
 * whole timeout means the worker stopped answering. Without a control file, a request as a whole gets one timeout
 * per item.
 */
import { readControl } from './control-file.js';

/** What the watch reports to its worker. */
export interface ItemWatchEvents {
  /** Whether a request still waits for results (the watch does nothing otherwise). */
  readonly waiting: () => boolean;
  /** A call ran over its timeout: `scope` is 'an item', or 'a batch' without a control file. */
  readonly timedOut: (scope: 'an item' | 'a batch') => void;
  /** No call was running and the control words did not move for a whole timeout. */
  readonly silent: () => void;
}

export class ItemWatch {
  private readonly timeoutNs: bigint;
  private timer: NodeJS.Timeout | null = null;
  private lastSeen = { seq: -1n, start: -1n, at: 0n };
  /** Our hrtime minus the worker's monotonic clock, measured when it was ready. */
  clockOffset = 0n;

  constructor(
    private readonly control: { fd: number; buffer: Buffer } | null,
    private readonly timeoutMs: number,
    private readonly events: ItemWatchEvents,
  ) {
    this.timeoutNs = BigInt(Math.round(timeoutMs * 1e6));
  }

  /** A request of `count` calls was sent to the worker. */
  start(count: number): void {
    this.lastSeen = { seq: -1n, start: -1n, at: 0n };
    this.arm(this.timeoutMs * (this.control === null ? count : 1));
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The worker's control words, or null without a control file. */
  read(): { seq: bigint; start: bigint } | null {
    return this.control === null ? null : readControl(this.control);
  }

  private arm(delayMs: number): void {
    this.stop();
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(delayMs)));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    if (!this.events.waiting()) return;
    const now = process.hrtime.bigint();
    const reading = this.read();
    if (reading === null) {
      this.events.timedOut('a batch');
      return;
    }
    const same = reading.seq === this.lastSeen.seq && reading.start === this.lastSeen.start;
    if (!same) this.lastSeen = { ...reading, at: now };
    if (reading.start !== 0n) {
      const deadline = reading.start + this.clockOffset + this.timeoutNs;
      if (same && now >= deadline) {
        this.events.timedOut('an item');
        return;
      }
      this.arm(Number(deadline - now) / 1e6);
      return;
    }
    if (same && now - this.lastSeen.at >= this.timeoutNs) {
      this.events.silent();
      return;
    }
    this.arm(this.timeoutMs);
  };
}
