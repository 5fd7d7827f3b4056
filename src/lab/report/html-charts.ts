/**
 * The report's charts, drawn as inline SVG with svg-plot.ts: resources over time (lines), latency by percentile
 * on a "nines" axis (HdrHistogram's plot), horizontal bars on a log axis with error bars (ratios with their
 * intervals, median times with their spread), vertical grouped bars (throughput across scenarios), and cold
 * starts (a strip of points per contestant with the median marked).
 */
import { formatCount, formatMs, formatSignificant, percentileLabel } from './format.js';
import { escapeHtml as esc } from './html-parts.js';
import type { ReportColdStart, ReportPercentile } from './model.js';
import {
  HATCH_DEFS,
  legendSvg,
  linearAxis,
  logAxis,
  plotBottom,
  plotLeft,
  plotRight,
  plotTop,
  px,
  svgDocument,
  textWidth,
  xAxisSvg,
  yAxisSvg,
  type Axis,
  type Frame,
  type LegendItem,
} from './svg-plot.js';

// Chart: lines over a linear x axis (memory and CPU over time).

export interface LineSeries {
  readonly label: string;
  readonly colour: string;
  readonly points: readonly (readonly [number, number])[];
}

export function lineChart(options: {
  readonly label: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly series: readonly LineSeries[];
  readonly yMax?: number;
}): string {
  const width = 520;
  const legendItems = options.series.map((s): LegendItem => ({
    label: s.label,
    colour: s.colour,
    mark: 'line',
  }));
  const leg = legendSvg(legendItems, 56, 6, width - 70);
  const f: Frame = { width, height: 230 + leg.height, left: 56, right: 16, top: 14 + leg.height, bottom: 44 };
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) => s.points.map((p) => p[1]));
  if (xs.length === 0) xs.push(0, 1);
  const x = linearAxis(Math.min(0, ...xs), Math.max(...xs), plotLeft(f), plotRight(f), 6);
  const y = linearAxis(0, Math.max(options.yMax ?? 0, ...ys), plotBottom(f), plotTop(f), 4);
  const lines = options.series.map((s) => {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(x.map(p[0]))} ${px(y.map(p[1]))}`).join('');
    return `<path d="${d}" fill="none" stroke="${esc(s.colour)}" stroke-width="2" stroke-linejoin="round"><title>${esc(s.label)}</title></path>`;
  });
  return svgDocument(
    width,
    f.height,
    options.label,
    leg.svg + xAxisSvg(x, f, options.xTitle) + yAxisSvg(y, f, options.yTitle) + lines.join(''),
  );
}

// Chart: latency percentiles on a "nines" axis (HdrHistogram's plot): x = -log10(1 - p/100), max at the end.

export interface PercentileLine {
  readonly contestant: string;
  /** "node (service time)": for tooltips. */
  readonly label: string;
  readonly colour: string;
  readonly dashed: boolean;
  readonly points: readonly ReportPercentile[];
}

export function percentileChart(label: string, lines: readonly PercentileLine[]): string {
  const width = 640;
  const colours = new Map<string, string>();
  for (const l of lines) colours.set(l.contestant, l.colour);
  const items: LegendItem[] = [...colours].map(([name, colour]) => ({ label: name, colour, mark: 'box' }));
  items.push({ label: 'service time (sent → done)', colour: '#57606a', mark: 'line' });
  if (lines.some((l) => l.dashed)) {
    items.push({ label: 'response time (scheduled → done)', colour: '#57606a', mark: 'dash' });
  }
  if (lines.some((l) => l.points.some((p) => p.thin))) {
    items.push({ label: 'thin: < 10 samples beyond', colour: '#57606a', mark: 'hollow' });
  }
  const leg = legendSvg(items, 64, 6, width - 80);
  const f: Frame = { width, height: 290 + leg.height, left: 64, right: 24, top: 16 + leg.height, bottom: 46 };
  const finite = lines.flatMap((l) => l.points.filter((p) => p.p < 100).map((p) => p.p));
  const nines = (p: number): number => -Math.log10(1 - Math.min(p, 99.9999) / 100);
  const lastNines = Math.max(3, ...finite.map(nines));
  const position = (p: number): number => (p >= 100 ? Math.ceil(lastNines - 1e-9) + 1 : nines(p));
  const standard = [50, 90, 99, 99.9, 99.99, 99.999].filter((p) => nines(p) <= lastNines + 1e-9);
  const tickPs = [...new Set([...standard, ...finite, 100])].sort((a, b) => a - b);
  const xLo = position(Math.min(50, ...finite));
  const xHi = position(100);
  const xMap = (v: number): number =>
    plotLeft(f) + 10 + ((v - xLo) / (xHi - xLo)) * (plotRight(f) - plotLeft(f) - 20);
  const xAxis: Axis = { map: xMap, ticks: tickPs.map(position) };
  const byPosition = new Map(tickPs.map((p) => [position(p), p]));
  const values = lines.flatMap((l) => l.points.map((p) => p.ms)).filter((v) => v > 0);
  const lo = values.length > 0 ? Math.min(...values) : 1;
  const hi = values.length > 0 ? Math.max(...values) : 1;
  const useLog = hi / lo > 12;
  const y = useLog
    ? logAxis(lo, hi, plotBottom(f), plotTop(f))
    : linearAxis(0, hi, plotBottom(f), plotTop(f), 5);
  const body: string[] = [
    leg.svg,
    xAxisSvg(xAxis, f, 'percentile (log-scaled nines)', (v) => percentileLabel(byPosition.get(v) ?? 100)),
    yAxisSvg(y, f, `latency (ms${useLog ? ', log scale' : ''})`),
  ];
  for (const l of lines) {
    const pts = l.points
      .filter((p) => Number.isFinite(p.ms) && Number.isFinite(p.p))
      .sort((a, b) => a.p - b.p);
    const d = pts
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(xMap(position(p.p)))} ${px(y.map(p.ms))}`)
      .join('');
    const dash = l.dashed ? ' stroke-dasharray="6 4"' : '';
    body.push(`<path d="${d}" fill="none" stroke="${esc(l.colour)}" stroke-width="2"${dash}/>`);
    for (const p of pts) {
      const tip = `${l.label} ${percentileLabel(p.p)}: ${formatMs(p.ms)}, ${formatCount(p.samples_beyond)} samples at or beyond${p.thin ? ' (thin)' : ''}`;
      const fill = p.thin ? '#ffffff' : esc(l.colour);
      body.push(
        `<circle cx="${px(xMap(position(p.p)))}" cy="${px(y.map(p.ms))}" r="${p.thin ? 4 : 3}" fill="${fill}" stroke="${esc(l.colour)}" stroke-width="1.8"><title>${esc(tip)}</title></circle>`,
      );
    }
  }
  return svgDocument(width, f.height, label, body.join(''));
}

// Chart: horizontal bars on a log axis, grouped, with optional error bars (ratios with CIs, median times).

export interface HorizontalBar {
  readonly group: string;
  readonly label: string;
  readonly colour: string;
  readonly value: number;
  /** Error bar bounds, or null. */
  readonly lo: number | null;
  readonly hi: number | null;
  readonly tip: string;
  readonly text: string;
}

export function horizontalBarChart(options: {
  readonly label: string;
  readonly xTitle: string;
  readonly bars: readonly HorizontalBar[];
  /** Bars start at this value (1 for ratios); the left edge of the axis when null. */
  readonly reference: number | null;
  readonly legend: readonly LegendItem[];
}): string {
  const width = 960;
  const rowH = 20;
  const groupGap = 10;
  const groupW = Math.min(200, Math.max(...options.bars.map((b) => textWidth(b.group))) + 16);
  const labelW = Math.min(180, Math.max(...options.bars.map((b) => textWidth(b.label))) + 12);
  const leg = legendSvg(options.legend, groupW + labelW, 6, width - groupW - labelW - 20);
  const groups = [...new Set(options.bars.map((b) => b.group))];
  const plotH = options.bars.length * rowH + (groups.length - 1) * groupGap;
  const f: Frame = {
    width,
    height: plotH + leg.height + 70,
    left: groupW + labelW,
    right: 80,
    top: leg.height + 16,
    bottom: 46,
  };
  const values = options.bars
    .flatMap((b) => [b.value, b.lo ?? b.value, b.hi ?? b.value])
    .filter((v) => v > 0);
  if (values.length === 0) values.push(1);
  if (options.reference !== null) values.push(options.reference);
  // Room on the left for the value of a bar that points left (a ratio below 1).
  const leftRoom = options.reference !== null && options.bars.some((b) => b.value < (options.reference ?? 0));
  const x = logAxis(
    Math.min(...values),
    Math.max(...values),
    plotLeft(f),
    plotRight(f),
    leftRoom ? 1.8 : 1.3,
  );
  const body: string[] = [leg.svg, xAxisSvg(x, f, options.xTitle)];
  let y = plotTop(f);
  let previous: string | null = null;
  for (const bar of options.bars) {
    if (previous !== null && previous !== bar.group) {
      y += groupGap;
      body.push(
        `<line class="sep" x1="4" y1="${px(y - groupGap / 2)}" x2="${px(plotRight(f))}" y2="${px(y - groupGap / 2)}"/>`,
      );
    }
    const cy = y + rowH / 2;
    if (previous !== bar.group) {
      body.push(`<text class="group" x="4" y="${px(cy + 4)}">${esc(bar.group)}</text>`);
    }
    previous = bar.group;
    body.push(
      `<text x="${px(plotLeft(f) - 8)}" y="${px(cy + 4)}" text-anchor="end">${esc(bar.label)}</text>`,
    );
    const start = options.reference === null ? plotLeft(f) : x.map(options.reference);
    const end = x.map(bar.value);
    body.push(
      `<rect x="${px(Math.min(start, end))}" y="${px(y + 3)}" width="${px(Math.max(1, Math.abs(end - start)))}" height="${rowH - 6}" fill="${esc(bar.colour)}" fill-opacity="0.85"><title>${esc(bar.tip)}</title></rect>`,
    );
    if (bar.lo !== null && bar.hi !== null && bar.lo > 0 && bar.hi > 0) {
      const a = px(x.map(bar.lo));
      const b = px(x.map(bar.hi));
      body.push(
        `<path class="whisker" d="M${a} ${px(cy - 5)}v10M${a} ${px(cy)}H${b}M${b} ${px(cy - 5)}v10"><title>${esc(bar.tip)}</title></path>`,
      );
    }
    // The value goes beyond the far end of the bar and its error bar: to the left of bars that point left.
    const pointsLeft = end < start;
    const textX = pointsLeft
      ? Math.min(end, bar.lo === null || bar.lo <= 0 ? end : x.map(bar.lo)) - 6
      : Math.max(end, bar.hi === null || bar.hi <= 0 ? end : x.map(bar.hi)) + 6;
    body.push(
      `<text class="value" x="${px(textX)}" y="${px(cy + 4)}" text-anchor="${pointsLeft ? 'end' : 'start'}">${esc(bar.text)}</text>`,
    );
    y += rowH;
  }
  if (options.reference !== null) {
    const rx = px(x.map(options.reference));
    body.push(
      `<line class="reference" x1="${rx}" y1="${px(plotTop(f) - 4)}" x2="${rx}" y2="${px(plotBottom(f))}"/>`,
    );
  }
  return svgDocument(width, f.height, options.label, body.join(''));
}

// Chart: vertical grouped bars on a linear axis (throughput across scenarios).

export interface VerticalBar {
  readonly name: string;
  readonly colour: string;
  readonly value: number;
  readonly hatched: boolean;
  readonly tip: string;
}

export function verticalBarChart(options: {
  readonly label: string;
  readonly yTitle: string;
  readonly groups: readonly { readonly label: string; readonly bars: readonly VerticalBar[] }[];
  readonly legend: readonly LegendItem[];
}): string {
  const width = 960;
  const leg = legendSvg(options.legend, 70, 6, width - 90);
  const f: Frame = { width, height: 280 + leg.height, left: 70, right: 16, top: 22 + leg.height, bottom: 46 };
  const max = Math.max(...options.groups.flatMap((g) => g.bars.map((b) => b.value)));
  const y = linearAxis(0, max * 1.08, plotBottom(f), plotTop(f), 5);
  const body: string[] = [HATCH_DEFS, leg.svg, yAxisSvg(y, f, options.yTitle)];
  body.push(
    `<line class="axis" x1="${plotLeft(f)}" y1="${px(plotBottom(f))}" x2="${plotRight(f)}" y2="${px(plotBottom(f))}"/>`,
  );
  const slot = (plotRight(f) - plotLeft(f)) / Math.max(1, options.groups.length);
  options.groups.forEach((g, gi) => {
    const n = Math.max(1, g.bars.length);
    const barW = Math.min(56, (slot * 0.7) / n);
    const x0 = plotLeft(f) + gi * slot + (slot - barW * n) / 2;
    g.bars.forEach((b, bi) => {
      const x = x0 + bi * barW;
      const top = y.map(b.value);
      const fill = b.hatched ? 'url(#hatch)' : esc(b.colour);
      body.push(
        `<rect x="${px(x + 2)}" y="${px(top)}" width="${px(barW - 4)}" height="${px(plotBottom(f) - top)}" fill="${fill}" stroke="${esc(b.colour)}" stroke-width="${b.hatched ? 2 : 0}"><title>${esc(b.tip)}</title></rect>`,
        `<text class="value" x="${px(x + barW / 2)}" y="${px(top - 5)}" text-anchor="middle">${esc(formatSignificant(b.value))}</text>`,
      );
    });
    body.push(
      `<text x="${px(plotLeft(f) + gi * slot + slot / 2)}" y="${px(plotBottom(f) + 18)}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  body.push(
    `<text class="axis-title" x="${px((plotLeft(f) + plotRight(f)) / 2)}" y="${px(plotBottom(f) + 36)}" text-anchor="middle">scenario</text>`,
  );
  return svgDocument(width, f.height, options.label, body.join(''));
}

// Chart: a strip of points per contestant and measure, with the median marked (cold starts).

export function stripChart(
  colours: ReadonlyMap<string, string>,
  coldStarts: readonly ReportColdStart[],
): string {
  const width = 960;
  const rows = coldStarts.flatMap((c) => [
    { name: c.contestant, measure: 'to healthy', values: c.to_healthy_ms.filter(Number.isFinite) },
    {
      name: c.contestant,
      measure: 'to first correct',
      values: c.to_first_correct_ms.filter(Number.isFinite),
    },
  ]);
  const items: LegendItem[] = coldStarts.map((c) => ({
    label: c.contestant,
    colour: colours.get(c.contestant) ?? '#666666',
    mark: 'dot',
  }));
  items.push({ label: 'median', colour: '#24292f', mark: 'tick' });
  const labelW = Math.min(260, Math.max(...rows.map((r) => textWidth(`${r.name} · ${r.measure}`))) + 14);
  const leg = legendSvg(items, labelW, 6, width - labelW - 20);
  const rowH = 26;
  const f: Frame = {
    width,
    height: rows.length * rowH + leg.height + 66,
    left: labelW,
    right: 24,
    top: leg.height + 14,
    bottom: 46,
  };
  const all = [1, ...rows.flatMap((r) => [...r.values])];
  const x = linearAxis(0, Math.max(...all) * 1.05, plotLeft(f), plotRight(f), 6);
  const body: string[] = [leg.svg, xAxisSvg(x, f, 'time from spawn (ms)')];
  rows.forEach((r, i) => {
    const cy = plotTop(f) + i * rowH + rowH / 2;
    const colour = esc(colours.get(r.name) ?? '#666666');
    body.push(
      `<text x="${px(plotLeft(f) - 8)}" y="${px(cy + 4)}" text-anchor="end">${esc(`${r.name} · ${r.measure}`)}</text>`,
    );
    for (const v of r.values) {
      body.push(
        `<circle cx="${px(x.map(v))}" cy="${px(cy)}" r="4.5" fill="${colour}" fill-opacity="0.7"><title>${esc(`${r.name} ${r.measure}: ${formatMs(v)}`)}</title></circle>`,
      );
    }
    if (r.values.length > 0) {
      const sorted = [...r.values].sort((a, b) => a - b);
      const mid = sorted.length / 2;
      const med =
        sorted.length % 2 === 1
          ? (sorted[Math.floor(mid)] ?? 0)
          : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
      const mx = px(x.map(med));
      body.push(
        `<line x1="${mx}" y1="${px(cy - 9)}" x2="${mx}" y2="${px(cy + 9)}" stroke="#24292f" stroke-width="2.5"><title>${esc(`median ${formatMs(med)}`)}</title></line>`,
      );
    }
  });
  return svgDocument(width, f.height, 'Cold starts', body.join(''));
}
