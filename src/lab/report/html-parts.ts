/**
 * The small pieces of HTML every part of the report page uses: escaping, one colour per contestant (the same in
 * every chart and table), the colour swatch, a figure cell ("—" marked as not measured), a row's status badge and
 * a ratio under a figure.
 */
import { NOT_MEASURED, formatRatio } from './format.js';
import type { LabReport, ReportRatio, ReportRow } from './model.js';
import { rowStatus, type RatioCell } from './rows.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const PALETTE = ['#4e79a7', '#e8772e', '#59a14f', '#b07aa1', '#e15759', '#76b7b2', '#9c755f', '#edc948'];

/** One colour per contestant, in the order of report.contestants, the same in every chart and table. */
export function contestantColours(report: LabReport): ReadonlyMap<string, string> {
  const names = [
    ...report.contestants.map((c) => c.name),
    ...report.scenarios.flatMap((s) => s.rows.map((r) => r.contestant)),
    ...report.cold_starts.map((c) => c.contestant),
  ];
  const colours = new Map<string, string>();
  for (const name of names) {
    if (!colours.has(name)) colours.set(name, PALETTE[colours.size % PALETTE.length] ?? '#666666');
  }
  return colours;
}

/** How the page names each ratio metric. */
export const METRIC_LABEL: Readonly<Record<ReportRatio['metric'], string>> = {
  time: 'time',
  throughput: 'throughput',
  p50: 'p50 latency',
  p99: 'p99 latency',
  peak_rss: 'peak RSS',
  cpu_per_request: 'CPU / request',
};

/** The small square of a contestant's colour before its name. */
export function swatch(colours: ReadonlyMap<string, string>, name: string): string {
  return `<span class="swatch" style="background:${escapeHtml(colours.get(name) ?? '#666666')}"></span>`;
}

/** A verdict cell's ratio under the figure: coloured by its interval, or "not counted" with the reason. */
export function ratioHtml(cellValue: RatioCell): string {
  if (cellValue === null) return '';
  switch (cellValue.kind) {
    case 'baseline':
      return '';
    case 'excluded':
      return `<span class="ratio muted" title="${escapeHtml(cellValue.reason)}">not counted</span>`;
    case 'ratio': {
      const r = cellValue.ratio;
      const cls = r.ci95[0] > 1 ? 'better' : r.ci95[1] < 1 ? 'worse' : 'even';
      const tip = `${METRIC_LABEL[r.metric]}: ${r.contestant} vs ${r.baseline}, 95% bootstrap CI over ${r.repeats} paired repeats; > 1 favours ${r.contestant}`;
      return `<span class="ratio ${cls}" title="${escapeHtml(tip)}">${escapeHtml(formatRatio(r))}</span>`;
    }
  }
}

/** A figure as HTML: escaped, and "—" marked as not measured. */
export function valueHtml(text: string): string {
  return text === NOT_MEASURED
    ? `<span class="nm" title="not measured">${NOT_MEASURED}</span>`
    : escapeHtml(text);
}

/** A row's status badge (and a failed row's reason). */
export function statusHtml(row: ReportRow): string {
  const status = rowStatus(row);
  switch (status.kind) {
    case 'correct':
      return '<span class="badge correct">correct</span>';
    case 'unchecked':
      return '<span class="badge unchecked">not checked</span>';
    case 'incorrect':
      return '<span class="badge bad">incorrect — not counted</span>';
    case 'saturated':
      return '<span class="badge warn">client saturated — excluded</span>';
    case 'skipped':
      return `<span class="badge unchecked">skipped — not counted</span><div class="skipped">${escapeHtml(row.skipped ?? '')}</div>`;
    case 'failed':
      return `<span class="badge bad">failed</span><div class="failure">${escapeHtml(row.failure ?? '')}</div>`;
  }
}
