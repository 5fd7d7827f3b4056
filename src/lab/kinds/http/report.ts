/**
 * From an HTTP suite's measurements to figures: rows pooled over repeats (histograms merged, never percentiles
 * averaged), ratios against the baseline (the shared paired-repeat ratios, results/ratios.ts), thresholds,
 * ceilings, and the LabReport every renderer draws from. Its results files are results.ts.
 */
import type { CeilingResult } from './ceiling.js';
import { clientOf, type HttpSuiteResult, type RunTiming, type ScenarioRun } from './runner.js';
import { LatencyHistogram } from '../../load/latency-histogram.js';
import type {
  LabReport,
  ReportCeiling,
  ReportRow,
  ReportScenario,
  ReportSeries,
  ReportTiming,
} from '../../report/model.js';
import { rowWarnings } from '../../report/rows.js';
import {
  ratiosAgainstBaseline,
  type RatioMetricSpec,
  type RatioSide,
  type RepeatFigures,
} from '../../results/ratios.js';
import { median } from '../../stats.js';
import { describePlan, type Suite } from './suite.js';
import { evaluateThreshold } from '../../thresholds.js';

/** One contestant's figures in one scenario, with what the ratios need per repeat. */
export interface RowFigures extends RatioSide {
  readonly row: ReportRow;
}

/** The metrics an HTTP row is compared on. */
export const HTTP_RATIO_METRICS: readonly RatioMetricSpec[] = [
  { metric: 'throughput', higherIsBetter: true },
  { metric: 'p50', higherIsBetter: false },
  { metric: 'p99', higherIsBetter: false },
  { metric: 'peak_rss', higherIsBetter: false },
  { metric: 'cpu_per_request', higherIsBetter: false },
];

const MB = 1024;

function series(runs: readonly ScenarioRun[]): ReportSeries | null {
  const first = runs.find((r) => r.resources !== null)?.resources;
  if (!first || first.series.length === 0) return null;
  const s = first.series;
  const t0 = s[0]?.tMs ?? 0;
  const cpu: number[] = [0];
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1];
    const b = s[i];
    if (a === undefined || b === undefined) continue;
    const dt = (b.tMs - a.tMs) / 1000;
    cpu.push(dt > 0 ? ((b.cpuSeconds - a.cpuSeconds) / dt) * 100 : 0);
  }
  return { t_s: s.map((x) => (x.tMs - t0) / 1000), rss_mb: s.map((x) => x.rssKb / MB), cpu_percent: cpu };
}

export function rowOf(result: HttpSuiteResult, scenario: string, contestant: string): RowFigures {
  const runs = result.runs.filter((r) => r.scenario === scenario && r.contestant === contestant);
  const loads = runs.flatMap((r) => (r.load !== null ? [r.load] : []));
  const service = new LatencyHistogram();
  const response = new LatencyHistogram();
  let open = false;
  for (const l of loads) {
    service.add(l.service);
    if (l.response !== null) {
      open = true;
      response.add(l.response);
    }
  }
  const ok = loads.reduce((n, l) => n + l.ok, 0);
  const failed = loads.reduce((n, l) => n + l.failed, 0);
  const errors: Record<string, number> = {};
  for (const l of loads) {
    for (const [k, v] of Object.entries(l.errorsByClass)) if (v > 0) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(l.errorsByStatus))
      errors[`status ${k}`] = (errors[`status ${k}`] ?? 0) + v;
  }
  const resources = runs.flatMap((r) => (r.resources !== null ? [r.resources] : []));
  const cpuSeconds = resources.reduce((n, r) => n + r.cpuSeconds, 0);
  const workload = result.suite.scenarios.find((s) => s.name === scenario)?.workload ?? '';
  const check = result.correctness.find((c) => c.contestant === contestant && c.workload === workload);
  const isBaseline = contestant === result.suite.baseline;
  const correct = isBaseline
    ? result.correctness.length > 0
      ? true
      : null
    : check === undefined
      ? null
      : check.disagreed === 0;
  const client = clientOf(runs);
  const failures = [...new Set(runs.flatMap((r) => (r.failure !== null ? [r.failure] : [])))];
  // Skipped when no repeat was made on purpose (a repeat that ran, or failed, makes it a measured row).
  const skipped =
    runs.length > 0 && runs.every((r) => r.skipped !== null)
      ? [...new Set(runs.map((r) => r.skipped))].join('; ')
      : null;
  const throughputs = loads.map((l) => l.throughputPerS);
  const peakRss = resources.length > 0 ? Math.max(...resources.map((r) => r.peakRssKb)) / MB : null;
  // A skipped row measured nothing: its thresholds are not evaluated (an empty row would pass or fail them).
  const thresholds =
    skipped !== null ? [] : (result.suite.scenarios.find((s) => s.name === scenario)?.thresholds ?? []);
  const row: ReportRow = {
    contestant,
    correct,
    client_saturated: client?.saturated ?? false,
    failure: failures.length > 0 ? failures.join('; ') : null,
    ...(skipped !== null ? { skipped } : {}),
    throughput_per_s: throughputs.length > 0 ? median(throughputs) : null,
    median_ms: service.count > 0 ? service.percentileMs(50) : null,
    mad_ms: null,
    percentiles: service.count > 0 ? service.percentiles() : [],
    response_percentiles: open && response.count > 0 ? response.percentiles() : null,
    count: service.count,
    error_rate: ok + failed > 0 ? failed / (ok + failed) : null,
    errors,
    dropped: open ? loads.reduce((n, l) => n + l.dropped, 0) : null,
    peak_rss_mb: peakRss,
    mean_rss_mb:
      resources.length > 0 ? resources.reduce((n, r) => n + r.meanRssKb, 0) / resources.length / MB : null,
    cpu_s_per_request: resources.length > 0 && ok > 0 ? cpuSeconds / ok : null,
    ns_per_item: null,
    series: series(runs),
    thresholds: thresholds.map((t) => {
      const e = evaluateThreshold(t, {
        percentileMs: (p) => (open ? response : service).percentileMs(p),
        avgMs: (open ? response : service).meanMs,
        errorRate: ok + failed > 0 ? failed / (ok + failed) : 0,
        throughputPerS: throughputs.length > 0 ? median(throughputs) : 0,
        peakRssMb: peakRss,
        cpuMsPerRequest: resources.length > 0 && ok > 0 ? (cpuSeconds / ok) * 1000 : null,
      });
      return { expression: t.expression, ok: e.ok, actual: e.actual };
    }),
  };
  // Latency ratios use what the row shows: response time in open loop (what a user waits), service time otherwise.
  // Every repeat is a pair candidate; one that measured nothing has no figures, and then the metric is left out.
  const perRepeat: RepeatFigures[] = runs.map((r) => {
    const load = r.load !== null && r.load.service.count > 0 ? r.load : null;
    const latency = load !== null ? (load.response ?? load.service) : null;
    return {
      repeat: r.repeat,
      values: {
        throughput: load?.throughputPerS ?? null,
        p50: latency?.percentileMs(50) ?? null,
        p99: latency?.percentileMs(99) ?? null,
        peak_rss: load !== null && r.resources !== null ? r.resources.peakRssKb / MB : null,
        cpu_per_request:
          load !== null && r.resources !== null && load.ok > 0 ? r.resources.cpuSeconds / load.ok : null,
      },
    };
  });
  return { row, perRepeat };
}

/** The figures of every scenario. */
export function httpScenarios(result: HttpSuiteResult): {
  scenarios: ReportScenario[];
  figures: Map<string, Map<string, RowFigures>>;
} {
  const names = result.suite.contestants.map((c) => c.spec.name);
  const figures = new Map<string, Map<string, RowFigures>>();
  const scenarios: ReportScenario[] = [];
  for (const sc of result.suite.scenarios) {
    if (!result.runs.some((r) => r.scenario === sc.name)) continue;
    const rows = new Map(names.map((n) => [n, rowOf(result, sc.name, n)]));
    figures.set(sc.name, rows);
    const scenarioRatios = ratiosAgainstBaseline(rows, result.suite.baseline, HTTP_RATIO_METRICS);
    scenarios.push({
      name: sc.name,
      description: sc.description,
      model: sc.plan.model,
      setting: `${describePlan(sc.plan)}; workload ${sc.workload}`,
      repeats: result.suite.repeats,
      rows: names.map((n) => (rows.get(n) as RowFigures).row),
      ratios: scenarioRatios,
      ceiling: ceilingFor(
        result.ceilings.find((c) => c.scenarios[sc.name] !== undefined) ?? null,
        sc.name,
        names.map((n) => (rows.get(n) as RowFigures).row),
      ),
    });
  }
  return { scenarios, figures };
}

/** The LabReport of an HTTP suite run. */
export function httpLabReport(result: HttpSuiteResult): LabReport {
  const { suite } = result;
  const { scenarios } = httpScenarios(result);
  const settingKeys = [...new Set(suite.contestants.flatMap((c) => Object.keys(c.settings)))];
  const settingsDiffer = settingKeys.flatMap((key) => {
    const values = Object.fromEntries(suite.contestants.map((c) => [c.spec.name, c.settings[key]]));
    const distinct = new Set(Object.values(values).map((v) => JSON.stringify(v)));
    return distinct.size > 1 ? [{ key, values }] : [];
  });
  const warnings: string[] = [];
  for (const c of result.ceilings) {
    if (c.failure !== null) warnings.push(`The ceiling ${c.name} gave no figures: ${c.failure}`);
  }
  if (suite.quick === true) {
    warnings.push(
      'Quick run (--quick): a tenth of the requests and durations, one repeat. A look at the shape, not figures to quote.',
    );
  }
  if (result.interrupted) warnings.push('The run was interrupted: results are partial.');
  for (const [name, why] of Object.entries(result.startFailures))
    warnings.push(`${name} did not start: ${why}`);
  for (const list of Object.values(result.stopWarnings ?? {})) warnings.push(...list);
  for (const c of result.coldStarts)
    if (c.failure !== null) warnings.push(`${c.contestant}: cold start failed: ${c.failure}`);
  for (const c of result.correctness) {
    if (c.disagreed > 0) {
      warnings.push(
        `${c.contestant} disagrees with ${suite.baseline} on ${c.disagreed} of ${c.checked} ${c.workload} requests (first: ${c.firstProblem ?? '?'}): its rows are marked incorrect and never count as a win.`,
      );
    }
  }
  // A quick run never retries a window (it says its figures are not for quoting): no instability warnings there.
  for (const run of suite.quick === true ? [] : result.runs) {
    const st = run.load?.stability;
    if (st === undefined || st.stable) continue;
    const fmt = (xs: readonly number[], digits: number): string =>
      xs.map((x) => x.toFixed(digits)).join(', ');
    warnings.push(
      `${run.scenario} · ${run.contestant}, repeat ${run.repeat + 1}: not stable within ±${Math.round(st.tolerance * 100)}% after ${st.windowsRun} windows of ${st.windowMs / 1000} s; its last ${st.measured.length} count (${fmt(
        st.measured.map((w) => w.throughputPerS),
        1,
      )} /s; p50 ${fmt(
        st.measured.map((w) => w.p50Ms),
        2,
      )} ms).`,
    );
  }
  for (const s of scenarios) {
    for (const r of s.rows) {
      warnings.push(...rowWarnings(s.name, r));
      const failedThresholds = r.thresholds.filter((t) => !t.ok);
      if (failedThresholds.length > 0)
        warnings.push(
          `${s.name} · ${r.contestant}: thresholds failed: ${failedThresholds.map((t) => t.expression).join(', ')}`,
        );
    }
  }
  if (settingsDiffer.length > 0) {
    warnings.push(
      `Contestants run with different settings (${settingsDiffer.map((d) => d.key).join(', ')}): read the comparison with that in mind.`,
    );
  }
  const unsampled = suite.contestants.filter((c) => c.spec.command === undefined).map((c) => c.spec.name);
  return {
    title: `pitlane bench ${suite.name}`,
    suite: suite.name,
    summary:
      (suite.description !== '' ? `${suite.description} ` : '') +
      `Contestants ${suite.contestants.map((c) => c.spec.name).join(', ')}, compared with ${suite.baseline} as the baseline, in one run, interleaved.`,
    method: [
      `Each scenario runs ${suite.repeats} repeats; in each, every contestant is measured in turn, alternating who goes first.`,
      `Warm-up before each measurement: ${warmupWords(suite.warmup)} at the scenario's concurrency.`,
      'Closed loop: N clients each send when the last answer came; latency is service time. Open loop: arrivals at a fixed or Poisson rate that never wait for the server; latency is reported both as service time (sent → done) and response time (scheduled → done).',
      ...stabilityMethod(suite),
      ...(suite.openLoop.skipAboveCapacity && suite.scenarios.some((s) => s.plan.model === 'open')
        ? [
            'Open-loop scenarios are skipped for a contestant whose best closed-loop throughput on the same workload, measured earlier in this run, is below the offered rate (open_loop.skip_above_capacity): it could only fall behind. Such rows say so, with both rates, and are not counted.',
          ]
        : []),
      'Latencies are recorded in HDR histograms in whole microseconds (3 significant digits) and merged across repeats; percentiles show how many samples stand beyond them.',
      'Memory and CPU of each contestant’s whole process tree are sampled from /proc every 50 ms during each measurement.',
      `Answers are compared with the baseline’s on ${suite.correctnessSample} requests per workload (${suite.correctness.mode}); a contestant that disagrees is marked incorrect.`,
      'Ratios are oriented so that > 1 favours the contestant, with 95% bootstrap intervals over the paired repeats. Client-saturated, incorrect or failed rows are excluded from ratios.',
    ],
    not_measured: [
      ...(unsampled.length > 0
        ? [`Memory and CPU of ${unsampled.join(', ')} (given as URLs, managed elsewhere).`]
        : []),
      'Network effects: client and contestants share this machine and talk over loopback.',
      'Behaviour beyond the scenarios’ rates and concurrencies.',
    ],
    environment: result.environment,
    generated_at: new Date().toISOString(),
    contestants: suite.contestants.map((c) => ({
      name: c.spec.name,
      baseline: c.baseline,
      how: c.how,
      settings: c.settings,
      resources_sampled: c.spec.command !== undefined,
    })),
    settings_differ: settingsDiffer,
    scenarios,
    cold_starts: result.coldStarts.map((c) => ({
      contestant: c.contestant,
      to_healthy_ms: c.toHealthyMs,
      to_first_correct_ms: c.toFirstCorrectMs,
    })),
    headline: null,
    warnings,
    hypotheses: [],
    timing: result.timing === null ? null : reportTiming(result.timing),
  };
}

/** "100 requests", "3 s", "100 requests or 3 s, whichever comes first" (the closed loop stops at the first). */
function warmupWords(w: Suite['warmup']): string {
  const requests = `${w.requests} requests`;
  const seconds = `${w.durationMs / 1000} s`;
  if (w.durationMs <= 0) return requests;
  return w.requests > 0 ? `${requests} or ${seconds}, whichever comes first` : seconds;
}

/** The run's timing in the report's units: seconds, and each phase's share of the whole. */
export function reportTiming(timing: RunTiming): ReportTiming {
  const s = (ms: number): number => Math.round(ms) / 1000;
  return {
    total_s: s(timing.totalMs),
    phases: timing.phases.map((p) => ({
      name: p.name,
      kind: p.kind,
      seconds: s(p.ms),
      share: timing.totalMs > 0 ? p.ms / timing.totalMs : 0,
      by_contestant: Object.fromEntries(Object.entries(p.byContestant).map(([k, v]) => [k, s(v)])),
    })),
  };
}

/** The method line of stability windows, when a scenario uses them. */
function stabilityMethod(suite: Suite): string[] {
  const st = suite.scenarios.flatMap((s) =>
    s.plan.model === 'closed' && s.plan.stability !== undefined ? [s.plan.stability] : [],
  )[0];
  if (st === undefined) return [];
  return [
    `Closed-loop scenarios "until stable" run as perf_analyzer measures: the clients never pause, time is cut into windows of ${st.windowMs / 1000} s, and the load stops once the last ${st.windows} windows each lie within ±${Math.round(st.tolerance * 100)}% of their mean throughput and median (at most ${st.maxWindows} windows; an unstable run is named in the warnings). Each repeat's figures are those ${st.windows} windows; requests still in flight at the stop are left out.`,
  ];
}

/** The ceiling's figures for one scenario, with each row's share of them. */
function ceilingFor(
  ceiling: CeilingResult | null,
  scenario: string,
  rows: readonly ReportRow[],
): ReportCeiling | null {
  const figures = ceiling?.scenarios[scenario];
  if (ceiling === null || figures === undefined) return null;
  const { throughput_per_s: throughput, p50_ms: p50 } = figures;
  return {
    name: ceiling.name,
    description: ceiling.description,
    throughput_per_s: throughput,
    p50_ms: p50,
    shares: rows.map((r) => {
      const rowP50 = r.percentiles.find((p) => p.p === 50)?.ms ?? null;
      return {
        contestant: r.contestant,
        throughput:
          throughput !== null && throughput > 0 && r.throughput_per_s !== null
            ? r.throughput_per_s / throughput
            : null,
        p50: p50 !== null && p50 > 0 && rowP50 !== null ? rowP50 / p50 : null,
      };
    }),
  };
}
