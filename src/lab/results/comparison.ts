/**
 * The comparison JSON of a run or of `pitlane compare`, for every suite kind: drawn from the LabReport, so it
 * says what the report says. A kind with a format of its own (the pipelines kind keeps the plans' format) writes
 * that instead.
 */
import type { LabReport } from '../report/model.js';

/**
 * The comparison JSON: the seed's `{comparison: {scenario: {<baseline>_ms, <contestant>_ms, speedup,
 * memory_<baseline>_mb, memory_<contestant>_mb}}, summary: {average_speedup, memory_reduction}}` (with contestants
 * named python and ts this is exactly the seed's shape), extended with intervals, throughput and correctness, the
 * rows skipped on purpose (`<contestant>_skipped`: why) and, when the run recorded it, where its time went
 * (`timing`).
 */
export function comparisonJson(report: LabReport): object {
  const baseline = report.contestants.find((c) => c.baseline)?.name ?? '';
  const comparison: Record<string, Record<string, unknown>> = {};
  const speedups: number[] = [];
  const memory: number[] = [];
  for (const s of report.scenarios) {
    const entry: Record<string, unknown> = { kind: s.model, setting: s.setting };
    for (const r of s.rows) {
      entry[`${r.contestant}_ms`] = r.median_ms;
      entry[`${r.contestant}_p99_ms`] = r.percentiles.find((p) => p.p === 99)?.ms ?? null;
      entry[`${r.contestant}_rps`] = r.throughput_per_s;
      entry[`memory_${r.contestant}_mb`] = r.peak_rss_mb;
      entry[`${r.contestant}_correct`] = r.correct;
      entry[`${r.contestant}_client_saturated`] = r.client_saturated;
      if (r.skipped != null) entry[`${r.contestant}_skipped`] = r.skipped;
    }
    for (const ratio of s.ratios) {
      const key = report.contestants.length > 2 ? `_${ratio.contestant}` : '';
      if (ratio.metric === 'p50') {
        entry[`speedup${key}`] = ratio.factor;
        entry[`speedup${key}_ci95`] = ratio.ci95;
        speedups.push(ratio.factor);
      }
      if (ratio.metric === 'time') {
        entry[`time_ratio${key}`] = ratio.factor;
        entry[`time_ratio${key}_ci95`] = ratio.ci95;
      }
      if (ratio.metric === 'throughput') {
        entry[`throughput_ratio${key}`] = ratio.factor;
        entry[`throughput_ratio${key}_ci95`] = ratio.ci95;
      }
      if (ratio.metric === 'peak_rss') memory.push(1 / ratio.factor);
    }
    comparison[s.name] = entry;
  }
  const geo = (xs: number[]): number | null =>
    xs.length === 0 ? null : Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
  const memRatio = geo(memory);
  return {
    baseline,
    comparison,
    summary: {
      average_speedup: geo(speedups),
      average_kind: 'geometric mean over scenarios of baseline p50 / contestant p50',
      memory_reduction: memRatio === null ? null : 1 - memRatio,
      warnings: report.warnings,
    },
    ...(report.timing != null ? { timing: report.timing } : {}),
  };
}
