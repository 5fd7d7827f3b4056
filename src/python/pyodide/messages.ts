/**
 * The messages between the main thread (vm.ts) and the thread of the Pyodide VM (pyodide-thread.ts): what the
 * thread starts with, the calls and probes it receives, and its replies. What the main thread writes while the
 * thread is busy goes through the control buffer instead (control-buffer.ts).
 */

/** What the process's Pyodide load cost, for `--stats` and benchmark reports. */
export interface PyodideLoadInfo {
  /** Wall time of the load, from the first `start()` to a usable interpreter (helper module installed). */
  readonly loadMs: number;
  /** The Pyodide version (e.g. `314.0.7`). */
  readonly version: string;
  /** `snapshot`: restored from the cached memory snapshot; `cold`: Python bootstrapped from scratch. */
  readonly source: 'snapshot' | 'cold';
}

/** What the VM's thread starts with. */
export interface VmWorkerData {
  /** The control buffer (control-buffer.ts). */
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
