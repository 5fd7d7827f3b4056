/**
 * The terminal table, for every suite kind: one line per contestant and scenario with throughput (or the median
 * where there is no throughput), p99, peak RSS, the ratio against the baseline with its interval, and the row's
 * status; then the headline, the legend and the warnings. Drawn from the LabReport, like the Markdown and HTML.
 */
import { NOT_MEASURED, formatMiB, formatMs, formatRate, formatRatio } from './format.js';
import type { LabReport, ReportRow, ReportScenario } from './model.js';
import {
  baselineName,
  p99Of,
  ratioCell,
  rowStatus,
  timingSummary,
  type RowStatus,
  type VerdictColumn,
} from './rows.js';

/**
 * The ratio the terminal table quotes for a row: p99 in open loop (where throughput is the offered rate), else
 * throughput where measured, else time or p50.
 */
function primaryRatio(scenario: ReportScenario, row: ReportRow, baseline: string | null): string {
  const column: VerdictColumn =
    scenario.model === 'open' ? 'p99' : row.throughput_per_s !== null ? 'throughput' : 'median';
  const cellValue = ratioCell(scenario, row, column, baseline);
  if (cellValue === null) return NOT_MEASURED;
  switch (cellValue.kind) {
    case 'baseline':
      return 'baseline';
    case 'excluded':
      return 'not counted';
    case 'ratio':
      return `${formatRatio(cellValue.ratio)} ${cellValue.ratio.metric}`;
  }
}

function statusMark(status: RowStatus): string {
  switch (status.kind) {
    case 'correct':
      return 'ok';
    case 'unchecked':
      return 'unchecked';
    case 'incorrect':
      return 'INCORRECT (not counted)';
    case 'saturated':
      return 'SATURATED (excluded)';
    case 'skipped':
      return `skipped: ${status.label.slice('skipped: '.length)}`;
    case 'failed':
      return `FAILED: ${status.label.slice('failed: '.length)}`;
  }
}

/**
 * The compact table for the terminal: one line per contestant and scenario with throughput (or the median
 * where there is no throughput), p99, peak RSS, the ratio against the baseline with its interval, and marks.
 */
export function renderTerminalTable(report: LabReport): string {
  const baseline = baselineName(report);
  const header = [
    'scenario',
    'contestant',
    'throughput/median',
    'p99',
    'peak RSS',
    'ratio [95% CI]',
    'status',
  ];
  const lines: string[][] = [header];
  for (const s of report.scenarios) {
    s.rows.forEach((row, i) => {
      lines.push([
        i === 0 ? s.name : '',
        row.contestant + (row.contestant === baseline ? '*' : ''),
        row.throughput_per_s !== null ? formatRate(row.throughput_per_s) : formatMs(row.median_ms),
        formatMs(p99Of(row)),
        formatMiB(row.peak_rss_mb),
        primaryRatio(s, row, baseline),
        statusMark(rowStatus(row)),
      ]);
    });
  }
  const clean = lines.map((cells) => cells.map((c) => c.replace(/[\r\n\t]+/g, ' ')));
  const widths = header.map((_, col) => Math.max(...clean.map((cells) => (cells[col] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((c, col) => c.padEnd(widths[col] ?? 0))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const [head, ...body] = clean;
  const notes = [
    `* baseline${baseline !== null ? ` (${baseline})` : ''}; ratios > 1 favour the contestant; ${NOT_MEASURED} = not measured`,
  ];
  if (report.headline !== null) {
    notes.unshift(`${report.headline.label}: ${formatRatio(report.headline)}`);
  }
  if (report.timing != null) notes.push(timingSummary(report.timing).line);
  for (const w of report.warnings) notes.push(`warning: ${w}`);
  return [render(head ?? header), rule, ...body.map(render), '', ...notes].join('\n') + '\n';
}
