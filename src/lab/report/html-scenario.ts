/**
 * One scenario's part of the report page: its setting, failures, latency by percentile (chart and table), the
 * load table (completed, errors, dropped, times, memory, CPU), its ceiling, thresholds, and memory and CPU over
 * time.
 */
import { lineChart, percentileChart, type LineSeries, type PercentileLine } from './html-charts.js';
import { escapeHtml as esc, statusHtml, swatch, valueHtml } from './html-parts.js';
import {
  NOT_MEASURED,
  formatCount,
  formatCpu,
  formatMiB,
  formatMs,
  formatNs,
  formatPercent,
  formatSignificant,
  percentileLabel,
} from './format.js';
import type { ReportRow, ReportScenario, ReportSeries } from './model.js';
import { ceilingSentences, findPercentile, percentileColumns, percentilesIn, rowStatus } from './rows.js';
import { figure } from './svg-plot.js';

function percentileTable(s: ReportScenario): string {
  const columns = percentileColumns(s);
  const ps = percentilesIn(columns);
  const head = `<tr><th>Percentile</th>${columns.map((c) => `<th class="num">${esc(c.contestant)}<div class="muted small">${c.kind} time</div></th>`).join('')}</tr>`;
  const rows = ps.map((p) => {
    const cells = columns.map((c) => {
      const x = findPercentile(c.list, p);
      if (x === null) return `<td class="num">${valueHtml(NOT_MEASURED)}</td>`;
      const beyond = `${formatCount(x.samples_beyond)} beyond${x.thin ? ' · thin' : ''}`;
      const tip = x.thin ? ' title="fewer than 10 samples at or beyond it: quote with care"' : '';
      return `<td class="num${x.thin ? ' thin' : ''}"${tip}>${esc(formatMs(x.ms))}<span class="beyond">${esc(beyond)}</span></td>`;
    });
    return `<tr><th scope="row">${esc(percentileLabel(p))}</th>${cells.join('')}</tr>`;
  });
  return `<div class="table-wrap"><table class="compact"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function errorsHtml(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors);
  if (entries.length === 0) return '<span class="muted">none</span>';
  return entries.map(([k, v]) => `<span class="nowrap">${esc(k)}: ${esc(formatCount(v))}</span>`).join(', ');
}

function loadTable(s: ReportScenario, colours: ReadonlyMap<string, string>): string {
  const load = s.rows.some(
    (r) => r.error_rate !== null || r.dropped !== null || Object.keys(r.errors).length > 0,
  );
  const num = (text: string): string => `<td class="num">${valueHtml(text)}</td>`;
  const columns: { title: string; show: boolean; cell: (r: ReportRow) => string }[] = [
    { title: 'Completed', show: true, cell: (r) => num(formatCount(r.count)) },
    { title: 'Error rate', show: load, cell: (r) => num(formatPercent(r.error_rate)) },
    { title: 'Errors', show: load, cell: (r) => `<td>${errorsHtml(r.errors)}</td>` },
    { title: 'Dropped', show: load, cell: (r) => num(formatCount(r.dropped)) },
    {
      title: 'Median ± MAD',
      show: true,
      cell: (r) =>
        r.median_ms === null
          ? num(NOT_MEASURED)
          : `<td class="num">${esc(formatMs(r.median_ms))} <span class="muted">± ${valueHtml(formatMs(r.mad_ms))}</span></td>`,
    },
    {
      title: 'Per item',
      show: s.rows.some((r) => r.ns_per_item !== null),
      cell: (r) => num(formatNs(r.ns_per_item)),
    },
    {
      title: 'Mean RSS',
      show: s.rows.some((r) => r.mean_rss_mb !== null),
      cell: (r) => num(formatMiB(r.mean_rss_mb)),
    },
    { title: 'Peak RSS', show: true, cell: (r) => num(formatMiB(r.peak_rss_mb)) },
    {
      title: 'CPU / request',
      show: s.rows.some((r) => r.cpu_s_per_request !== null),
      cell: (r) => num(formatCpu(r.cpu_s_per_request)),
    },
  ];
  const shown = columns.filter((c) => c.show);
  const head = `<tr><th>Contestant</th>${shown.map((c) => `<th${c.title === 'Errors' ? '' : ' class="num"'}>${esc(c.title)}</th>`).join('')}<th>Outputs</th></tr>`;
  const rows = s.rows.map(
    (r) =>
      `<tr class="status-${rowStatus(r).kind}"><td class="contestant">${swatch(colours, r.contestant)}${esc(r.contestant)}</td>${shown.map((c) => c.cell(r)).join('')}<td>${statusHtml(r)}</td></tr>`,
  );
  return `<div class="table-wrap"><table class="compact"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function thresholdsHtml(s: ReportScenario): string {
  const items = s.rows.flatMap((r) =>
    r.thresholds.map(
      (t) =>
        `<li class="${t.ok ? 'ok' : 'failed'}"><span class="badge ${t.ok ? 'correct' : 'bad'}">${t.ok ? 'pass' : 'fail'}</span> ${esc(r.contestant)}: <code>${esc(t.expression)}</code> <span class="muted">(actual ${esc(formatSignificant(t.actual))})</span></li>`,
    ),
  );
  return items.length === 0 ? '' : `<h4>Thresholds</h4><ul class="thresholds">${items.join('')}</ul>`;
}

function seriesPoints(
  series: ReportSeries,
  pick: (s: ReportSeries) => readonly number[],
): [number, number][] {
  const ys = pick(series);
  const points: [number, number][] = [];
  series.t_s.forEach((t, i) => {
    const y = ys[i];
    if (y !== undefined && Number.isFinite(y) && Number.isFinite(t)) points.push([t, y]);
  });
  return points;
}

function resourceCharts(s: ReportScenario, colours: ReadonlyMap<string, string>): string {
  const sampled = s.rows.filter(
    (r): r is ReportRow & { series: ReportSeries } => r.series !== null && r.series.t_s.length > 1,
  );
  if (sampled.length === 0) return '';
  const line = (pick: (x: ReportSeries) => readonly number[]): LineSeries[] =>
    sampled.map((r) => ({
      label: r.contestant,
      colour: colours.get(r.contestant) ?? '#666666',
      points: seriesPoints(r.series, pick),
    }));
  const memory = lineChart({
    label: `${s.name}: resident memory over time`,
    xTitle: 'time since start of run (s)',
    yTitle: 'RSS (MiB)',
    series: line((x) => x.rss_mb),
  });
  const cpu = lineChart({
    label: `${s.name}: CPU over time`,
    xTitle: 'time since start of run (s)',
    yTitle: 'CPU (% of one core)',
    series: line((x) => x.cpu_percent),
    yMax: 100,
  });
  const notSampled = s.rows.filter((r) => r.series === null).map((r) => esc(r.contestant));
  const note = notSampled.length > 0 ? `<p class="note">Not sampled: ${notSampled.join(', ')}.</p>` : '';
  return `<div class="charts">${figure('Memory (process tree, first repeat)', memory)}${figure('CPU (process tree, first repeat)', cpu)}</div>${note}`;
}

/** One scenario as an <article>, with the anchor the verdict table links to (`scenario-<index>`). */
export function scenarioSection(
  s: ReportScenario,
  index: number,
  colours: ReadonlyMap<string, string>,
): string {
  const parts = [
    `<article class="scenario" id="scenario-${index}"><h3>${esc(s.name)}</h3>`,
    `<p>${esc(s.description)}</p>`,
    `<p class="chips"><span class="chip">${esc(s.model)} ${s.model === 'open' || s.model === 'closed' ? 'loop' : ''}</span><span class="chip">${esc(s.setting)}</span><span class="chip">${s.repeats} repeat${s.repeats === 1 ? '' : 's'}</span></p>`,
  ];
  for (const r of s.rows) {
    if (r.failure !== null) {
      parts.push(
        `<p class="callout bad"><strong>${esc(r.contestant)} failed:</strong> ${esc(r.failure)}</p>`,
      );
    }
  }
  const lines = percentileColumns(s).map((c): PercentileLine => ({
    contestant: c.contestant,
    label: `${c.contestant} (${c.kind} time)`,
    colour: colours.get(c.contestant) ?? '#666666',
    dashed: c.kind === 'response',
    points: c.list,
  }));
  if (lines.length > 0) {
    const title =
      s.model === 'open'
        ? 'Latency by percentile: service time (solid) and response time (dashed)'
        : 'Latency by percentile (service time)';
    parts.push(
      `<div class="pair">${figure(title, percentileChart(`${s.name}: latency by percentile`, lines))}<div><h4>Percentiles</h4>${percentileTable(s)}</div></div>`,
    );
  }
  parts.push(loadTable(s, colours));
  if (s.ceiling != null) {
    const { head, shares } = ceilingSentences(s.ceiling);
    parts.push(
      `<div class="callout ceiling"><p>${esc(head)}</p>${shares.length > 0 ? `<ul>${shares.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}</div>`,
    );
  }
  parts.push(thresholdsHtml(s));
  parts.push(resourceCharts(s, colours));
  parts.push('</article>');
  return parts.join('');
}
