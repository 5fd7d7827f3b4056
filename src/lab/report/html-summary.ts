/**
 * The sections of the report page that look across scenarios: the verdict table (every row's figures with its
 * ratio against the baseline), the hypotheses with their verdicts, and the charts across scenarios (ratios with
 * intervals, throughput, median times).
 */
import { horizontalBarChart, verticalBarChart } from './html-charts.js';
import { METRIC_LABEL, escapeHtml as esc, ratioHtml, statusHtml, swatch, valueHtml } from './html-parts.js';
import { NOT_MEASURED, formatCount, formatFactor, formatMs, formatRate, formatRatio } from './format.js';
import type { LabReport, ReportRow } from './model.js';
import {
  baselineName,
  hypothesisVerdict,
  ratioCell,
  ratioCounts,
  rowStatus,
  verdictColumns,
} from './rows.js';
import { figure, type LegendItem } from './svg-plot.js';

/** The verdict table: every row of every scenario, its figures, ratios against the baseline and status. */
export function verdictSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
  const baseline = baselineName(report);
  const { shown: columns, omitted } = verdictColumns(report);
  const head = `<tr><th>Scenario</th><th>Contestant</th>${columns.map((c) => `<th class="num">${esc(c.title)}</th>`).join('')}<th>Outputs</th></tr>`;
  const body: string[] = [];
  report.scenarios.forEach((s, si) => {
    s.rows.forEach((row, i) => {
      const status = rowStatus(row);
      const cls = [`status-${status.kind}`, i === 0 ? 'first' : ''].filter((c) => c !== '').join(' ');
      const scenarioCell =
        i === 0
          ? `<td rowspan="${s.rows.length}" class="scenario"><a href="#scenario-${si}">${esc(s.name)}</a><div class="muted small">${esc(s.model)}</div></td>`
          : '';
      const cells = columns.map((c) => {
        const r = c.column === null ? '' : ratioHtml(ratioCell(s, row, c.column, baseline));
        return `<td class="num">${valueHtml(c.text(row))}${r}</td>`;
      });
      body.push(
        `<tr class="${cls}">${scenarioCell}<td class="contestant">${swatch(colours, row.contestant)}${esc(row.contestant)}${row.contestant === baseline ? ' <span class="muted small">(baseline)</span>' : ''}</td>${cells.join('')}<td>${statusHtml(row)}</td></tr>`,
      );
    });
  });
  return `<section id="verdict"><h2>Verdict</h2>
<p class="lead">Each cell is the contestant’s figure; under it, the ratio against the baseline${baseline !== null ? ` <strong>${esc(baseline)}</strong>` : ''} with its 95% bootstrap interval, oriented so that <strong>&gt; 1 favours the contestant</strong> (green when the whole interval is above 1, red when below). Incorrect, failed, skipped and client-saturated rows are shown but not counted. ${NOT_MEASURED} means not measured${omitted.length > 0 ? `; not measured in any scenario: ${esc(omitted.join(', '))}` : ''}.${report.scenarios.some((s) => s.model === 'open') ? ' In open-loop scenarios p99 is the response time (scheduled → done).' : ''}</p>
<div class="table-wrap"><table class="verdict"><thead>${head}</thead><tbody>${body.join('')}</tbody></table></div></section>`;
}

/** The claims the suite tests, with their verdicts; empty when it states none. */
export function hypothesesSection(report: LabReport): string {
  if (report.hypotheses.length === 0) return '';
  const rows = report.hypotheses.map(
    (h) =>
      `<tr class="hypothesis-${h.verdict}"><td>${esc(h.statement)}</td><td>${esc(h.contestant)} vs ${esc(h.baseline)}</td><td class="num">${h.measured === null ? NOT_MEASURED : esc(formatRatio(h.measured))}</td><td class="num">≥ ${esc(formatFactor(h.target))}</td><td><strong>${esc(hypothesisVerdict(h.verdict))}</strong></td><td class="muted small">${esc(h.note)}</td></tr>`,
  );
  return `<section id="hypotheses"><h2>Hypotheses</h2>
<p class="lead">Each claim needs the ratio to reach its target (oriented so that &gt; 1 favours the contestant): <strong>supported</strong> when the whole 95% interval is at or above it, <strong>rejected</strong> when the whole interval is below it, <strong>inconclusive</strong> otherwise.</p>
<div class="table-wrap"><table class="hypotheses"><thead><tr><th>Hypothesis</th><th>Compared</th><th class="num">Measured</th><th class="num">Needs</th><th>Verdict</th><th>Note</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

/** The charts across scenarios: ratios with intervals, throughput, median times; empty when there is none. */
export function overviewSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
  const figures: string[] = [];
  const counted = report.scenarios.flatMap((s) =>
    s.ratios
      .filter((r) => ratioCounts(s, r) && Number.isFinite(r.factor) && r.factor > 0)
      .map((r) => ({ s, r })),
  );
  const missing = report.scenarios
    .filter((s) => s.ratios.length === 0 || s.ratios.some((r) => !ratioCounts(s, r)))
    .map((s) => {
      const reasons = s.rows.map(rowStatus).filter((st) => !st.counted);
      const why = reasons.length > 0 ? reasons.map((st) => st.label).join('; ') : 'no ratio in this scenario';
      return `<strong>${esc(s.name)}</strong> (${esc(why)})`;
    });
  if (counted.length > 0) {
    const contestants = [...new Set(counted.map((x) => x.r.contestant))];
    const legend: LegendItem[] = contestants.map((c) => ({
      label: `${c} vs ${counted.find((x) => x.r.contestant === c)?.r.baseline ?? ''}`,
      colour: colours.get(c) ?? '#666666',
      mark: 'box',
    }));
    legend.push({ label: '95% bootstrap CI', colour: '#24292f', mark: 'whisker' });
    legend.push({ label: '1× = same as baseline', colour: '#24292f', mark: 'tick' });
    const chart = horizontalBarChart({
      label: 'Ratios against the baseline',
      xTitle: 'factor against the baseline (×, log scale; > 1 favours the contestant)',
      reference: 1,
      legend,
      bars: counted.map(({ s, r }) => ({
        group: s.name,
        label:
          contestants.length > 1 ? `${METRIC_LABEL[r.metric]} · ${r.contestant}` : METRIC_LABEL[r.metric],
        colour: colours.get(r.contestant) ?? '#666666',
        value: r.factor,
        lo: r.ci95[0],
        hi: r.ci95[1],
        tip: `${s.name} ${METRIC_LABEL[r.metric]}: ${formatRatio(r)} over ${r.repeats} repeats`,
        text: formatFactor(r.factor),
      })),
    });
    const note = missing.length > 0 ? `Not in this chart: ${missing.join(', ')}.` : '';
    figures.push(figure('Ratios against the baseline, with 95% intervals', chart, note));
  } else if (report.scenarios.some((s) => s.ratios.length > 0)) {
    figures.push(`<p class="callout warn">No ratio against the baseline counts: ${missing.join(', ')}.</p>`);
  }
  const hasThroughput = (r: ReportRow): r is ReportRow & { throughput_per_s: number } =>
    r.throughput_per_s !== null && Number.isFinite(r.throughput_per_s);
  const withThroughput = report.scenarios.filter((s) => s.rows.some(hasThroughput));
  if (withThroughput.length > 0) {
    const saturated = withThroughput.some((s) =>
      s.rows.some((r) => r.throughput_per_s !== null && !rowStatus(r).counted),
    );
    const names = [...new Set(withThroughput.flatMap((s) => s.rows.map((r) => r.contestant)))];
    const legend: LegendItem[] = names.map((n) => ({
      label: n,
      colour: colours.get(n) ?? '#666666',
      mark: 'box',
    }));
    if (saturated)
      legend.push({
        label: 'not counted (saturated, incorrect, failed or skipped)',
        colour: '#57606a',
        mark: 'hatch',
      });
    const chart = verticalBarChart({
      label: 'Throughput by scenario',
      yTitle: 'throughput (requests/s)',
      legend,
      groups: withThroughput.map((s) => ({
        label: s.name,
        bars: s.rows.filter(hasThroughput).map((r) => ({
          name: r.contestant,
          colour: colours.get(r.contestant) ?? '#666666',
          value: r.throughput_per_s,
          hatched: !rowStatus(r).counted,
          tip: `${s.name}, ${r.contestant}: ${formatRate(r.throughput_per_s)} (${rowStatus(r).label})`,
        })),
      })),
    });
    figures.push(figure('Throughput by scenario (completed requests per second)', chart));
  }
  const timed = report.scenarios.filter(
    (s) =>
      s.rows.every((r) => r.percentiles.length === 0) &&
      s.rows.some((r) => r.median_ms !== null && r.median_ms > 0),
  );
  if (timed.length > 0) {
    const names = [...new Set(timed.flatMap((s) => s.rows.map((r) => r.contestant)))];
    const legend: LegendItem[] = names.map((n) => ({
      label: n,
      colour: colours.get(n) ?? '#666666',
      mark: 'box',
    }));
    legend.push({ label: '± MAD', colour: '#24292f', mark: 'whisker' });
    const chart = horizontalBarChart({
      label: 'Median time by scenario',
      xTitle: 'median time per run (ms, log scale)',
      reference: null,
      legend,
      bars: timed.flatMap((s) =>
        s.rows
          .filter((r) => r.median_ms !== null && r.median_ms > 0)
          .map((r) => {
            const med = r.median_ms ?? 0;
            const mad = r.mad_ms ?? 0;
            return {
              group: s.name,
              label: r.contestant,
              colour: colours.get(r.contestant) ?? '#666666',
              value: med,
              lo: r.mad_ms === null ? null : Math.max(med - mad, med / 10),
              hi: r.mad_ms === null ? null : med + mad,
              tip: `${s.name}, ${r.contestant}: median ${formatMs(med)} ± ${formatMs(r.mad_ms)} (MAD), ${formatCount(r.count)} samples`,
              text: formatMs(med),
            };
          }),
      ),
    });
    figures.push(figure('Median time per run (lower is better)', chart));
  }
  if (figures.length === 0) return '';
  return `<section id="overview"><h2>Across scenarios</h2>${figures.join('')}</section>`;
}
