/**
 * Text renderers of a LabReport: the Markdown report (the same sections as the HTML page, with tables where the
 * page has charts) and the compact plain-text table printed on the terminal. It also owns the formatting every
 * renderer shares — units, "—" for what was not measured, the status of a row, which ratio belongs to which
 * column — so that the terminal, the Markdown and the HTML page can never disagree on a figure.
 */
import type {
  LabReport,
  ReportCeiling,
  ReportHypothesis,
  ReportPercentile,
  ReportRatio,
  ReportRow,
  ReportScenario,
} from './report-model.js';
import { median } from './stats.js';

/** What a renderer prints for a value that was not measured (`null` in the model): never 0. */
export const NOT_MEASURED = '—';

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Three significant digits, as a string that keeps its trailing zeros ("56.0"); grouped from 1000 on. */
export function formatSignificant(x: number): string {
  if (!Number.isFinite(x)) return NOT_MEASURED;
  if (Math.abs(x) >= 1000) return GROUPED.format(x);
  if (x === 0) return '0';
  return x.toPrecision(3);
}

/** A count of things (samples, requests, errors): an integer with thousands grouped. */
export function formatCount(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return NOT_MEASURED;
  return GROUPED.format(n);
}

/** A duration given in milliseconds, in the unit that reads best (ns, µs, ms, s). */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return NOT_MEASURED;
  const abs = Math.abs(ms);
  if (abs === 0) return '0 ms';
  if (abs < 0.001) return `${formatSignificant(ms * 1e6)} ns`;
  if (abs < 1) return `${formatSignificant(ms * 1e3)} µs`;
  if (abs < 1000) return `${formatSignificant(ms)} ms`;
  return `${formatSignificant(ms / 1000)} s`;
}

/** A rate per second: "6,120/s", "499.6/s" becomes "500/s". */
export function formatRate(perS: number | null): string {
  if (perS === null || !Number.isFinite(perS)) return NOT_MEASURED;
  return `${formatSignificant(perS)}/s`;
}

/** Memory in MiB with one decimal. */
export function formatMiB(mb: number | null): string {
  if (mb === null || !Number.isFinite(mb)) return NOT_MEASURED;
  return `${mb >= 1000 ? GROUPED.format(mb) : mb.toFixed(1)} MiB`;
}

/** CPU-seconds per request, as CPU time in the unit that reads best. */
export function formatCpu(cpuS: number | null): string {
  return cpuS === null ? NOT_MEASURED : formatMs(cpuS * 1000);
}

/** A per-item cost given in nanoseconds. */
export function formatNs(ns: number | null): string {
  return ns === null ? NOT_MEASURED : formatMs(ns / 1e6);
}

/** A fraction (0.0012) as a percentage ("0.12%"). */
export function formatPercent(fraction: number | null): string {
  if (fraction === null || !Number.isFinite(fraction)) return NOT_MEASURED;
  if (fraction === 0) return '0%';
  const pct = fraction * 100;
  return `${pct >= 10 ? pct.toFixed(1) : pct.toPrecision(2)}%`;
}

/** A ratio factor: "2.81×". */
export function formatFactor(factor: number): string {
  return `${formatSignificant(factor)}×`;
}

/** A ratio with its interval: "2.81× [2.74, 2.87]". */
export function formatRatio(ratio: Pick<ReportRatio, 'factor' | 'ci95'>): string {
  return `${formatFactor(ratio.factor)} [${formatSignificant(ratio.ci95[0])}, ${formatSignificant(ratio.ci95[1])}]`;
}

/** The label of a percentile: "p50", "p99.9", "max". */
export function percentileLabel(p: number): string {
  return p >= 100 ? 'max' : `p${String(p)}`;
}

/** A setting's value as text (strings as they are, everything else as JSON; null as "—"). */
export function formatSetting(value: unknown): string {
  if (value === null || value === undefined) return NOT_MEASURED;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Why a row counts, or does not count, in the comparisons. */
export type RowStatusKind = 'failed' | 'incorrect' | 'saturated' | 'correct' | 'unchecked';

/** The status of a row, with the words every renderer uses for it. */
export interface RowStatus {
  readonly kind: RowStatusKind;
  /** Short words: "incorrect — not counted", "client saturated — excluded". */
  readonly label: string;
  /** False when the row must not take part in any comparison. */
  readonly counted: boolean;
}

/** A failed row first (its figures are partial), then an incorrect one, then a saturated client. */
export function rowStatus(row: ReportRow): RowStatus {
  if (row.failure !== null) return { kind: 'failed', label: `failed: ${row.failure}`, counted: false };
  if (row.correct === false) return { kind: 'incorrect', label: 'incorrect — not counted', counted: false };
  if (row.client_saturated)
    return { kind: 'saturated', label: 'client saturated — excluded', counted: false };
  if (row.correct === true) return { kind: 'correct', label: 'correct', counted: true };
  return { kind: 'unchecked', label: 'not checked', counted: true };
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

/** Escapes text for Markdown: table pipes, emphasis and link characters, and HTML (shown as text). */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*[\]|#]/g, (c) => `\\${c}`)
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Text as an inline code span (fence longer than any backtick run inside), safe in a table cell. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const body = text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function mdRatio(cellValue: RatioCell): string {
  if (cellValue === null) return '';
  switch (cellValue.kind) {
    case 'baseline':
      return '';
    case 'excluded':
      return ' · not counted';
    case 'ratio':
      return ` · **${formatFactor(cellValue.ratio.factor)}** [${formatSignificant(cellValue.ratio.ci95[0])}, ${formatSignificant(cellValue.ratio.ci95[1])}]`;
  }
}

function statusMarkdown(status: RowStatus): string {
  switch (status.kind) {
    case 'correct':
      return 'correct';
    case 'unchecked':
      return 'not checked';
    case 'failed':
    case 'incorrect':
    case 'saturated':
      return `**${escapeMarkdown(status.label)}**`;
  }
}

function verdictMarkdown(report: LabReport): string {
  const baseline = baselineName(report);
  const { shown } = verdictColumns(report);
  const header = ['scenario', 'contestant', ...shown.map((c) => c.name), 'outputs'];
  const rows: string[][] = [];
  for (const s of report.scenarios) {
    for (const row of s.rows) {
      const name = escapeMarkdown(row.contestant) + (row.contestant === baseline ? ' (baseline)' : '');
      rows.push([
        escapeMarkdown(s.name),
        name,
        ...shown.map(
          (c) => c.text(row) + (c.column === null ? '' : mdRatio(ratioCell(s, row, c.column, baseline))),
        ),
        statusMarkdown(rowStatus(row)),
      ]);
    }
  }
  return mdTable(header, rows);
}

function percentileCell(p: ReportPercentile | null): string {
  if (p === null) return NOT_MEASURED;
  const beyond = `${formatCount(p.samples_beyond)} beyond`;
  return `${formatMs(p.ms)} (${p.thin ? `*${beyond}, thin*` : beyond})`;
}

function percentilesMarkdown(s: ReportScenario): string | null {
  const columns: { label: string; list: readonly ReportPercentile[] }[] = [];
  for (const row of s.rows) {
    if (row.percentiles.length > 0)
      columns.push({ label: `${escapeMarkdown(row.contestant)} service`, list: row.percentiles });
  }
  for (const row of s.rows) {
    if (row.response_percentiles !== null && row.response_percentiles.length > 0) {
      columns.push({ label: `${escapeMarkdown(row.contestant)} response`, list: row.response_percentiles });
    }
  }
  if (columns.length === 0) return null;
  const ps = [...new Set(columns.flatMap((c) => c.list.map((x) => x.p)))].sort((a, b) => a - b);
  return mdTable(
    ['percentile', ...columns.map((c) => c.label)],
    ps.map((p) => [percentileLabel(p), ...columns.map((c) => percentileCell(findPercentile(c.list, p)))]),
  );
}

function errorsText(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors);
  if (entries.length === 0) return 'none';
  return entries.map(([k, v]) => `${escapeMarkdown(k)}: ${GROUPED.format(v)}`).join(', ');
}

function seriesText(row: ReportRow): string {
  const series = row.series;
  if (series === null || series.t_s.length === 0) return NOT_MEASURED;
  const last = series.t_s[series.t_s.length - 1] ?? 0;
  const maxCpu = Math.max(...series.cpu_percent);
  return `${series.t_s.length} samples over ${formatSignificant(last)} s, CPU up to ${maxCpu.toFixed(0)}%`;
}

function scenarioMarkdown(s: ReportScenario): string {
  const parts = [
    `### ${escapeMarkdown(s.name)}`,
    escapeMarkdown(s.description),
    `*${s.model}${s.model === 'open' || s.model === 'closed' ? ' loop' : ''}* · ${escapeMarkdown(s.setting)} · ${s.repeats} repeat${s.repeats === 1 ? '' : 's'}`,
  ];
  const percentiles = percentilesMarkdown(s);
  if (percentiles !== null) {
    parts.push(
      'Latency percentiles (service time: sent → done; response time, open loop only: scheduled → done), with the samples at or beyond each:',
      percentiles,
    );
  }
  const anyLoad = s.rows.some((r) => r.error_rate !== null || r.dropped !== null || r.series !== null);
  const header = [
    'contestant',
    'completed',
    ...(anyLoad ? ['error rate', 'errors', 'dropped'] : []),
    'median ±MAD',
    'mean RSS',
    'peak RSS',
    ...(anyLoad ? ['resource samples'] : []),
  ];
  parts.push(
    mdTable(
      header,
      s.rows.map((row) => [
        escapeMarkdown(row.contestant),
        GROUPED.format(row.count),
        ...(anyLoad
          ? [
              formatPercent(row.error_rate),
              errorsText(row.errors),
              row.dropped === null ? NOT_MEASURED : GROUPED.format(row.dropped),
            ]
          : []),
        row.median_ms === null ? NOT_MEASURED : `${formatMs(row.median_ms)} ±${formatMs(row.mad_ms)}`,
        formatMiB(row.mean_rss_mb),
        formatMiB(row.peak_rss_mb),
        ...(anyLoad ? [seriesText(row)] : []),
      ]),
    ),
  );
  const failures = s.rows.filter((r) => r.failure !== null);
  for (const row of failures) {
    parts.push(`> **${escapeMarkdown(row.contestant)} failed:** ${escapeMarkdown(row.failure ?? '')}`);
  }
  const thresholds = s.rows.flatMap((row) =>
    row.thresholds.map(
      (t) =>
        `- ${escapeMarkdown(row.contestant)}: ${codeSpan(t.expression)} — ${t.ok ? 'ok' : '**failed**'} (actual ${formatSignificant(t.actual)})`,
    ),
  );
  if (thresholds.length > 0) parts.push(`Thresholds:\n\n${thresholds.join('\n')}`);
  if (s.ceiling != null) parts.push(ceilingMarkdown(s.ceiling));
  if (s.ratios.length > 0) {
    parts.push(
      mdTable(
        ['contestant', 'vs', 'metric', 'factor [95% CI]', 'repeats'],
        s.ratios.map((r) => [
          escapeMarkdown(r.contestant),
          escapeMarkdown(r.baseline),
          r.metric,
          formatRatio(r),
          String(r.repeats),
        ]),
      ),
    );
  }
  return parts.join('\n\n');
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

function ceilingMarkdown(c: ReportCeiling): string {
  const { head, shares } = ceilingSentences(c);
  return [escapeMarkdown(head), ...shares.map((x) => `- ${escapeMarkdown(x)}`)].join('\n');
}

/** Median, minimum and maximum of a few values (cold starts), as "181 ms (177 ms–190 ms)". */
export function formatSpread(values: readonly number[]): string {
  if (values.length === 0) return NOT_MEASURED;
  return `${formatMs(median(values))} (${formatMs(Math.min(...values))}–${formatMs(Math.max(...values))})`;
}

function settingsMarkdown(settings: Readonly<Record<string, unknown>>, differ: ReadonlySet<string>): string {
  const entries = Object.entries(settings);
  if (entries.length === 0) return NOT_MEASURED;
  return entries
    .map(([k, v]) => {
      const text = `${escapeMarkdown(k)}=${escapeMarkdown(formatSetting(v))}`;
      return differ.has(k) ? `**${text}** (differs)` : text;
    })
    .join(', ');
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

/** The Markdown report: the same sections as the HTML page, tables in place of charts. */
/** The words of a hypothesis verdict. */
export function hypothesisVerdict(v: ReportHypothesis['verdict']): string {
  return {
    supported: 'supported',
    rejected: 'rejected',
    inconclusive: 'inconclusive',
    not_measured: 'not measured',
  }[v];
}

export function renderMarkdownReport(report: LabReport): string {
  const out: string[] = [`# ${escapeMarkdown(report.title)}`, escapeMarkdown(report.summary)];
  if (report.headline !== null) {
    const h = report.headline;
    out.push(
      `**Headline — ${escapeMarkdown(h.label)}: ${formatFactor(h.factor)}** [95% CI ${formatSignificant(h.ci95[0])}, ${formatSignificant(h.ci95[1])}]`,
    );
  }
  if (report.warnings.length > 0) {
    out.push(report.warnings.map((w) => `> **Warning:** ${escapeMarkdown(w)}`).join('\n>\n'));
  }
  const baseline = baselineName(report);
  out.push(
    '## Verdict',
    `Ratios against the baseline${baseline !== null ? ` **${escapeMarkdown(baseline)}**` : ''} are oriented so that > 1 favours the contestant, with their 95% bootstrap interval. ` +
      `Incorrect, failed and client-saturated rows are shown but not counted. ${NOT_MEASURED} means not measured` +
      (verdictColumns(report).omitted.length > 0
        ? `; not measured in any scenario: ${verdictColumns(report).omitted.join(', ')}.`
        : '.') +
      (report.scenarios.some((sc) => sc.model === 'open')
        ? ' In open-loop scenarios p99 is the response time.'
        : ''),
    verdictMarkdown(report),
  );
  if (report.hypotheses.length > 0) {
    out.push(
      '## Hypotheses',
      'Each claim needs the ratio to reach its target (oriented so that > 1 favours the contestant): supported when the whole 95% interval is at or above it, rejected when the whole interval is below it, inconclusive otherwise.',
      mdTable(
        ['hypothesis', 'contestant', 'measured', 'needs', 'verdict', 'note'],
        report.hypotheses.map((h) => [
          escapeMarkdown(h.statement),
          `${escapeMarkdown(h.contestant)} vs ${escapeMarkdown(h.baseline)}`,
          h.measured === null ? NOT_MEASURED : formatRatio(h.measured),
          `≥ ${formatFactor(h.target)}`,
          `**${hypothesisVerdict(h.verdict)}**`,
          escapeMarkdown(h.note),
        ]),
      ),
    );
  }
  if (report.scenarios.length > 0) {
    out.push('## Scenarios', ...report.scenarios.map(scenarioMarkdown));
  }
  if (report.cold_starts.length > 0) {
    out.push(
      '## Cold starts',
      'Spawn of a fresh process → first healthy answer, and → first correct response; median (min–max).',
      mdTable(
        ['contestant', 'processes', 'to healthy', 'to first correct'],
        report.cold_starts.map((c) => [
          escapeMarkdown(c.contestant),
          String(Math.max(c.to_healthy_ms.length, c.to_first_correct_ms.length)),
          formatSpread(c.to_healthy_ms),
          formatSpread(c.to_first_correct_ms),
        ]),
      ),
    );
  }
  const differ = new Set(report.settings_differ.map((d) => d.key));
  out.push(
    '## Contestants',
    mdTable(
      ['contestant', 'role', 'how', 'settings', 'resources sampled'],
      report.contestants.map((c) => [
        escapeMarkdown(c.name),
        c.baseline ? 'baseline' : 'contestant',
        codeSpan(c.how),
        settingsMarkdown(c.settings, differ),
        c.resources_sampled ? 'yes' : 'no (given as a URL)',
      ]),
    ),
  );
  if (report.settings_differ.length > 0) {
    out.push(
      '**Settings that differ between contestants — read the comparison with care:**',
      report.settings_differ
        .map(
          (d) =>
            `- **${escapeMarkdown(d.key)}**: ${Object.entries(d.values)
              .map(([name, v]) => `${escapeMarkdown(name)} = ${escapeMarkdown(formatSetting(v))}`)
              .join(', ')}`,
        )
        .join('\n'),
    );
  }
  out.push('## How', report.method.map((m) => `- ${escapeMarkdown(m)}`).join('\n'));
  out.push(
    '## On what',
    environmentFacts(report)
      .map(([k, v]) => `- ${k}: ${escapeMarkdown(v)}`)
      .join('\n'),
  );
  out.push(
    '## Not measured here',
    report.not_measured.length > 0
      ? report.not_measured.map((m) => `- ${escapeMarkdown(m)}`).join('\n')
      : `- ${NOT_MEASURED}`,
  );
  return out.join('\n\n') + '\n';
}
