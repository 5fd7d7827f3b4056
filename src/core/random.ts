/**
 * The one seeded pseudo-random generator of pitlane (tests, fixtures, bootstrap resampling): the same seed
 * always gives the same sequence, on every machine.
 */

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
