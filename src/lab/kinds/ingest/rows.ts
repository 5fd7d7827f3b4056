/**
 * The rows of an ingest report, one builder per kind of scenario: a load-tool scenario (throughput, per-batch
 * latency, memory and CPU of the contestant's tree), the preprocessing probe, the process overhead (spawn →
 * healthy, idle RSS) and a shared service's cost. Each row comes with its figures per repeat, which the shared
 * ratio code (results/ratios.ts) pairs against the baseline's.
 */
import type { ReportPercentile, ReportRow, ReportSeries } from '../../report/model.js';
import type { RatioSide, RepeatFigures } from '../../results/ratios.js';
import { median } from '../../stats.js';
import type { IngestRun, PreprocessRun } from './runner.js';

/** A row with its figures per repeat. */
export interface RowBuild extends RatioSide {
  readonly row: ReportRow;
}

export function percentilesOf(values: readonly number[]): ReportPercentile[] {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  return [50, 90, 95, 99, 100].map((p) => {
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    const beyond = sorted.length - rank;
    return { p, ms: sorted[rank] ?? 0, samples_beyond: beyond, thin: beyond < 10 };
  });
}

function seriesOf(run: IngestRun | undefined): ReportSeries | null {
  const s = run?.resources?.series;
  if (s === undefined || s.length < 2) return null;
  const t: number[] = [];
  const rss: number[] = [];
  const cpu: number[] = [];
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1];
    const b = s[i];
    if (a === undefined || b === undefined) continue;
    const dt = (b.tMs - a.tMs) / 1000;
    t.push(Math.round(b.tMs) / 1000);
    rss.push(Math.round((b.rssKb / 1024) * 10) / 10);
    cpu.push(dt > 0 ? Math.round(((b.cpuSeconds - a.cpuSeconds) / dt) * 1000) / 10 : 0);
  }
  return { t_s: t, rss_mb: rss, cpu_percent: cpu };
}

export const medianOrNull = (xs: readonly (number | null | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && x !== undefined && Number.isFinite(x));
  return v.length > 0 ? median(v) : null;
};

export const emptyRow = (contestant: string, failure: string | null): ReportRow => ({
  contestant,
  correct: null,
  client_saturated: false,
  failure,
  throughput_per_s: null,
  median_ms: null,
  mad_ms: null,
  percentiles: [],
  response_percentiles: null,
  count: 0,
  error_rate: null,
  errors: {},
  dropped: null,
  peak_rss_mb: null,
  mean_rss_mb: null,
  cpu_s_per_request: null,
  ns_per_item: null,
  series: null,
  thresholds: [],
});

/** A row that did not run: skipped (with why) or the given reason. */
export function notRun(name: string, skipped: string | undefined, otherwise: string): RowBuild {
  return { row: emptyRow(name, skipped !== undefined ? `skipped: ${skipped}` : otherwise), perRepeat: [] };
}

/** One contestant's row in a load-tool scenario, from its runs (any order). */
export function loadRow(name: string, unsorted: readonly IngestRun[], correct: boolean | null): RowBuild {
  const runs = [...unsorted].sort((a, b) => a.repeat - b.repeat);
  const benches = runs.flatMap((r) => (r.bench !== null ? [r.bench] : []));
  const latencies = benches.flatMap((b) => [...b.batch_latencies_ms]);
  const processed = benches.reduce((n, b) => n + b.images.processed, 0);
  const sent = benches.reduce((n, b) => n + b.images.answered + b.images.in_failed_batches, 0);
  const errors: Record<string, number> = {};
  for (const b of benches) {
    for (const [k, v] of Object.entries(b.errors_by_reason)) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(b.failed_batches_by_cause))
      errors[`batch ${k}`] = (errors[`batch ${k}`] ?? 0) + v;
  }
  const perRepeat: RepeatFigures[] = runs.map((r) => {
    const b = r.bench;
    const sorted = b !== null ? [...b.batch_latencies_ms].sort((x, y) => x - y) : [];
    return {
      repeat: r.repeat,
      values: {
        throughput: b !== null && r.failure === null ? b.images_per_s : null,
        p50: sorted.length > 0 ? median(sorted) : null,
        peak_rss: r.resources !== null && r.resources.samples > 0 ? r.resources.peakRssKb / 1024 : null,
        cpu_per_request:
          r.resources !== null && b !== null && b.images.processed > 0
            ? r.resources.cpuSeconds / b.images.processed
            : null,
        time: null,
      },
    };
  });
  const failure = runs.find((r) => r.failure !== null)?.failure ?? null;
  const row: ReportRow = {
    ...emptyRow(name, failure),
    correct,
    throughput_per_s: medianOrNull(perRepeat.map((p) => p.values.throughput)),
    median_ms: latencies.length > 0 ? median(latencies) : null,
    mad_ms: null,
    percentiles: percentilesOf(latencies),
    count: processed,
    error_rate: sent > 0 ? 1 - processed / sent : null,
    errors,
    peak_rss_mb: medianOrNull(perRepeat.map((p) => p.values.peak_rss)),
    mean_rss_mb: medianOrNull(
      runs.map((r) =>
        r.resources !== null && r.resources.samples > 0 ? r.resources.meanRssKb / 1024 : null,
      ),
    ),
    cpu_s_per_request: medianOrNull(perRepeat.map((p) => p.values.cpu_per_request)),
    series: seriesOf(runs[0]),
  };
  return { row, perRepeat };
}

/** One contestant's row of the preprocessing probe, from its probes (at least one). */
export function preprocessRow(name: string, unsorted: readonly PreprocessRun[]): RowBuild {
  const runs = [...unsorted].sort((a, b) => a.repeat - b.repeat);
  const perRepeat: RepeatFigures[] = runs.map((p) => ({
    repeat: p.repeat,
    values: {
      throughput: null,
      p50: null,
      peak_rss: null,
      cpu_per_request: p.cpuMsPerImage !== null ? p.cpuMsPerImage / 1000 : null,
      time: p.wallMsMedian,
    },
  }));
  return {
    row: {
      ...emptyRow(name, runs.find((p) => p.failure !== null)?.failure ?? null),
      median_ms: medianOrNull(runs.map((p) => p.wallMsMedian)),
      count: runs.reduce((n, p) => n + (p.images ?? 0), 0),
      cpu_s_per_request: medianOrNull(perRepeat.map((p) => p.values.cpu_per_request)),
    },
    perRepeat,
  };
}

/**
 * One contestant's process-overhead row, from the runs that started (at least one). Every run of every scenario
 * is a start, so starts are paired in the order they happened (the n-th against the baseline's n-th), not by
 * repeat number, which the scenarios share.
 */
export function overheadRow(name: string, runs: readonly IngestRun[]): RowBuild {
  const perRepeat: RepeatFigures[] = runs.map((r, i) => ({
    repeat: i,
    values: {
      throughput: null,
      p50: null,
      peak_rss: r.idleRssMb,
      cpu_per_request: null,
      time: r.toHealthyMs,
    },
  }));
  return {
    row: {
      ...emptyRow(name, null),
      median_ms: medianOrNull(runs.map((r) => r.toHealthyMs)),
      percentiles: percentilesOf(runs.flatMap((r) => (r.toHealthyMs !== null ? [r.toHealthyMs] : []))),
      count: runs.length,
      peak_rss_mb: medianOrNull(runs.map((r) => r.idleRssMb)),
      mean_rss_mb: medianOrNull(runs.map((r) => r.idleRssMb)),
    },
    perRepeat,
  };
}

/** A shared service's cost during one contestant's runs: CPU per image ingested, peak RSS. */
export function serviceRow(name: string, service: string, runs: readonly IngestRun[]): ReportRow {
  const perImage = runs.flatMap((r) => {
    const s = r.services[service];
    const n = r.bench?.images.processed ?? 0;
    return s !== undefined && n > 0 ? [s.cpuSeconds / n] : [];
  });
  return {
    ...emptyRow(name, runs.length === 0 ? 'not run' : null),
    cpu_s_per_request: perImage.length > 0 ? median(perImage) : null,
    peak_rss_mb: medianOrNull(
      runs.map((r) => {
        const s = r.services[service];
        return s !== undefined ? s.peakRssKb / 1024 : null;
      }),
    ),
    count: runs.reduce((n, r) => n + (r.bench?.images.processed ?? 0), 0),
  };
}
