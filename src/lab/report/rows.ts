/**
 * What the renderers say about a report's rows, decided once: the status of a row (and whether it may take part
 * in a comparison) and the warnings it gives, which ratio belongs in which cell of the verdict table, the
 * verdict's figure columns, the percentile columns of a scenario, and the words for ceilings, hypotheses and the
 * environment. The Markdown page, the HTML page and the terminal table render these (and the http kind and
 * `pitlane compare` the row warnings); none of them decides them again.
 */
import {
  NOT_MEASURED,
  formatCpu,
  formatDuration,
  formatMiB,
  formatMs,
  formatNs,
  formatPercent,
  formatRate,
} from './format.js';
import type {
  LabReport,
  ReportCeiling,
  ReportHypothesis,
  ReportPercentile,
  ReportRatio,
  ReportRow,
  ReportScenario,
  ReportTiming,
} from './model.js';

/** Why a row counts, or does not count, in the comparisons. */
export type RowStatusKind = 'failed' | 'skipped' | 'incorrect' | 'saturated' | 'correct' | 'unchecked';

/** The status of a row, with the words every renderer uses for it. */
export interface RowStatus {
  readonly kind: RowStatusKind;
  /** Short words: "incorrect — not counted", "client saturated — excluded". */
  readonly label: string;
  /** False when the row must not take part in any comparison. */
  readonly counted: boolean;
}

/** A failed row first (its figures are partial), then a skipped one, an incorrect one, a saturated client. */
export function rowStatus(row: ReportRow): RowStatus {
  if (row.failure !== null) return { kind: 'failed', label: `failed: ${row.failure}`, counted: false };
  if (row.skipped != null) return { kind: 'skipped', label: `skipped: ${row.skipped}`, counted: false };
  if (row.correct === false) return { kind: 'incorrect', label: 'incorrect — not counted', counted: false };
  if (row.client_saturated)
    return { kind: 'saturated', label: 'client saturated — excluded', counted: false };
  if (row.correct === true) return { kind: 'correct', label: 'correct', counted: true };
  return { kind: 'unchecked', label: 'not checked', counted: true };
}

/**
 * The warnings a report gives about one row of a scenario: a saturated load generator (the row is excluded from
 * comparisons), then a failure (its first line).
 */
export function rowWarnings(scenario: string, row: ReportRow): string[] {
  const where = `${scenario} · ${row.contestant}`;
  const warnings: string[] = [];
  if (row.client_saturated)
    warnings.push(`${where}: the load generator was saturated; the row is excluded from comparisons.`);
  if (row.failure !== null) warnings.push(`${where}: ${row.failure.split('\n')[0] ?? ''}`);
  return warnings;
}

/** The columns of the verdict table that can carry a ratio. */
export type VerdictColumn = 'throughput' | 'median' | 'p99' | 'peak_rss' | 'cpu';

const COLUMN_METRICS: Readonly<Record<VerdictColumn, readonly ReportRatio['metric'][]>> = {
  throughput: ['throughput'],
  median: ['time', 'p50'],
  p99: ['p99'],
  peak_rss: ['peak_rss'],
  cpu: ['cpu_per_request'],
};

/** The percentile `p` of a list, or null. */
export function findPercentile(list: readonly ReportPercentile[] | null, p: number): ReportPercentile | null {
  return list?.find((x) => x.p === p) ?? null;
}

/** The 99th percentile a verdict quotes: response time in open loop (what users wait), else service time. */
export function p99Of(row: ReportRow): number | null {
  return (findPercentile(row.response_percentiles, 99) ?? findPercentile(row.percentiles, 99))?.ms ?? null;
}

/** The name of the baseline contestant (the first one marked baseline), or null. */
export function baselineName(report: LabReport): string | null {
  return report.contestants.find((c) => c.baseline)?.name ?? null;
}

/**
 * What a verdict cell shows as the comparison of `row` against the baseline for one column: the ratio, the
 * reason it is not counted, "baseline" for the baseline's own row, or null when the suite gave no ratio.
 */
export type RatioCell =
  | { readonly kind: 'ratio'; readonly ratio: ReportRatio }
  | { readonly kind: 'baseline' }
  | { readonly kind: 'excluded'; readonly reason: string }
  | null;

/** The comparison for one cell of the verdict table (see RatioCell). */
export function ratioCell(
  scenario: ReportScenario,
  row: ReportRow,
  column: VerdictColumn,
  baseline: string | null,
): RatioCell {
  if (row.contestant === baseline) return { kind: 'baseline' };
  const ratio = scenario.ratios.find(
    (r) => r.contestant === row.contestant && COLUMN_METRICS[column].includes(r.metric),
  );
  const own = rowStatus(row);
  const baseRow = scenario.rows.find((r) => r.contestant === (ratio?.baseline ?? baseline));
  const base = baseRow === undefined ? null : rowStatus(baseRow);
  if (!own.counted) return { kind: 'excluded', reason: own.label };
  if (base !== null && !base.counted) return { kind: 'excluded', reason: `baseline ${base.label}` };
  return ratio === undefined ? null : { kind: 'ratio', ratio };
}

/** True when both the contestant's row and the baseline's row of a ratio may be compared. */
export function ratioCounts(s: ReportScenario, r: ReportRatio): boolean {
  const own = s.rows.find((x) => x.contestant === r.contestant);
  const base = s.rows.find((x) => x.contestant === r.baseline);
  return (own === undefined || rowStatus(own).counted) && (base === undefined || rowStatus(base).counted);
}

/** One figure column of the verdict table. */
export interface VerdictColumnSpec {
  /** Column heading. */
  readonly title: string;
  /** What the column measures, for a sentence ("peak RSS"). */
  readonly name: string;
  /** The ratio metric shown under the figure, or null for columns without ratios. */
  readonly column: VerdictColumn | null;
  /** The figure of a row, formatted ("—" when not measured). */
  readonly text: (row: ReportRow) => string;
}

/**
 * The verdict's figure columns: throughput, median, p99, peak RSS, CPU per request and per-item cost. A column
 * that is not measured in any row of the report is left out and named in `omitted`, so the reader still learns
 * that it was not measured without a column of dashes.
 */
export function verdictColumns(report: LabReport): {
  readonly shown: readonly VerdictColumnSpec[];
  readonly omitted: readonly string[];
} {
  const all: VerdictColumnSpec[] = [
    {
      title: 'Throughput',
      name: 'throughput',
      column: 'throughput',
      text: (r) => formatRate(r.throughput_per_s),
    },
    { title: 'Median', name: 'median', column: 'median', text: (r) => formatMs(r.median_ms) },
    { title: 'p99', name: 'p99', column: 'p99', text: (r) => formatMs(p99Of(r)) },
    { title: 'Peak RSS', name: 'peak RSS', column: 'peak_rss', text: (r) => formatMiB(r.peak_rss_mb) },
    {
      title: 'CPU / request',
      name: 'CPU per request',
      column: 'cpu',
      text: (r) => formatCpu(r.cpu_s_per_request),
    },
    { title: 'Per item', name: 'per-item cost', column: null, text: (r) => formatNs(r.ns_per_item) },
  ];
  const rows = report.scenarios.flatMap((s) => s.rows);
  const measured = (c: VerdictColumnSpec): boolean => rows.some((r) => c.text(r) !== NOT_MEASURED);
  return {
    shown: all.filter(measured),
    omitted: all.filter((c) => !measured(c)).map((c) => c.name),
  };
}

/** One column of a scenario's percentile table: a contestant's service times or response times. */
export interface PercentileColumn {
  readonly contestant: string;
  /** Service time (sent → done) or, open loop only, response time (scheduled → done). */
  readonly kind: 'service' | 'response';
  readonly list: readonly ReportPercentile[];
}

/** The percentile columns of a scenario, row by row: its service times, then its response times, where measured. */
export function percentileColumns(s: ReportScenario): PercentileColumn[] {
  const columns: PercentileColumn[] = [];
  for (const row of s.rows) {
    if (row.percentiles.length > 0)
      columns.push({ contestant: row.contestant, kind: 'service', list: row.percentiles });
    if (row.response_percentiles !== null && row.response_percentiles.length > 0) {
      columns.push({ contestant: row.contestant, kind: 'response', list: row.response_percentiles });
    }
  }
  return columns;
}

/** Every percentile that any of the columns has, in ascending order. */
export function percentilesIn(columns: readonly PercentileColumn[]): number[] {
  return [...new Set(columns.flatMap((c) => c.list.map((x) => x.p)))].sort((a, b) => a - b);
}

/** The ceiling line of a scenario: its figures, then each contestant's share of them. */
export function ceilingSentences(c: ReportCeiling): { readonly head: string; readonly shares: string[] } {
  const figures = [
    c.throughput_per_s !== null ? formatRate(c.throughput_per_s) : null,
    c.p50_ms !== null ? `p50 ${formatMs(c.p50_ms)}` : null,
  ].filter((x) => x !== null);
  const head = `Ceiling: ${c.name} (${c.description}; a limit, not a contestant): ${figures.length > 0 ? figures.join(', ') : NOT_MEASURED}.`;
  const shares = c.shares.flatMap((sh) => {
    const bits = [
      sh.throughput !== null ? `${sh.throughput.toFixed(2)}× its throughput` : null,
      sh.p50 !== null ? `p50 ${sh.p50.toFixed(2)}× its p50` : null,
    ].filter((x) => x !== null);
    return bits.length > 0 ? [`${sh.contestant}: ${bits.join(', ')}`] : [];
  });
  return { head, shares };
}

/** The words for each kind of phase of a run, plural where a kind has several phases (scenarios, ceilings). */
const PHASE_KINDS: Readonly<Record<ReportTiming['phases'][number]['kind'], readonly [string, string]>> = {
  cold_starts: ['cold starts', 'cold starts'],
  start_up: ['start-up', 'start-up'],
  correctness: ['correctness', 'correctness'],
  scenario: ['scenario', 'scenarios'],
  stopping: ['stopping', 'stopping'],
  ceiling: ['ceiling', 'ceilings'],
};

/** One phase of the run-time table, formatted. */
export interface TimingRow {
  /** "scenario concurrency_16", "ceiling ort-ceiling", "cold starts". */
  readonly phase: string;
  readonly time: string;
  readonly share: string;
  /** By contestant, largest first ("python-torch 3 min 10 s, pitlane 41 s"); empty when not split. */
  readonly byContestant: string;
}

/**
 * Where a run's time went, for every renderer: one line with the total and each kind of phase's share, largest
 * first ("The run took 11 min 40 s: scenarios 78%, ceilings 9%, cold starts 7%, ..."), and a row per phase.
 */
export function timingSummary(t: ReportTiming): {
  readonly line: string;
  readonly rows: readonly TimingRow[];
} {
  const byKind = new Map<string, number>();
  for (const p of t.phases) {
    const label = PHASE_KINDS[p.kind][1];
    byKind.set(label, (byKind.get(label) ?? 0) + p.share);
  }
  const shares = [...byKind]
    .sort((a, b) => b[1] - a[1])
    .map(([label, share]) => `${label} ${formatPercent(share)}`);
  const line = `The run took ${formatDuration(t.total_s)}${shares.length > 0 ? `: ${shares.join(', ')}` : ''}.`;
  const rows = t.phases.map((p) => {
    const [singular] = PHASE_KINDS[p.kind];
    return {
      phase: p.kind === 'scenario' || p.kind === 'ceiling' ? `${singular} ${p.name}` : p.name,
      time: formatDuration(p.seconds),
      share: formatPercent(p.share),
      byContestant: Object.entries(p.by_contestant)
        .sort((a, b) => b[1] - a[1])
        .map(([name, s]) => `${name} ${formatDuration(s)}`)
        .join(', '),
    };
  });
  return { line, rows };
}

/** The environment as "label: value" pairs, shared with the HTML page. */
export function environmentFacts(report: LabReport): readonly (readonly [string, string])[] {
  const env = report.environment;
  return [
    ['CPU', env.cpu_model],
    ['Cores', String(env.cores)],
    ['Memory', `${String(env.memory_gb)} GiB`],
    ['OS', env.os],
    ['Node', env.node_version],
    ['Python', env.python_version ?? NOT_MEASURED],
    ['pitlane', `${env.pitlane_version}${env.git_commit !== null ? ` (commit ${env.git_commit})` : ''}`],
    ['Measured on', env.date],
    ['Report generated', report.generated_at],
  ];
}

/** The words of a hypothesis verdict. */
export function hypothesisVerdict(v: ReportHypothesis['verdict']): string {
  return {
    supported: 'supported',
    rejected: 'rejected',
    inconclusive: 'inconclusive',
    not_measured: 'not measured',
  }[v];
}
