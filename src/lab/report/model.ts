/**
 * The report model: what every suite produces (HTTP suites and the pipelines suite alike) and what every
 * renderer consumes (terminal table, Markdown, the self-contained HTML page). One shape, so every report
 * states the same things: what was compared, how, on what, the numbers with their spread and sample counts,
 * ratios with intervals, correctness, and what was not measured (BENCHMARKING.md rule 13).
 *
 * Times are milliseconds, memory MiB, rates per second. `null` means "not measured", never zero.
 */
import type { Environment } from '../environment.js';

/** A ratio between a contestant and the baseline, with its bootstrap interval. */
export interface ReportRatio {
  /** The contestant compared to the baseline. */
  readonly contestant: string;
  readonly baseline: string;
  /** What is compared. */
  readonly metric: 'time' | 'throughput' | 'p50' | 'p99' | 'peak_rss' | 'cpu_per_request';
  /**
   * How many times better the contestant is, oriented so that > 1 is better for it: baseline/contestant for
   * times, memory and CPU; contestant/baseline for throughput.
   */
  readonly factor: number;
  /** 95% bootstrap interval of `factor` over the paired repeats; equal bounds when there was one repeat. */
  readonly ci95: readonly [number, number];
  /** Paired repeats behind it. */
  readonly repeats: number;
}

/** One latency percentile with the number of samples at or above it (thin tails are marked). */
export interface ReportPercentile {
  /** The percentile, 0–100 (50, 90, 95, 99, 99.9, 100 for max). */
  readonly p: number;
  readonly ms: number;
  /** Samples at or beyond this percentile: a p99 of 200 samples stands on 2 of them. */
  readonly samples_beyond: number;
  /** True when fewer than 10 samples stand beyond it: quote with care. */
  readonly thin: boolean;
}

/** A resource time series of one contestant's process tree during one scenario run. */
export interface ReportSeries {
  /** Seconds since the start of the run. */
  readonly t_s: readonly number[];
  readonly rss_mb: readonly number[];
  /** CPU of the whole tree, percent of one core. */
  readonly cpu_percent: readonly number[];
}

/** One contestant's figures in one scenario (pooled over repeats unless stated). */
export interface ReportRow {
  readonly contestant: string;
  /** Outputs agreed with the baseline's (null: not checked). An incorrect row never counts as a win. */
  readonly correct: boolean | null;
  /** The load generator could not keep up: the row is shown but excluded from comparisons. */
  readonly client_saturated: boolean;
  /** Why the row failed (contestant died, health lost ...); its figures are partial or absent. */
  readonly failure: string | null;
  /**
   * Why the row was not measured, on purpose (an open-loop rate above the contestant's closed-loop capacity:
   * "offered 60/s, closed-loop capacity 10.7/s on concurrency_16"): shown, never counted. Absent or null: measured.
   */
  readonly skipped?: string | null;
  /** Requests (or pipeline runs) completed per second; null for scenarios where it does not apply. */
  readonly throughput_per_s: number | null;
  /** Median time per request or per run, with its spread. */
  readonly median_ms: number | null;
  readonly mad_ms: number | null;
  /** Latency percentiles (service time: sent → done). */
  readonly percentiles: readonly ReportPercentile[];
  /** Open loop only: response time (scheduled → done), which includes queueing the server caused. */
  readonly response_percentiles: readonly ReportPercentile[] | null;
  /** Completed samples behind the figures. */
  readonly count: number;
  /** Failed requests / all requests. */
  readonly error_rate: number | null;
  /** Errors by class (connect, timeout, status, body) and by HTTP status. */
  readonly errors: Readonly<Record<string, number>>;
  /** Open loop: requests that could not be issued on time (k6's dropped iterations). */
  readonly dropped: number | null;
  readonly peak_rss_mb: number | null;
  readonly mean_rss_mb: number | null;
  /** CPU-seconds of the contestant's process tree per request (or per item). */
  readonly cpu_s_per_request: number | null;
  /** Per-item cost, for pipeline scenarios. */
  readonly ns_per_item: number | null;
  /** Memory and CPU over time of the first repeat (null when not sampled). */
  readonly series: ReportSeries | null;
  /** Thresholds evaluated on this row. */
  readonly thresholds: readonly {
    readonly expression: string;
    readonly ok: boolean;
    readonly actual: number;
  }[];
}

/** One scenario: its setting and every contestant's row. */
export interface ReportScenario {
  readonly name: string;
  /** One sentence: what the scenario does. */
  readonly description: string;
  /** How load is applied. */
  readonly model: 'closed' | 'open' | 'samples' | 'cold_start' | 'stream' | 'media' | 'live';
  /** Human-readable settings: "concurrency 16, 12000 requests", "2000 req/s poisson for 30 s". */
  readonly setting: string;
  readonly repeats: number;
  readonly rows: readonly ReportRow[];
  /** Ratios of each non-baseline contestant against the baseline. */
  readonly ratios: readonly ReportRatio[];
  /** The suite's ceiling for this scenario (a limit, not a contestant), when it has one. */
  readonly ceiling: ReportCeiling | null;
}

/** A limit measured once beside the contestants (e.g. the raw engine in a loop), with each row's share of it. */
export interface ReportCeiling {
  readonly name: string;
  readonly description: string;
  readonly throughput_per_s: number | null;
  readonly p50_ms: number | null;
  /** Per contestant: throughput / ceiling throughput, and p50 / ceiling p50 (null when either is missing). */
  readonly shares: readonly {
    readonly contestant: string;
    readonly throughput: number | null;
    readonly p50: number | null;
  }[];
}

/** Where the time of a run went: its wall time and each phase's. */
export interface ReportTiming {
  /** Wall time of the whole run, seconds. */
  readonly total_s: number;
  /** In the order they ran. */
  readonly phases: readonly {
    /** "cold starts", "start-up", "correctness", "stopping", or a scenario's or a ceiling's name. */
    readonly name: string;
    readonly kind: 'cold_starts' | 'start_up' | 'correctness' | 'scenario' | 'stopping' | 'ceiling';
    readonly seconds: number;
    /** seconds / total_s. */
    readonly share: number;
    /** Seconds by contestant, where the phase is made of each one's turns (empty otherwise). */
    readonly by_contestant: Readonly<Record<string, number>>;
  }[];
}

/** Cold starts of one contestant over several fresh processes. */
export interface ReportColdStart {
  readonly contestant: string;
  /** Spawn → first healthy answer, one value per fresh process. */
  readonly to_healthy_ms: readonly number[];
  /** Spawn → first correct response. */
  readonly to_first_correct_ms: readonly number[];
}

/** A claim the suite set out to test (e.g. "at least 1.5x the images/s"), with the verdict its figures give. */
export interface ReportHypothesis {
  readonly statement: string;
  readonly scenario: string;
  readonly metric: ReportRatio['metric'];
  readonly contestant: string;
  readonly baseline: string;
  /** The factor the claim needs, oriented so that > 1 favours the contestant. */
  readonly target: number;
  /** The measured ratio (null: not measured, failed or incorrect). */
  readonly measured: {
    readonly factor: number;
    readonly ci95: readonly [number, number];
    readonly repeats: number;
  } | null;
  /**
   * supported: the whole 95% interval is at or above the target; rejected: the whole interval is below it;
   * inconclusive: the interval straddles it; not_measured: no comparable figures. With one repeat there is no
   * interval and the point estimate decides (the note says so).
   */
  readonly verdict: 'supported' | 'rejected' | 'inconclusive' | 'not_measured';
  readonly note: string;
}

/** The whole report. */
export interface LabReport {
  readonly title: string;
  /** Suite name (file name without extension, or `pipelines`). */
  readonly suite: string;
  /** One paragraph: what was compared, against what, why. */
  readonly summary: string;
  /** Bullet points: how it was measured. */
  readonly method: readonly string[];
  /** Bullet points: what this report does not measure. */
  readonly not_measured: readonly string[];
  readonly environment: Environment;
  readonly generated_at: string;
  readonly contestants: readonly {
    readonly name: string;
    readonly baseline: boolean;
    /** The command line, or the URL of an already-running service. */
    readonly how: string;
    /** Settings recorded for comparison (threads, workers, batch size ...). */
    readonly settings: Readonly<Record<string, unknown>>;
    /** False for contestants given as URLs: their memory and CPU were not sampled. */
    readonly resources_sampled: boolean;
  }[];
  /** Settings whose values differ between contestants: a comparison to read with care. */
  readonly settings_differ: readonly {
    readonly key: string;
    readonly values: Readonly<Record<string, unknown>>;
  }[];
  readonly scenarios: readonly ReportScenario[];
  readonly cold_starts: readonly ReportColdStart[];
  /** The suite-level figure, if the suite defines one (a geometric mean of speed-ups). */
  readonly headline: {
    readonly label: string;
    readonly factor: number;
    readonly ci95: readonly [number, number];
  } | null;
  /** Things the reader must know: saturated client, incorrect outputs, failed contestants, differing settings. */
  readonly warnings: readonly string[];
  /** The claims the suite tests, with verdicts (empty: the suite states none). */
  readonly hypotheses: readonly ReportHypothesis[];
  /** Where the run's time went (absent or null: not recorded, e.g. a report rebuilt from results files). */
  readonly timing?: ReportTiming | null;
}
