/**
 * The seed's results files, written beside pitlane's own: `seed/results/<model>/<runtime>.json` under the run's
 * folder, one per contestant (the runtime) and model, with the fields the seed's clients wrote per scenario
 * (name, concurrency, num_requests, throughput, latency mean/p50/p95/p99 in ms, memory) and pitlane's intervals
 * (each ratio against the baseline with its 95% bootstrap interval). The model is the contestant's
 * `settings.model`, else the workload's name. They are a view for the seed's scripts, written as plain JSON (no
 * results header): `pitlane compare` reads pitlane's files, not these.
 */
import { LatencyHistogram } from '../../load/latency-histogram.js';
import type { LabReport } from '../../report/model.js';
import type { PlainFile } from '../../results/results-file.js';
import { rowOf } from './report.js';
import type { HttpSuiteResult } from './runner.js';
import type { SuiteScenario } from './suite.js';

/** Where the seed's files go in a run's folder; the seed's own relative paths (results/...) are kept below it. */
export const SEED_RESULTS_DIR = 'seed';

/** A name as one path segment: letters, digits, `_ . -` (anything else becomes `_`; never `.` or `..`). */
function segment(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^\.*$/.test(s) ? `_${s}` : s;
}

const round = (x: number | null | undefined, digits = 3): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));

/** One scenario of one contestant, in the seed's fields plus pitlane's. */
function seedScenario(
  result: HttpSuiteResult,
  report: LabReport,
  sc: SuiteScenario,
  contestant: string,
): object {
  const { row } = rowOf(result, sc.name, contestant);
  const runs = result.runs.filter((r) => r.scenario === sc.name && r.contestant === contestant);
  // Latency as the row shows it: response time in open loop (what a user waits), service time otherwise.
  const latency = new LatencyHistogram();
  for (const r of runs) if (r.load !== null) latency.add(r.load.response ?? r.load.service);
  const pct = (p: number): number | null => (latency.count > 0 ? round(latency.percentileMs(p)) : null);
  const plan = sc.plan;
  const ratios = report.scenarios
    .find((s) => s.name === sc.name)
    ?.ratios.filter((x) => x.contestant === contestant);
  return {
    name: sc.name,
    workload: sc.workload,
    concurrency: plan.model === 'closed' ? plan.concurrency : null,
    num_requests: plan.model === 'closed' ? (plan.numRequests ?? null) : null,
    ...(plan.model === 'open' ? { rate: plan.rate, duration_s: plan.durationMs / 1000 } : {}),
    ...(plan.model === 'closed' && plan.durationMs !== undefined
      ? { duration_s: plan.durationMs / 1000 }
      : {}),
    throughput: round(row.throughput_per_s, 2),
    latency_ms: {
      mean: latency.count > 0 ? round(latency.meanMs) : null,
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
    },
    memory_mb: round(row.peak_rss_mb, 1),
    memory_mean_mb: round(row.mean_rss_mb, 1),
    requests: row.count,
    error_rate: row.error_rate,
    correct: row.correct,
    client_saturated: row.client_saturated,
    failure: row.failure,
    ...(row.skipped != null ? { skipped: row.skipped } : {}),
    repeats: new Set(runs.map((r) => r.repeat)).size,
    intervals:
      ratios === undefined || ratios.length === 0
        ? null
        : {
            baseline: ratios[0]?.baseline ?? null,
            ...Object.fromEntries(
              ratios.map((x) => [
                x.metric,
                { factor: round(x.factor, 4), ci95: x.ci95.map((v) => round(v, 4)) },
              ]),
            ),
          },
  };
}

/** The seed's results files of an HTTP suite run. */
export function seedResultsFiles(result: HttpSuiteResult, report: LabReport): PlainFile[] {
  const { suite } = result;
  const groups = new Map<string, { model: string; runtime: string; scenarios: SuiteScenario[] }>();
  for (const c of suite.contestants) {
    const runtime = c.spec.name;
    for (const sc of suite.scenarios) {
      if (!result.runs.some((r) => r.scenario === sc.name && r.contestant === runtime)) continue;
      const model = typeof c.settings.model === 'string' ? c.settings.model : sc.workload;
      const key = `${segment(model)}/${segment(runtime)}`;
      const group = groups.get(key) ?? { model, runtime, scenarios: [] };
      group.scenarios.push(sc);
      groups.set(key, group);
    }
  }
  return [...groups.entries()].map(([key, g]) => {
    const c = suite.contestants.find((x) => x.spec.name === g.runtime);
    return {
      path: `${SEED_RESULTS_DIR}/results/${key}.json`,
      content: {
        model: g.model,
        runtime: g.runtime,
        suite: suite.name,
        baseline: suite.baseline,
        settings: c?.settings ?? {},
        quick: suite.quick === true,
        generated_at: report.generated_at,
        units: { throughput: 'requests/s', latency: 'ms', memory: 'MiB (peak RSS of the process tree)' },
        scenarios: g.scenarios.map((sc) => seedScenario(result, report, sc, g.runtime)),
      },
    };
  });
}
