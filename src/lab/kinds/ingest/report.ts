/**
 * The ingest suite's result as the report model: the guide's five metrics (throughput, memory, CPU efficiency,
 * latency, process overhead) as scenarios, ratios against the baseline with bootstrap intervals over the paired
 * repeats, correctness (known copies of the corpus manifest; the same duplicates and the same detections per
 * image as the baseline), and the verdict on each of the suite's hypotheses.
 */
import type { LabReport, ReportScenario } from '../../report/model.js';
import { ratiosAgainstBaseline, type RatioMetricSpec } from '../../results/ratios.js';
import { ingestCorrectness } from './agreement.js';
import { hypothesisVerdicts } from './hypotheses.js';
import { loadRow, notRun, overheadRow, preprocessRow, serviceRow, type RowBuild } from './rows.js';
import type { IngestSuiteResult } from './runner.js';

/** The metrics a load-tool scenario's rows are compared on. */
export const INGEST_RATIO_METRICS: readonly RatioMetricSpec[] = [
  { metric: 'throughput', higherIsBetter: true },
  { metric: 'p50', higherIsBetter: false },
  { metric: 'peak_rss', higherIsBetter: false },
  { metric: 'cpu_per_request', higherIsBetter: false },
];

/** The report model of an ingest suite run. */
export function ingestLabReport(result: IngestSuiteResult): LabReport {
  const { suite } = result;
  const names = suite.contestants.map((c) => c.name);
  const warnings: string[] = [];
  if (suite.quick) {
    warnings.push(
      `Quick run (--quick): a ${result.corpus.count}-image corpus, one repeat, no confidence intervals. A look at the shape, not figures to quote.`,
    );
  }
  if (result.interrupted) warnings.push('The run was interrupted: results are partial.');
  for (const [name, why] of Object.entries(result.skipped)) warnings.push(`${name} was skipped: ${why}`);
  warnings.push(...(result.stopWarnings ?? []));

  const correctness = ingestCorrectness(result);
  warnings.push(...correctness.warnings);
  const correctOf = correctness.correct;

  /** A scenario with one row per contestant of `among` (default: all; from its runs, or why it has none) and
   * ratios against the baseline on `metrics`. */
  const compared = <R>(
    head: Pick<ReportScenario, 'name' | 'description' | 'model' | 'setting'>,
    runsOf: (name: string) => R[],
    rowOf: (name: string, runs: R[]) => RowBuild,
    noRuns: string,
    metrics: readonly RatioMetricSpec[],
    among: readonly string[] = names,
  ): ReportScenario => {
    const rows = new Map<string, RowBuild>();
    for (const name of among) {
      const runs = runsOf(name);
      rows.set(name, runs.length === 0 ? notRun(name, result.skipped[name], noRuns) : rowOf(name, runs));
    }
    return {
      ...head,
      repeats: suite.repeats,
      rows: [...rows.values()].map((r) => r.row),
      ratios: ratiosAgainstBaseline(rows, suite.baseline, metrics),
      ceiling: null,
    };
  };

  const scenarios: ReportScenario[] = [];
  for (const sc of suite.scenarios) {
    scenarios.push(
      compared(
        {
          name: sc.name,
          description: sc.description,
          model: 'closed',
          setting: `-workers ${sc.workers} -batch ${sc.batch} -queue ${sc.queue} -faces=${sc.faces} -ocr=${sc.ocr}, ${sc.limit > 0 ? `${Math.min(sc.limit, result.corpus.count)}` : result.corpus.count} images per run; latency is per batch (sent → answer)`,
        },
        (name) => result.runs.filter((r) => r.scenario === sc.name && r.contestant === name),
        (name, runs) => loadRow(name, runs, correctOf.get(name) ?? null),
        'not run',
        INGEST_RATIO_METRICS,
      ),
    );
  }

  // Preprocessing probe: CPU per image of decode, letterbox and crop, one core, no inference.
  if (result.preprocess.length > 0) {
    scenarios.push(
      compared(
        {
          name: 'preprocess',
          description:
            'Preprocessing alone, as each service does it: decode once with shrink-on-load, letterbox to 640 (pad 114), centre crop; one core, sequential, no inference, no HTTP.',
          model: 'samples',
          setting: `${suite.preprocess.limit} corpus images per probe; time is the median per image, CPU is process CPU per image`,
        },
        (name) => result.preprocess.filter((p) => p.contestant === name),
        preprocessRow,
        'no probe',
        [
          { metric: 'cpu_per_request', higherIsBetter: false },
          { metric: 'time', higherIsBetter: false },
        ],
        // Only the contestants that name a probe (a variant of another service, such as the same one over
        // another transport, has nothing of its own to probe), and the baseline.
        suite.contestants
          .filter((c) => c.preprocess !== null || c.name === suite.baseline)
          .map((c) => c.name),
      ),
    );
  }

  // Process overhead: spawn → healthy, and the idle RSS of the tree after the warm-up.
  scenarios.push(
    compared(
      {
        name: 'process_overhead',
        description:
          'What a service costs before it does any work: spawn → healthy (every run starts a fresh process), and the RSS of its whole process tree idle after the warm-up (server workers included).',
        model: 'cold_start',
        setting: 'every run of every scenario; time is spawn → healthy, memory is the idle RSS after warm-up',
      },
      (name) => result.runs.filter((r) => r.contestant === name && r.toHealthyMs !== null),
      overheadRow,
      'did not start',
      [
        { metric: 'time', higherIsBetter: false },
        { metric: 'peak_rss', higherIsBetter: false },
      ],
    ),
  );

  // The shared services during each contestant's runs of the first scenario: where the inference time goes.
  const first = suite.scenarios[0];
  for (const sv of suite.services) {
    if (first === undefined) break;
    const rows = names.map((name) =>
      serviceRow(
        name,
        sv.name,
        result.runs.filter((r) => r.scenario === first.name && r.contestant === name && r.bench !== null),
      ),
    );
    scenarios.push({
      name: `shared ${sv.name} server`,
      description: `The shared ${sv.name} service (${sv.description || sv.spec.command?.join(' ')}) during each contestant's ${first.name} runs: its CPU per image is the inference both contestants pay alike; not a contestant.`,
      model: 'samples',
      setting: `CPU-seconds of its process tree per image ingested, and its peak RSS, during ${first.name}`,
      repeats: suite.repeats,
      rows,
      ratios: [],
      ceiling: null,
    });
  }

  for (const s of scenarios) {
    for (const r of s.rows) {
      if (r.failure !== null && !r.failure.startsWith('skipped')) {
        warnings.push(`${s.name} · ${r.contestant}: ${r.failure.split('\n')[0] ?? ''}`);
      }
    }
  }

  const hypotheses = hypothesisVerdicts(suite, scenarios);

  const headlineRatio = scenarios[0]?.ratios.find((r) => r.metric === 'throughput');
  const contestantsText = suite.contestants
    .filter((c) => !c.baseline)
    .map((c) => c.name)
    .join(', ');
  const serviceText = suite.services
    .map((s) => `${s.name} (${s.description || s.spec.command?.join(' ')})`)
    .join(', ');
  return {
    title: `pitlane bench ${suite.name}`,
    suite: suite.name,
    summary:
      (suite.description !== '' ? `${suite.description} ` : '') +
      `${contestantsText} against ${suite.baseline} (the baseline), in one run, interleaved, with one shared ${serviceText || 'set-up'}, on a ${result.corpus.count}-image photo corpus (${(result.corpus.totalBytes / 2 ** 20).toFixed(0)} MiB).`,
    method: [
      `Every run starts the contestant afresh with an empty index (a new SQLite file), waits for /health, uploads ${suite.warmupImages} synthetic warm-up photos, measures the idle RSS, then runs pitlane ingest-bench over the corpus. ${suite.repeats} repeat(s) per scenario; the contestants alternate who goes first.`,
      'The shared services (the model server) are started once, before every contestant, and serve both alike; their CPU per image is shown as a scenario of its own.',
      'Throughput is images processed per second of the whole run; latency is per batch (sent → answer read); with batch 1 it is single-image latency.',
      'Memory and CPU are sampled from /proc every 100 ms over each contestant’s whole process tree (uvicorn workers and Node worker threads included) during the load; CPU-seconds per image divide the tree’s CPU by the images processed.',
      'The preprocessing probe runs each contestant’s own preprocessing function (decode with shrink-on-load, letterbox 640 pad 114, centre crop) over corpus images on one core with no inference, and reports process CPU per image.',
      `Correctness: each run is checked against the corpus manifest (every known exact and near copy must be reported); each contestant’s run is compared with the baseline’s run of the same repeat: the same numbers of duplicates and near duplicates, and per image the same detections (class, box IoU ≥ ${suite.correctness.iou}, for detections scoring ≥ ${suite.correctness.minScore}). Incorrect rows never count as wins.`,
      'Near duplicates between pictures the manifest says are different (the corpus is cut from a few photos, and the embedder sees some crops as alike) depend on arrival order, so near-duplicate totals may differ between runs by up to that many; known copies must always be found.',
      'Ratios are oriented so that > 1 favours the contestant, with 95% bootstrap intervals over the paired repeats.',
    ],
    not_measured: [
      'Inference speed itself: both contestants call the same model server; its figures are shown, not compared.',
      'Faces and OCR (the guide’s flags: -faces=false -ocr=false).',
      'Network effects: the load tool, the services and the model server share this machine and talk over loopback; the load tool’s own CPU is in the results files.',
      'Index sizes beyond the corpus, and OpenSearch (the SQLite index is used by both).',
    ],
    environment: result.environment,
    generated_at: new Date().toISOString(),
    contestants: suite.contestants.map((c) => ({
      name: c.name,
      baseline: c.baseline,
      how: c.how,
      settings: c.settings,
      resources_sampled: true,
    })),
    settings_differ: [],
    scenarios,
    cold_starts: names.map((name) => {
      const runs = result.runs.filter((r) => r.contestant === name);
      return {
        contestant: name,
        to_healthy_ms: runs.flatMap((r) => (r.toHealthyMs !== null ? [r.toHealthyMs] : [])),
        to_first_correct_ms: runs.flatMap((r) => (r.toFirstAnswerMs !== null ? [r.toFirstAnswerMs] : [])),
      };
    }),
    headline:
      headlineRatio === undefined
        ? null
        : {
            label: `${headlineRatio.contestant} vs ${headlineRatio.baseline}: images per second, ${scenarios[0]?.name ?? ''}`,
            factor: headlineRatio.factor,
            ci95: headlineRatio.ci95,
          },
    warnings,
    hypotheses,
  };
}
