/**
 * Cosine similarity of two vectors, in float64: the one definition the index's brute-force reference search
 * (index/index-fixtures.ts) and the inference tests' embedding checks share. No validation: both vectors are
 * numeric and of the same length, and a zero vector gives NaN (the lab's correctness check, which compares values
 * a contestant printed, has its own checked variant in lab/correctness.ts).
 */

/** Cosine similarity of two vectors of the same length (1: same direction). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}
