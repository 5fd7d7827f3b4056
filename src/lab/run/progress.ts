/**
 * Progress events, one type for every suite kind: the runner emits them, the CLI draws them (one rewritten line
 * on a terminal, plain lines otherwise). A kind with its own load tool maps its ticks onto `load` here, so the
 * display knows nothing of kinds.
 */

/** A load generator's tick: units done (requests, images), the total when known, the rate, the errors so far. */
export interface LoadTick {
  readonly done: number;
  /** Total when known, else null. */
  readonly total: number | null;
  readonly ratePerS: number;
  readonly errors: number;
}

/** What a suite run reports while it runs. */
export type SuiteProgress =
  /** A phase begins (starting a contestant, checking answers, a cold start): one line. */
  | { readonly kind: 'phase'; readonly text: string }
  /** Something the user must see that is not progress (a contestant left a process behind): a line of its own. */
  | { readonly kind: 'warning'; readonly text: string }
  /** A measurement step begins (`done` of `total`); the label `done` or `interrupted` ends the run. */
  | { readonly kind: 'step'; readonly done: number; readonly total: number; readonly label: string }
  /** The load of the current step. */
  | { readonly kind: 'load'; readonly label: string; readonly progress: LoadTick };
