/**
 * How closely two embedders agree on the same token sequences: one cosine per sequence between their pooled
 * vectors. The check a quantised or re-implemented model must pass against its reference (test/quantize.test.mjs,
 * bench/quantize-agreement.mjs): per text, not on average, since an average hides the texts that went wrong.
 */
import { cosine } from '../../core/cosine.js';
import type { Embedder } from './embedder.js';

/** Per-sequence cosines between two embedders' vectors, and their low quantiles. */
export interface EmbeddingAgreement {
  /** One cosine per sequence, in input order. */
  readonly cosines: readonly number[];
  readonly min: number;
  /** The 1st percentile (nearest rank). */
  readonly p1: number;
  readonly median: number;
}

/** The value at quantile `q` of ascending `sorted` values (nearest rank); NaN when empty. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** Embeds `sequences` with both embedders, `batchSize` at a time, and compares the vectors text by text. */
export async function embeddingAgreement(
  reference: Embedder,
  candidate: Embedder,
  sequences: readonly Int32Array[],
  batchSize = 32,
): Promise<EmbeddingAgreement> {
  const cosines: number[] = [];
  for (let at = 0; at < sequences.length; at += batchSize) {
    const batch = sequences.slice(at, at + batchSize);
    const [want, got] = [await reference.embed(batch), await candidate.embed(batch)];
    want.forEach((w, i) => cosines.push(cosine(w, got[i] ?? [])));
  }
  const sorted = [...cosines].sort((a, b) => a - b);
  return { cosines, min: quantile(sorted, 0), p1: quantile(sorted, 0.01), median: quantile(sorted, 0.5) };
}
