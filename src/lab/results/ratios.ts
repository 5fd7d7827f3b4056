/**
 * Ratios against the baseline, the one way every suite kind computes them: per metric, the ratio of medians over
 * the repeats both rows measured (paired by repeat number), with a 95% bootstrap interval that resamples those
 * pairs (stats.ts `ratioOfMedians`), oriented so that > 1 favours the contestant. A row that failed, gave
 * incorrect answers or saturated the load generator never counts: no ratio is given for it or against it. A
 * metric that either row did not measure in one of the paired repeats is left out rather than guessed.
 */
import type { ReportRatio, ReportRow } from '../report/model.js';
import { ratioOfMedians, type RatioEstimate } from '../stats.js';

/** What a ratio compares. */
export type RatioMetric = ReportRatio['metric'];

/** A metric to compare, and which way is better. */
export interface RatioMetricSpec {
  readonly metric: RatioMetric;
  /** Throughput: higher is better (contestant / baseline); times, memory, CPU: lower is (baseline / contestant). */
  readonly higherIsBetter: boolean;
}

/** One repeat's figures of a row, by metric (null or absent: not measured in that repeat). */
export interface RepeatFigures {
  /** The repeat number (0-based), the key repeats are paired by. */
  readonly repeat: number;
  readonly values: Readonly<Partial<Record<RatioMetric, number | null>>>;
}

/** One side of a comparison: the row as the report shows it, and its figures per repeat. */
export interface RatioSide {
  readonly row: Pick<ReportRow, 'failure' | 'correct' | 'client_saturated'>;
  readonly perRepeat: readonly RepeatFigures[];
}

/** Whether a row may count in comparisons: it ran, its answers were not found wrong, its client kept up. */
export function comparable(row: RatioSide['row']): boolean {
  return row.failure === null && row.correct !== false && !row.client_saturated;
}

/**
 * The ratio of one metric over paired repeats (base and other by repeat number), oriented so that > 1 favours
 * `other`; null when no repeat pairs up, a paired repeat lacks the figure, or the ratio is not finite.
 */
export function pairedRatio(
  base: readonly RepeatFigures[],
  other: readonly RepeatFigures[],
  metric: RatioMetricSpec,
): RatioEstimate | null {
  const byRepeat = new Map(other.map((r) => [r.repeat, r]));
  const a: number[] = [];
  const b: number[] = [];
  for (const x of [...base].sort((p, q) => p.repeat - q.repeat)) {
    const y = byRepeat.get(x.repeat);
    if (y === undefined) continue;
    const va = x.values[metric.metric];
    const vb = y.values[metric.metric];
    if (va === null || va === undefined || vb === null || vb === undefined) return null;
    a.push(va);
    b.push(vb);
  }
  if (a.length === 0) return null;
  const av = a.map((x) => [x]);
  const bv = b.map((x) => [x]);
  const r = metric.higherIsBetter ? ratioOfMedians(bv, av) : ratioOfMedians(av, bv);
  return Number.isFinite(r.ratio) ? r : null;
}

/** The ratios of a contestant's row against the baseline's, for each metric both measured. */
export function pairedRatios(
  base: RatioSide,
  other: RatioSide,
  contestant: string,
  baseline: string,
  metrics: readonly RatioMetricSpec[],
): ReportRatio[] {
  if (!comparable(base.row) || !comparable(other.row)) return [];
  return metrics.flatMap((m) => {
    const r = pairedRatio(base.perRepeat, other.perRepeat, m);
    return r === null
      ? []
      : [{ contestant, baseline, metric: m.metric, factor: r.ratio, ci95: r.ci95, repeats: r.repeats }];
  });
}

/** The ratios of every other row against the baseline's row, in the order given. */
export function ratiosAgainstBaseline(
  rows: ReadonlyMap<string, RatioSide>,
  baseline: string,
  metrics: readonly RatioMetricSpec[],
): ReportRatio[] {
  const base = rows.get(baseline);
  if (base === undefined) return [];
  return [...rows].flatMap(([name, side]) =>
    name === baseline ? [] : pairedRatios(base, side, name, baseline, metrics),
  );
}
