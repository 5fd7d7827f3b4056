/**
 * From an HTTP suite's measurements to figures: rows pooled over repeats (histograms merged, never percentiles
 * averaged), ratios against the baseline with bootstrap intervals over the paired repeats, thresholds, and
 * the files a run writes: results/<workload>/<contestant>.json, comparison.json (the seed's format, extended),
 * and the LabReport every renderer draws from.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CeilingResult } from './ceiling.js';
import { clientOf, type HttpSuiteResult, type ScenarioRun } from './runner.js';
import { LatencyHistogram } from '../../load/latency-histogram.js';
import type {
  LabReport,
  ReportCeiling,
  ReportRatio,
  ReportRow,
  ReportScenario,
  ReportSeries,
} from '../../report-model.js';
import { median, ratioOfMedians } from '../../stats.js';
import { describePlan } from './suite.js';
import { evaluateThreshold } from '../../thresholds.js';

/** One contestant's figures in one scenario, with what the ratios need per repeat. */
interface RowFigures {
  readonly row: ReportRow;
  /** Per repeat: throughput, p50, p99, peak RSS, CPU per request (null when not measured). */
  readonly perRepeat: {
    throughput: number;
    p50: number;
    p99: number;
    rss: number | null;
    cpu: number | null;
  }[];
  /** The row counts in comparisons: correct, not saturated, not failed. */
  readonly comparable: boolean;
}

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

function rowOf(result: HttpSuiteResult, scenario: string, contestant: string): RowFigures {
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
  const throughputs = loads.map((l) => l.throughputPerS);
  const peakRss = resources.length > 0 ? Math.max(...resources.map((r) => r.peakRssKb)) / MB : null;
  const row: ReportRow = {
    contestant,
    correct,
    client_saturated: client?.saturated ?? false,
    failure: failures.length > 0 ? failures.join('; ') : null,
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
    thresholds: (result.suite.scenarios.find((s) => s.name === scenario)?.thresholds ?? []).map((t) => {
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
  const perRepeat = runs.flatMap((r) =>
    r.load === null || r.load.service.count === 0
      ? []
      : [
          {
            throughput: r.load.throughputPerS,
            p50: (r.load.response ?? r.load.service).percentileMs(50),
            p99: (r.load.response ?? r.load.service).percentileMs(99),
            rss: r.resources !== null ? r.resources.peakRssKb / MB : null,
            cpu: r.resources !== null && r.load.ok > 0 ? r.resources.cpuSeconds / r.load.ok : null,
          },
        ],
  );
  return {
    row,
    perRepeat,
    comparable: correct !== false && !row.client_saturated && row.failure === null && perRepeat.length > 0,
  };
}

function ratios(base: RowFigures, other: RowFigures, contestant: string, baseline: string): ReportRatio[] {
  const out: ReportRatio[] = [];
  const add = (
    metric: ReportRatio['metric'],
    pick: (x: RowFigures['perRepeat'][number]) => number | null,
    higherIsBetter: boolean,
  ): void => {
    const a = base.perRepeat.map(pick);
    const b = other.perRepeat.map(pick);
    if (a.some((x) => x === null) || b.some((x) => x === null)) return;
    const av = (a as number[]).map((x) => [x]);
    const bv = (b as number[]).map((x) => [x]);
    const r = higherIsBetter ? ratioOfMedians(bv, av) : ratioOfMedians(av, bv);
    if (!Number.isFinite(r.ratio)) return;
    out.push({ contestant, baseline, metric, factor: r.ratio, ci95: r.ci95, repeats: r.repeats });
  };
  add('throughput', (x) => x.throughput, true);
  add('p50', (x) => x.p50, false);
  add('p99', (x) => x.p99, false);
  add('peak_rss', (x) => x.rss, false);
  add('cpu_per_request', (x) => x.cpu, false);
  return out;
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
    const base = rows.get(result.suite.baseline);
    const scenarioRatios: ReportRatio[] = [];
    for (const n of names) {
      const f = rows.get(n);
      if (n === result.suite.baseline || base === undefined || f === undefined) continue;
      if (!base.comparable || !f.comparable) continue;
      scenarioRatios.push(...ratios(base, f, n, result.suite.baseline));
    }
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
  for (const s of scenarios) {
    for (const r of s.rows) {
      if (r.client_saturated)
        warnings.push(
          `${s.name} · ${r.contestant}: the load generator was saturated; the row is excluded from comparisons.`,
        );
      if (r.failure !== null) warnings.push(`${s.name} · ${r.contestant}: ${r.failure.split('\n')[0] ?? ''}`);
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
      `Warm-up before each measurement: ${suite.warmup.requests} requests${suite.warmup.durationMs > 0 ? ` and ${suite.warmup.durationMs / 1000} s` : ''} at the scenario's concurrency.`,
      'Closed loop: N clients each send when the last answer came; latency is service time. Open loop: arrivals at a fixed or Poisson rate that never wait for the server; latency is reported both as service time (sent → done) and response time (scheduled → done).',
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
  };
}

/**
 * The comparison JSON: the seed's `{comparison: {scenario: {<baseline>_ms, <contestant>_ms, speedup,
 * memory_<baseline>_mb, memory_<contestant>_mb}}, summary: {average_speedup, memory_reduction}}` (with contestants
 * named python and ts this is exactly the seed's shape), extended with intervals, throughput and correctness.
 */
export function httpComparisonJson(report: LabReport): object {
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
    }
    for (const ratio of s.ratios) {
      const key = report.contestants.length > 2 ? `_${ratio.contestant}` : '';
      if (ratio.metric === 'p50') {
        entry[`speedup${key}`] = ratio.factor;
        entry[`speedup${key}_ci95`] = ratio.ci95;
        speedups.push(ratio.factor);
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
  };
}

/** Writes results/<workload>/<contestant>.json, comparison.json; returns the paths written. */
export async function writeHttpResults(
  result: HttpSuiteResult,
  report: LabReport,
  dir: string,
): Promise<string[]> {
  const paths: string[] = [];
  const { suite } = result;
  for (const workload of new Set(suite.scenarios.map((s) => s.workload))) {
    await mkdir(join(dir, 'results', workload), { recursive: true });
    for (const c of suite.contestants) {
      const name = c.spec.name;
      const p = join(dir, 'results', workload, `${name}.json`);
      const runs = result.runs.filter(
        (r) =>
          r.contestant === name && suite.scenarios.find((s) => s.name === r.scenario)?.workload === workload,
      );
      await writeFile(
        p,
        JSON.stringify(
          {
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
                      histograms: {
                        unit: 'microseconds',
                        service: r.load.service.encode(),
                        response: r.load.response?.encode() ?? null,
                        schedule_slip: r.load.slip?.encode() ?? null,
                      },
                    },
              resources:
                r.resources === null
                  ? null
                  : {
                      peak_rss_kb: r.resources.peakRssKb,
                      mean_rss_kb: r.resources.meanRssKb,
                      cpu_seconds: r.resources.cpuSeconds,
                      samples: r.resources.samples,
                      series: r.resources.series,
                    },
            })),
          },
          null,
          1,
        ),
      );
      paths.push(p);
    }
  }
  const comparison = join(dir, 'comparison.json');
  await writeFile(comparison, JSON.stringify(httpComparisonJson(report), null, 2) + '\n');
  paths.push(comparison);
  return paths;
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
