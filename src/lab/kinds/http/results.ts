/**
 * The HTTP kind's results files: one per workload and contestant (results/<workload>/<contestant>.json) with every
 * run's load figures (HDR histograms encoded, never percentiles averaged), resources, cold starts and
 * correctness; and the reader that rebuilds a contestant's rows from one (`pitlane compare`).
 */
import type { Environment } from '../../environment.js';
import { LatencyHistogram } from '../../load/latency-histogram.js';
import type { LoadPlan, LoadResult, StabilityOutcome } from '../../load/load-engine.js';
import type { ContestantResults } from '../../results/compare.js';
import {
  readResources,
  storeResources,
  type ResultsFileData,
  type ResultsFileEntry,
  type StoredResources,
} from '../../results/results-file.js';
import { HTTP_RATIO_METRICS, rowOf } from './report.js';
import type { HttpSuiteResult, ScenarioRun } from './runner.js';
import { describePlan, type Suite, type SuiteScenario } from './suite.js';

/** The results files of a run: results/<workload>/<contestant>.json. */
export function httpResultsFiles(result: HttpSuiteResult): ResultsFileEntry[] {
  const entries: ResultsFileEntry[] = [];
  const { suite } = result;
  for (const workload of new Set(suite.scenarios.map((s) => s.workload))) {
    for (const c of suite.contestants) {
      const name = c.spec.name;
      const runs = result.runs.filter(
        (r) =>
          r.contestant === name && suite.scenarios.find((s) => s.name === r.scenario)?.workload === workload,
      );
      entries.push({
        path: `results/${workload}/${name}.json`,
        payload: {
          suite: suite.name,
          workload,
          contestant: name,
          baseline: c.baseline,
          how: c.how,
          settings: c.settings,
          environment: result.environment,
          cold_start: result.coldStarts.find((x) => x.contestant === name) ?? null,
          correctness:
            result.correctness.find((x) => x.contestant === name && x.workload === workload) ?? null,
          start_failure: result.startFailures[name] ?? null,
          stop_warnings: result.stopWarnings?.[name] ?? [],
          scenarios: suite.scenarios
            .filter((s) => s.workload === workload)
            .map((s) => ({ name: s.name, description: s.description, plan: s.plan })),
          runs: runs.map((r) => ({
            scenario: r.scenario,
            repeat: r.repeat,
            failure: r.failure,
            skipped: r.skipped,
            wall_ms: r.wallMs,
            load:
              r.load === null
                ? null
                : {
                    model: r.load.model,
                    duration_ms: r.load.durationMs,
                    scheduled: r.load.scheduled,
                    sent: r.load.sent,
                    ok: r.load.ok,
                    failed: r.load.failed,
                    dropped: r.load.dropped,
                    errors_by_class: r.load.errorsByClass,
                    errors_by_status: r.load.errorsByStatus,
                    error_examples: r.load.errorExamples,
                    throughput_per_s: r.load.throughputPerS,
                    client: r.load.client,
                    ...(r.load.stability !== undefined && { stability: storeStability(r.load.stability) }),
                    histograms: {
                      unit: 'microseconds',
                      service: r.load.service.encode(),
                      response: r.load.response?.encode() ?? null,
                      schedule_slip: r.load.slip?.encode() ?? null,
                    },
                  },
            resources: r.resources === null ? null : storeResources(r.resources, true),
          })),
        },
      });
    }
  }
  return entries;
}

/** An HTTP results file, as far as the reader reads it. */
interface HttpResultsFile {
  suite: string;
  workload: string;
  contestant: string;
  how: string;
  settings: Record<string, unknown>;
  environment: Environment;
  scenarios?: { name: string; description: string; plan: LoadPlan }[];
  runs: {
    scenario: string;
    repeat: number;
    failure: string | null;
    /** Absent in files written before runs could be skipped. */
    skipped?: string | null;
    /** Absent in files written before the runs' wall time was recorded. */
    wall_ms?: number | null;
    load: {
      model: 'closed' | 'open';
      duration_ms: number;
      scheduled: number;
      sent: number;
      ok: number;
      failed: number;
      dropped: number;
      errors_by_class: LoadResult['errorsByClass'];
      errors_by_status: Record<string, number>;
      error_examples: LoadResult['errorExamples'];
      throughput_per_s: number;
      client: LoadResult['client'];
      stability?: StoredStability;
      histograms: { service: string; response: string | null; schedule_slip: string | null };
    } | null;
    resources: StoredResources | null;
  }[];
}

/** Whether a format-1 file (no `kind` field) is an HTTP results file. */
export function isHttpResults(data: Readonly<Record<string, unknown>>): boolean {
  return typeof data.contestant === 'string' && typeof data.workload === 'string' && Array.isArray(data.runs);
}

function toRun(name: string, r: HttpResultsFile['runs'][number]): ScenarioRun {
  const l = r.load;
  return {
    scenario: r.scenario,
    repeat: r.repeat,
    contestant: name,
    failure: r.failure,
    skipped: r.skipped ?? null,
    wallMs: r.wall_ms ?? null,
    resources: r.resources === null ? null : readResources(r.resources),
    load:
      l === null
        ? null
        : {
            model: l.model,
            durationMs: l.duration_ms,
            scheduled: l.scheduled,
            sent: l.sent,
            ok: l.ok,
            failed: l.failed,
            dropped: l.dropped,
            errorsByClass: l.errors_by_class,
            errorsByStatus: l.errors_by_status,
            errorExamples: l.error_examples,
            throughputPerS: l.throughput_per_s,
            service: LatencyHistogram.decode(l.histograms.service),
            response: l.histograms.response !== null ? LatencyHistogram.decode(l.histograms.response) : null,
            slip:
              l.histograms.schedule_slip !== null
                ? LatencyHistogram.decode(l.histograms.schedule_slip)
                : null,
            client: l.client,
            ...(l.stability !== undefined && { stability: readStability(l.stability) }),
          },
  };
}

/** Stability windows as a results file keeps them. */
interface StoredStability {
  stable: boolean;
  windows_run: number;
  window_ms: number;
  tolerance: number;
  measured: { throughput_per_s: number; p50_ms: number }[];
}

function storeStability(s: StabilityOutcome): StoredStability {
  return {
    stable: s.stable,
    windows_run: s.windowsRun,
    window_ms: s.windowMs,
    tolerance: s.tolerance,
    measured: s.measured.map((w) => ({ throughput_per_s: w.throughputPerS, p50_ms: w.p50Ms })),
  };
}

function readStability(s: StoredStability): StabilityOutcome {
  return {
    stable: s.stable,
    windowsRun: s.windows_run,
    windowMs: s.window_ms,
    tolerance: s.tolerance,
    measured: s.measured.map((w) => ({ throughputPerS: w.throughput_per_s, p50Ms: w.p50_ms })),
  };
}

/** One contestant's rows, rebuilt from its results file as the suite run built them (answers not compared). */
export function readHttpResults(file: ResultsFileData): ContestantResults {
  const f = file.data as unknown as HttpResultsFile;
  const scenarioNames = [...new Set(f.runs.map((r) => r.scenario))];
  const scenarios: SuiteScenario[] = scenarioNames.map((name) => {
    // The plan as recorded in the results file (files from before it was recorded: only the model is known).
    const recorded = f.scenarios?.find((s) => s.name === name);
    const model = f.runs.find((r) => r.scenario === name)?.load?.model ?? 'closed';
    const unknown: LoadPlan =
      model === 'open'
        ? { model, rate: 0, arrival: 'constant', durationMs: 0, seed: 0, maxInFlight: 0 }
        : { model, concurrency: 0 };
    return {
      name,
      description: recorded?.description ?? name,
      workload: f.workload,
      plan: recorded?.plan ?? unknown,
      thresholds: [],
    };
  });
  const repeats = Math.max(0, ...f.runs.map((r) => r.repeat + 1));
  const suite: Suite = {
    name: f.suite,
    description: '',
    file: file.path,
    ceilings: [],
    contestants: [
      {
        spec: { name: f.contestant, command: ['(from file)'] },
        settings: f.settings,
        baseline: true,
        how: f.how,
      },
    ],
    baseline: f.contestant,
    workloads: new Map(),
    scenarios,
    warmup: { requests: 0, durationMs: 0 },
    openLoop: { skipAboveCapacity: false },
    repeats,
    coldStartRuns: 0,
    correctness: { mode: 'none' },
    correctnessSample: 0,
  };
  const result: HttpSuiteResult = {
    suite,
    environment: f.environment,
    coldStarts: [],
    correctness: [],
    runs: f.runs.map((r) => toRun(f.contestant, r)),
    startFailures: {},
    interrupted: false,
    ceilings: [],
    timing: null,
  };
  return {
    kind: 'http',
    suite: f.suite,
    contestant: f.contestant,
    how: f.how,
    settings: f.settings,
    environment: f.environment,
    scenarios: scenarios.map((sc) => {
      const figures = rowOf(result, sc.name, f.contestant);
      return {
        name: sc.name,
        description: sc.description,
        model: sc.plan.model,
        setting: `${describePlan(sc.plan)}; workload ${sc.workload}`,
        repeats,
        row: figures.row,
        perRepeat: figures.perRepeat,
        metrics: HTTP_RATIO_METRICS,
      };
    }),
    notes: ['Answers were not compared (results files do not hold responses).'],
  };
}
