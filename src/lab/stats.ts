/**
 * Statistics for comparisons (BENCHMARKING.md rules 9 and 12): medians with spread (MAD, IQR), ratios with a
 * bootstrap confidence interval over paired repeats, and geometric means for suite-level figures. The RNG is
 * seeded, so the same samples always give the same interval.
 */
import { mulberry32 } from '../core/random.js';

/** Quantile by linear interpolation between closest ranks (R type 7); q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median absolute deviation (unscaled). */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/** Summary of a sample set: what reports print. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly mad: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    mad: mad(values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
  };
}

/** Geometric mean of positive numbers (NaN if any is not positive). */
export function geometricMean(values: readonly number[]): number {
  if (values.length === 0 || values.some((v) => !(v > 0))) return NaN;
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

/** mulberry32 (core/random.ts): a small, fast, seeded PRNG returning floats in [0, 1). */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** A ratio estimate with its bootstrap interval. */
export interface RatioEstimate {
  /** median(numerator) / median(denominator) over all repeats. */
  readonly ratio: number;
  /** 95% percentile-bootstrap interval. */
  readonly ci95: readonly [number, number];
  /** Paired repeats behind it. */
  readonly repeats: number;
}

/**
 * Ratio of medians, numerator/denominator, with a 95% bootstrap interval that resamples the paired repeats
 * (each repeat contributes its own per-repeat median of each side), as BENCHMARKING.md rule 9 asks.
 */
export function ratioOfMedians(
  numerator: readonly (readonly number[])[],
  denominator: readonly (readonly number[])[],
  options: { iterations?: number; seed?: number } = {},
): RatioEstimate {
  const pairs = Math.min(numerator.length, denominator.length);
  const numMed = numerator.slice(0, pairs).map((s) => median(s));
  const denMed = denominator.slice(0, pairs).map((s) => median(s));
  const ratio = median(numMed) / median(denMed);
  if (pairs < 2) return { ratio, ci95: [ratio, ratio], repeats: pairs };
  const rand = seededRandom(options.seed ?? 0x5eed);
  const iterations = options.iterations ?? 4000;
  const ratios = new Float64Array(iterations);
  const a = new Array<number>(pairs);
  const b = new Array<number>(pairs);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < pairs; i++) {
      const k = Math.floor(rand() * pairs);
      a[i] = numMed[k] as number;
      b[i] = denMed[k] as number;
    }
    ratios[it] = median(a) / median(b);
  }
  const sorted = Array.from(ratios).sort((x, y) => x - y);
  return { ratio, ci95: [quantile(sorted, 0.025), quantile(sorted, 0.975)], repeats: pairs };
}

/**
 * Geometric mean of several ratios of medians, with a 95% bootstrap interval: each iteration resamples the
 * repeats of every scenario independently and takes the geometric mean of the resampled ratios.
 */
export function geometricMeanOfRatios(
  scenarios: readonly {
    numerator: readonly (readonly number[])[];
    denominator: readonly (readonly number[])[];
  }[],
  options: { iterations?: number; seed?: number } = {},
): { readonly ratio: number; readonly ci95: readonly [number, number] } {
  const meds = scenarios.map((s) => {
    const pairs = Math.min(s.numerator.length, s.denominator.length);
    return {
      num: s.numerator.slice(0, pairs).map((x) => median(x)),
      den: s.denominator.slice(0, pairs).map((x) => median(x)),
      pairs,
    };
  });
  const ratio = geometricMean(meds.map((m) => median(m.num) / median(m.den)));
  const rand = seededRandom(options.seed ?? 0x9e0);
  const iterations = options.iterations ?? 4000;
  const out: number[] = [];
  for (let it = 0; it < iterations; it++) {
    const ratios = meds.map((m) => {
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < m.pairs; i++) {
        const k = Math.floor(rand() * m.pairs);
        a.push(m.num[k] as number);
        b.push(m.den[k] as number);
      }
      return median(a) / median(b);
    });
    out.push(geometricMean(ratios));
  }
  return { ratio, ci95: [quantile(out, 0.025), quantile(out, 0.975)] };
}
