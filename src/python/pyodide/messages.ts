/**
 * The messages between the main thread (vm.ts) and the thread of the Pyodide VM (pyodide-thread.ts), and the
 * constants both threads and the Python helper (src/python/worker/pitlane_pyodide.py, which receives them in its
 * setup()) share: the signal numbers of Pyodide's interrupt buffer and the layout of the control buffer.
 */

/** Signal numbers the host writes into the interrupt buffer (any 1..64 works in Pyodide; these are SIGUSR1/2). */
export const PROBE_SIGNAL = 10;
export const INTERRUPT_SIGNAL = 12;
/** Stop requests the control buffer holds at once (slots of call, item index or -1, kind). */
export const CONTROL_TARGETS = 8;

/** What the process's Pyodide load cost, for `--stats` and benchmark reports. */
export interface PyodideLoadInfo {
  /** Wall time of the load, from the first `start()` to a usable interpreter (helper module installed). */
  readonly loadMs: number;
  /** The Pyodide version (e.g. `314.0.7`). */
  readonly version: string;
  /** `snapshot`: restored from the cached memory snapshot; `cold`: Python bootstrapped from scratch. */
  readonly source: 'snapshot' | 'cold';
}

/** `kind` of a stop request: a timed-out item (KeyboardInterrupt), or a cancelled call (fails the rest too). */
export const STOP_ITEM = 1;
export const STOP_CALL = 2;

/** What the VM's thread starts with. */
export interface VmWorkerData {
  /**
   * Int32 words: [0] Pyodide's interrupt buffer (a signal number); then CONTROL_TARGETS stop requests of three
   * words each (call, item index or -1 for any, STOP_ITEM | STOP_CALL), call 0 meaning a free slot.
   */
  readonly control: SharedArrayBuffer;
  readonly tag: string;
}

export type VmRequest =
  | {
      readonly kind: 'create';
      readonly call: number;
      readonly key: number;
      readonly code: string;
      readonly fileName: string;
      readonly className: string | null;
      readonly initPayload: string;
      readonly initBlobs: Uint8Array[] | null;
    }
  | {
      readonly kind: 'batch';
      readonly call: number;
      readonly key: number;
      readonly payload: string;
      readonly blobs: Uint8Array[] | null;
    }
  | { readonly kind: 'flush' | 'close'; readonly call: number; readonly key: number }
  | { readonly kind: 'probe' }
  | { readonly kind: 'cancel'; readonly call: number; readonly index: number; readonly stop: boolean };

export type VmReply =
  | { readonly kind: 'ready'; readonly info: PyodideLoadInfo; readonly saving: boolean }
  | { readonly kind: 'saved' }
  | { readonly kind: 'loadError'; readonly message: string }
  | { readonly kind: 'log'; readonly key: number; readonly level: string; readonly message: string }
  /** Flat (call, item index) pairs: items seen running. */
  | { readonly kind: 'progress'; readonly entries: number[] }
  | { readonly kind: 'done'; readonly call: number; readonly value: unknown }
  | { readonly kind: 'failed'; readonly call: number; readonly type: string; readonly message: string };

export type CallRequest = Extract<VmRequest, { call: number }>;
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
