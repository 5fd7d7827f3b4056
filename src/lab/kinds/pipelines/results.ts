/**
 * The pipelines kind's results files: one per runtime (results/pipelines/<runtime>.json) with every scenario's
 * summary and repeats (timed samples, peak RSS, output hashes); and the reader that rebuilds a runtime's rows from
 * one (`pitlane compare`).
 */
import type { Environment } from '../../environment.js';
import type { ReportRow } from '../../report/model.js';
import type { ContestantResults } from '../../results/compare.js';
import type { ResultsFileData, ResultsFileEntry } from '../../results/results-file.js';
import { median } from '../../stats.js';
import { CONTESTANT_LABEL } from './report.js';
import {
  RUNTIMES,
  type PipelineSuiteResult,
  type RepeatResult,
  type RuntimeName,
  type ScenarioResult,
} from './runner.js';

/** The results files of a run: results/pipelines/<runtime>.json for each runtime that ran. */
export function pipelinesResultsFiles(result: PipelineSuiteResult): ResultsFileEntry[] {
  const used = RUNTIMES.filter((rt) => result.scenarios.some((r) => r.summary[rt] !== undefined));
  return used.map((rt) => ({
    path: `results/pipelines/${rt}.json`,
    payload: {
      suite: result.suite,
      contestant: rt,
      environment: result.environment,
      settings: result.settings,
      scenarios: result.scenarios
        .filter((r) => r.summary[rt] !== undefined)
        .map((r) => ({
          scenario: r.scenario,
          summary: r.summary[rt],
          repeats: r.repeats[rt],
          runtime: r.details[rt] ?? null,
        })),
    },
  }));
}

/** A pipelines results file, as far as the reader reads it. */
interface PipelinesResultsFile {
  readonly suite: 'pipelines';
  readonly contestant: RuntimeName;
  readonly environment: Environment;
  readonly settings: PipelineSuiteResult['settings'];
  readonly scenarios: readonly {
    readonly scenario: ScenarioResult['scenario'];
    readonly summary: NonNullable<ScenarioResult['summary'][RuntimeName]>;
    readonly repeats: readonly RepeatResult[];
    readonly runtime: string | null;
  }[];
}

/** Whether a format-1 file (no `kind` field) is a pipelines results file. */
export function isPipelinesResults(data: Readonly<Record<string, unknown>>): boolean {
  return data.suite === 'pipelines' && typeof data.contestant === 'string' && Array.isArray(data.scenarios);
}

/**
 * One runtime's rows, rebuilt from its results file as the suite run built them. Compared on time (the median
 * of each repeat's samples, paired by repeat); outputs are not compared (a suite run compares their hashes).
 */
export function readPipelinesResults(file: ResultsFileData): ContestantResults {
  const f = file.data as unknown as PipelinesResultsFile;
  const name = (CONTESTANT_LABEL as Readonly<Record<string, string>>)[f.contestant] ?? f.contestant;
  return {
    kind: 'pipelines',
    suite: f.suite,
    contestant: name,
    how:
      f.contestant === 'cpython'
        ? `${f.settings.python} baselines/python/pitlane_ref.py`
        : `pitlane bench-worker / pitlane run${f.contestant === 'pitlane' ? '' : ` --python-runtime ${f.contestant.slice('pitlane-'.length)}`}`,
    settings: {},
    environment: f.environment,
    scenarios: f.scenarios.map((s) => {
      const kind = s.scenario.kind;
      const row: ReportRow = {
        contestant: name,
        correct: null,
        client_saturated: false,
        failure: null,
        throughput_per_s: null,
        median_ms: s.summary.median / 1e6,
        mad_ms: s.summary.mad / 1e6,
        percentiles: [],
        response_percentiles: null,
        count: s.repeats.reduce((n, x) => n + x.samples_ns.length, 0),
        error_rate: null,
        errors: {},
        dropped: null,
        peak_rss_mb: kind === 'cold_start' ? null : s.summary.peak_rss_mb,
        mean_rss_mb: null,
        cpu_s_per_request: null,
        ns_per_item: kind === 'cold_start' ? null : s.summary.ns_per_item,
        series: null,
        thresholds: [],
      };
      return {
        name: s.scenario.name,
        description: s.scenario.description,
        model: kind,
        setting: `${s.repeats.length} repeats${s.scenario.items > 0 ? `, ${s.scenario.items} items` : ''}${s.runtime !== null ? `; ${name}: ${s.runtime}` : ''}`,
        repeats: s.repeats.length,
        row,
        perRepeat: s.repeats.map((x, i) => ({ repeat: i, values: { time: median(x.samples_ns) / 1e6 } })),
        metrics: [{ metric: 'time', higherIsBetter: false }],
      };
    }),
    notes: ['Outputs were not compared between the files (a suite run compares their hashes).'],
  };
}
