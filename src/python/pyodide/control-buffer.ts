/**
 * The control buffer the main thread (vm.ts) and the VM's thread (pyodide-thread.ts) share: a SharedArrayBuffer of
 * Int32 words that the main thread writes while the VM's thread is busy running Python. Word 0 is Pyodide's
 * interrupt buffer (a signal number Pyodide checks between bytecodes); then CONTROL_TARGETS stop requests of four
 * words each (call, item index or -1 for any, STOP_ITEM | STOP_CALL, delivered), call 0 meaning a free slot.
 *
 * Pyodide takes a signal out of word 0 by reading it and then writing 0, not atomically: a signal the main thread
 * stores between the two is lost. A probe costs nothing to lose (the next one asks again), a stop request does: so
 * the Python handler marks a request delivered when it raises it, and the main thread raises the interrupt again,
 * at each watchdog tick, while the request is not delivered (seen in the full test suite under load: an item was
 * left running for the whole grace period because its one interrupt had been lost). The Python helper's
 * signal handlers (src/python/worker/pitlane_pyodide.py) read the stop requests through stopRequests(); they get
 * the signal numbers and STOP_CALL from TypeScript in their setup(), so these constants exist only here.
 */

/** Signal numbers the host writes into the interrupt buffer (any 1..64 works in Pyodide; these are SIGUSR1/2). */
export const PROBE_SIGNAL = 10;
export const INTERRUPT_SIGNAL = 12;
/** Stop requests the control buffer holds at once. */
export const CONTROL_TARGETS = 8;
/** `kind` of a stop request: a timed-out item (KeyboardInterrupt), or a cancelled call (fails the rest too). */
export const STOP_ITEM = 1;
export const STOP_CALL = 2;

const SLOT_WORDS = 4;

export function createControlBuffer(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (1 + SLOT_WORDS * CONTROL_TARGETS)));
}

/** Main thread: asks the running Python code which item it is at (unless another signal is pending). */
export function requestProbe(control: Int32Array): void {
  Atomics.compareExchange(control, 0, 0, PROBE_SIGNAL);
}

/**
 * Main thread: writes a stop request for item `index` (-1: any) of `call` into `slot` (null: the first free one,
 * else slot 0) and raises the interrupt signal. Returns the slot used.
 */
export function writeStopRequest(
  control: Int32Array,
  slot: number | null,
  call: number,
  index: number,
  kind: number,
): number {
  let at = slot;
  if (at === null) {
    at = 0;
    for (let s = 0; s < CONTROL_TARGETS; s++) {
      if (Atomics.load(control, 1 + SLOT_WORDS * s) === 0) {
        at = s;
        break;
      }
    }
  }
  const word = 1 + SLOT_WORDS * at;
  Atomics.store(control, word + 1, index);
  Atomics.store(control, word + 2, kind);
  Atomics.store(control, word + 3, 0);
  Atomics.store(control, word, call);
  Atomics.store(control, 0, INTERRUPT_SIGNAL);
  return at;
}

/** Main thread: raises the interrupt signal again if the stop request in `slot` was not delivered yet. */
export function repeatUndelivered(control: Int32Array, slot: number, call: number): void {
  const word = 1 + SLOT_WORDS * slot;
  if (Atomics.load(control, word) === call && Atomics.load(control, word + 3) === 0) {
    Atomics.store(control, 0, INTERRUPT_SIGNAL);
  }
}

/** Main thread: frees `slot` if it still holds a stop request of `call`. */
export function clearStopRequest(control: Int32Array, slot: number, call: number): void {
  const word = 1 + SLOT_WORDS * slot;
  if (Atomics.load(control, word) === call) Atomics.store(control, word, 0);
}

/** VM's thread: the stop requests the main thread wrote, as flat (call, index, kind) triples. */
export function stopRequests(control: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 1; i < 1 + CONTROL_TARGETS * SLOT_WORDS; i += SLOT_WORDS) {
    const call = Atomics.load(control, i);
    if (call !== 0) out.push(call, Atomics.load(control, i + 1), Atomics.load(control, i + 2));
  }
  return out;
}

/** VM's thread: the stop requests of item `index` of `call` (and of any item of it) were delivered. */
export function markDelivered(control: Int32Array, call: number, index: number): void {
  for (let i = 1; i < 1 + CONTROL_TARGETS * SLOT_WORDS; i += SLOT_WORDS) {
    if (Atomics.load(control, i) !== call) continue;
    const target = Atomics.load(control, i + 1);
    if (target === index || target === -1) Atomics.store(control, i + 3, 1);
  }
}

/** VM's thread: drops a signal left in the buffer (it targeted a call that is no longer running synchronously). */
export function clearSignal(control: Int32Array): void {
  Atomics.store(control, 0, 0);
}
