/**
 * The Markdown report of a LabReport: the same sections as the HTML page, with tables where the page has charts.
 * Figures, statuses and ratio cells come from format.ts and rows.ts, shared with the other renderers.
 */
import {
  NOT_MEASURED,
  formatCount,
  formatFactor,
  formatMiB,
  formatMs,
  formatPercent,
  formatRatio,
  formatSetting,
  formatSignificant,
  formatSpread,
  percentileLabel,
} from './format.js';
import type { LabReport, ReportCeiling, ReportPercentile, ReportRow, ReportScenario } from './model.js';
import {
  baselineName,
  ceilingSentences,
  environmentFacts,
  findPercentile,
  hypothesisVerdict,
  percentileColumns,
  percentilesIn,
  ratioCell,
  rowStatus,
  timingSummary,
  verdictColumns,
  type RatioCell,
  type RowStatus,
} from './rows.js';

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
    case 'skipped':
      return `*${escapeMarkdown(status.label)}*`;
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

/** The percentile table of a scenario: every service-time column first, then the response-time ones. */
function percentilesMarkdown(s: ReportScenario): string | null {
  const all = percentileColumns(s);
  const columns = [...all.filter((c) => c.kind === 'service'), ...all.filter((c) => c.kind === 'response')];
  if (columns.length === 0) return null;
  return mdTable(
    ['percentile', ...columns.map((c) => `${escapeMarkdown(c.contestant)} ${c.kind}`)],
    percentilesIn(columns).map((p) => [
      percentileLabel(p),
      ...columns.map((c) => percentileCell(findPercentile(c.list, p))),
    ]),
  );
}

function errorsText(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors);
  if (entries.length === 0) return 'none';
  return entries.map(([k, v]) => `${escapeMarkdown(k)}: ${formatCount(v)}`).join(', ');
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
        formatCount(row.count),
        ...(anyLoad ? [formatPercent(row.error_rate), errorsText(row.errors), formatCount(row.dropped)] : []),
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

function ceilingMarkdown(c: ReportCeiling): string {
  const { head, shares } = ceilingSentences(c);
  return [escapeMarkdown(head), ...shares.map((x) => `- ${escapeMarkdown(x)}`)].join('\n');
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

/** The Markdown report: the same sections as the HTML page, tables in place of charts. */
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
      `Incorrect, failed, skipped and client-saturated rows are shown but not counted. ${NOT_MEASURED} means not measured` +
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
  if (report.timing != null) {
    const { line, rows } = timingSummary(report.timing);
    out.push(
      '## Run time',
      escapeMarkdown(line),
      mdTable(
        ['phase', 'wall time', 'share', 'by contestant'],
        rows.map((r) => [escapeMarkdown(r.phase), r.time, r.share, escapeMarkdown(r.byContestant)]),
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
