/** The defaults of an HTTP suite and the bounds of what loading one reads, in one place. */

/** Defaults of a suite, in one place. */
export const SUITE_DEFAULTS = Object.freeze({
  repeats: 3,
  warmupRequests: 100,
  coldStartRuns: 3,
  correctnessSample: 20,
  ceilingTimeoutMs: 600_000,
  expectStatus: 200,
  requestTimeoutMs: 30_000,
  minCosine: 0.999,
  tolerance: 1e-6,
  maxInFlight: 1000,
  seed: 42,
  stabilityWindowMs: 5000,
  stabilityWindows: 3,
  stabilityTolerance: 0.1,
  stabilityMaxWindows: 10,
  skipOpenLoopAboveCapacity: false,
});

/** Largest body file (JSONL) a suite may name: far above any real one, and a bound on what loading reads. */
export const MAX_BODY_FILE_BYTES = 256 * 1024 * 1024;
