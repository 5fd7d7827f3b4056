/**
 * The HTML report: one self-contained page per LabReport that opens offline in any browser and can be mailed or
 * archived as a single file. Nothing is loaded from anywhere — the CSS is inline, a Content-Security-Policy
 * forbids every fetch and every script, and the charts are inline SVG drawn here.
 *
 * The charts are written by hand rather than with a charting library on purpose: the libraries draw in the
 * browser with JavaScript (which the page must not need) or bring a DOM to Node, and the page needs only four
 * shapes — lines, bars with error bars, a strip of points and a percentile plot on a "nines" axis.
 */
import type {
  LabReport,
  ReportColdStart,
  ReportPercentile,
  ReportRatio,
  ReportRow,
  ReportScenario,
  ReportSeries,
} from './model.js';
import {
  NOT_MEASURED,
  baselineName,
  environmentFacts,
  findPercentile,
  formatCount,
  formatCpu,
  formatFactor,
  formatMiB,
  formatMs,
  formatNs,
  formatPercent,
  formatRate,
  formatRatio,
  formatSetting,
  formatSignificant,
  formatSpread,
  hypothesisVerdict,
  percentileLabel,
  ratioCell,
  rowStatus,
  type RatioCell,
  ceilingSentences,
  verdictColumns,
} from './markdown.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const esc = escapeHtml;

// ---------------------------------------------------------------------------------------------------------------
// Colours: one per contestant, in the order of report.contestants, the same in every chart and table.

const PALETTE = ['#4e79a7', '#e8772e', '#59a14f', '#b07aa1', '#e15759', '#76b7b2', '#9c755f', '#edc948'];

function contestantColours(report: LabReport): ReadonlyMap<string, string> {
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

// ---------------------------------------------------------------------------------------------------------------
// Scales and axes.

/** A mapping from data values to pixels, with the tick values to label. */
interface Axis {
  readonly map: (v: number) => number;
  readonly ticks: readonly number[];
}

/** Rounds a pixel coordinate to one decimal, to keep the SVG short. */
const px = (x: number): number => Math.round(x * 10) / 10;

function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

function linearAxis(lo: number, hi: number, from: number, to: number, count = 5): Axis {
  const top = hi > lo ? hi : lo + 1;
  const step = niceStep(top - lo, count);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = min; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  const map = (v: number): number => from + ((v - min) / (max - min)) * (to - from);
  return { map, ticks };
}

function logAxis(lo: number, hi: number, from: number, to: number, pad = 1.3): Axis {
  const min = lo / pad;
  const max = hi * pad;
  const a = Math.log10(min);
  const b = Math.log10(max);
  const decades = b - a;
  const steps = decades > 4 ? [1] : decades > 1.6 ? [1, 3] : [1, 2, 5];
  const ticks: number[] = [];
  for (let e = Math.floor(a); e <= Math.ceil(b); e++) {
    for (const m of steps) {
      const v = m * 10 ** e;
      if (v >= min && v <= max) ticks.push(Number(v.toPrecision(6)));
    }
  }
  const map = (v: number): number => from + ((Math.log10(Math.max(v, min)) - a) / (b - a)) * (to - from);
  return { map, ticks };
}

/** A tick label: the number alone (the unit is in the axis title). */
function tickLabel(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return formatSignificant(v);
  return String(Number(v.toPrecision(3)));
}

/** The plot area of a chart inside its SVG. */
interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

const plotLeft = (f: Frame): number => f.left;
const plotRight = (f: Frame): number => f.width - f.right;
const plotTop = (f: Frame): number => f.top;
const plotBottom = (f: Frame): number => f.height - f.bottom;

function xAxisSvg(axis: Axis, f: Frame, title: string, label: (v: number) => string = tickLabel): string {
  const y = plotBottom(f);
  const parts = [
    `<line class="axis" x1="${px(plotLeft(f))}" y1="${px(y)}" x2="${px(plotRight(f))}" y2="${px(y)}"/>`,
  ];
  for (const t of axis.ticks) {
    const x = px(axis.map(t));
    parts.push(
      `<line class="grid" x1="${x}" y1="${px(plotTop(f))}" x2="${x}" y2="${px(y)}"/>`,
      `<line class="axis" x1="${x}" y1="${px(y)}" x2="${x}" y2="${px(y + 4)}"/>`,
      `<text x="${x}" y="${px(y + 16)}" text-anchor="middle">${esc(label(t))}</text>`,
    );
  }
  parts.push(
    `<text class="axis-title" x="${px((plotLeft(f) + plotRight(f)) / 2)}" y="${px(y + 34)}" text-anchor="middle">${esc(title)}</text>`,
  );
  return parts.join('');
}

function yAxisSvg(axis: Axis, f: Frame, title: string): string {
  const x = plotLeft(f);
  const parts = [
    `<line class="axis" x1="${px(x)}" y1="${px(plotTop(f))}" x2="${px(x)}" y2="${px(plotBottom(f))}"/>`,
  ];
  for (const t of axis.ticks) {
    const y = px(axis.map(t));
    parts.push(
      `<line class="grid" x1="${px(x)}" y1="${y}" x2="${px(plotRight(f))}" y2="${y}"/>`,
      `<text x="${px(x - 6)}" y="${px(y + 4)}" text-anchor="end">${esc(tickLabel(t))}</text>`,
    );
  }
  const cy = (plotTop(f) + plotBottom(f)) / 2;
  parts.push(
    `<text class="axis-title" x="14" y="${px(cy)}" text-anchor="middle" transform="rotate(-90 14 ${px(cy)})">${esc(title)}</text>`,
  );
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Legends.

/** One entry of a chart legend: a colour and how it is drawn. */
interface LegendItem {
  readonly label: string;
  readonly colour: string;
  readonly mark: 'line' | 'dash' | 'box' | 'hatch' | 'hollow' | 'whisker' | 'dot' | 'tick';
}

/** Rough width of a label in the 12px chart font; used only for layout. */
const textWidth = (text: string): number => text.length * 6.9;

function legendMark(item: LegendItem, x: number, y: number): string {
  const c = esc(item.colour);
  switch (item.mark) {
    case 'line':
      return `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${c}" stroke-width="2.5"/>`;
    case 'dash':
      return `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${c}" stroke-width="2.5" stroke-dasharray="5 3"/>`;
    case 'box':
      return `<rect x="${x + 3}" y="${y - 6}" width="12" height="12" rx="2" fill="${c}"/>`;
    case 'hatch':
      return `<rect x="${x + 3}" y="${y - 6}" width="12" height="12" rx="2" fill="url(#hatch)" stroke="${c}"/>`;
    case 'hollow':
      return `<circle cx="${x + 9}" cy="${y}" r="4" fill="#fff" stroke="${c}" stroke-width="1.8"/>`;
    case 'dot':
      return `<circle cx="${x + 9}" cy="${y}" r="4" fill="${c}" fill-opacity="0.75"/>`;
    case 'tick':
      return `<line x1="${x + 9}" y1="${y - 7}" x2="${x + 9}" y2="${y + 7}" stroke="${c}" stroke-width="2.5"/>`;
    case 'whisker':
      return `<path d="M${x + 2} ${y - 4}v8M${x + 2} ${y}h14M${x + 16} ${y - 4}v8" stroke="${c}" stroke-width="1.5" fill="none"/>`;
  }
}

/** Legend rows laid out left to right, wrapping at `width`; returns the SVG and the height it takes. */
function legendSvg(
  items: readonly LegendItem[],
  x0: number,
  y0: number,
  width: number,
): { svg: string; height: number } {
  let x = x0;
  let y = y0 + 8;
  const parts: string[] = [];
  for (const item of items) {
    const w = 26 + textWidth(item.label) + 16;
    if (x > x0 && x + w > x0 + width) {
      x = x0;
      y += 18;
    }
    parts.push(legendMark(item, x, y), `<text x="${px(x + 24)}" y="${px(y + 4)}">${esc(item.label)}</text>`);
    x += w;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: y - y0 + 14 };
}

const HATCH_DEFS =
  '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
  '<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#8c959f" stroke-width="2.5"/></pattern></defs>';

function svgDocument(width: number, height: number, label: string, body: string): string {
  return `<svg class="chart" viewBox="0 0 ${width} ${px(height)}" width="${width}" height="${px(height)}" style="max-width:${width}px" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${body}</svg>`;
}

function figure(caption: string, svg: string, note = ''): string {
  return `<figure><figcaption>${esc(caption)}</figcaption>${svg}${note !== '' ? `<p class="note">${note}</p>` : ''}</figure>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Chart: lines over a linear x axis (memory and CPU over time).

interface LineSeries {
  readonly label: string;
  readonly colour: string;
  readonly points: readonly (readonly [number, number])[];
}

function lineChart(options: {
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

// ---------------------------------------------------------------------------------------------------------------
// Chart: latency percentiles on a "nines" axis (HdrHistogram's plot): x = -log10(1 - p/100), max at the end.

interface PercentileLine {
  readonly contestant: string;
  /** "node (service time)": for tooltips. */
  readonly label: string;
  readonly colour: string;
  readonly dashed: boolean;
  readonly points: readonly ReportPercentile[];
}

function percentileChart(label: string, lines: readonly PercentileLine[]): string {
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

// ---------------------------------------------------------------------------------------------------------------
// Chart: horizontal bars on a log axis, grouped, with optional error bars (ratios with CIs, median times).

interface HorizontalBar {
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

function horizontalBarChart(options: {
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

// ---------------------------------------------------------------------------------------------------------------
// Chart: vertical grouped bars on a linear axis (throughput across scenarios).

interface VerticalBar {
  readonly name: string;
  readonly colour: string;
  readonly value: number;
  readonly hatched: boolean;
  readonly tip: string;
}

function verticalBarChart(options: {
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

// ---------------------------------------------------------------------------------------------------------------
// Chart: a strip of points per contestant and measure, with the median marked (cold starts).

function stripChart(colours: ReadonlyMap<string, string>, coldStarts: readonly ReportColdStart[]): string {
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

// ---------------------------------------------------------------------------------------------------------------
// Page sections.

const METRIC_LABEL: Readonly<Record<ReportRatio['metric'], string>> = {
  time: 'time',
  throughput: 'throughput',
  p50: 'p50 latency',
  p99: 'p99 latency',
  peak_rss: 'peak RSS',
  cpu_per_request: 'CPU / request',
};

function swatch(colours: ReadonlyMap<string, string>, name: string): string {
  return `<span class="swatch" style="background:${esc(colours.get(name) ?? '#666666')}"></span>`;
}

function ratioHtml(cellValue: RatioCell): string {
  if (cellValue === null) return '';
  switch (cellValue.kind) {
    case 'baseline':
      return '';
    case 'excluded':
      return `<span class="ratio muted" title="${esc(cellValue.reason)}">not counted</span>`;
    case 'ratio': {
      const r = cellValue.ratio;
      const cls = r.ci95[0] > 1 ? 'better' : r.ci95[1] < 1 ? 'worse' : 'even';
      const tip = `${METRIC_LABEL[r.metric]}: ${r.contestant} vs ${r.baseline}, 95% bootstrap CI over ${r.repeats} paired repeats; > 1 favours ${r.contestant}`;
      return `<span class="ratio ${cls}" title="${esc(tip)}">${esc(formatRatio(r))}</span>`;
    }
  }
}

function value(text: string): string {
  return text === NOT_MEASURED ? `<span class="nm" title="not measured">${NOT_MEASURED}</span>` : esc(text);
}

function statusHtml(row: ReportRow): string {
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
    case 'failed':
      return `<span class="badge bad">failed</span><div class="failure">${esc(row.failure ?? '')}</div>`;
  }
}

function verdictSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
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
        return `<td class="num">${value(c.text(row))}${r}</td>`;
      });
      body.push(
        `<tr class="${cls}">${scenarioCell}<td class="contestant">${swatch(colours, row.contestant)}${esc(row.contestant)}${row.contestant === baseline ? ' <span class="muted small">(baseline)</span>' : ''}</td>${cells.join('')}<td>${statusHtml(row)}</td></tr>`,
      );
    });
  });
  return `<section id="verdict"><h2>Verdict</h2>
<p class="lead">Each cell is the contestant’s figure; under it, the ratio against the baseline${baseline !== null ? ` <strong>${esc(baseline)}</strong>` : ''} with its 95% bootstrap interval, oriented so that <strong>&gt; 1 favours the contestant</strong> (green when the whole interval is above 1, red when below). Incorrect, failed and client-saturated rows are shown but not counted. ${NOT_MEASURED} means not measured${omitted.length > 0 ? `; not measured in any scenario: ${esc(omitted.join(', '))}` : ''}.${report.scenarios.some((s) => s.model === 'open') ? ' In open-loop scenarios p99 is the response time (scheduled → done).' : ''}</p>
<div class="table-wrap"><table class="verdict"><thead>${head}</thead><tbody>${body.join('')}</tbody></table></div></section>`;
}

function hypothesesSection(report: LabReport): string {
  if (report.hypotheses.length === 0) return '';
  const rows = report.hypotheses.map(
    (h) =>
      `<tr class="hypothesis-${h.verdict}"><td>${esc(h.statement)}</td><td>${esc(h.contestant)} vs ${esc(h.baseline)}</td><td class="num">${h.measured === null ? NOT_MEASURED : esc(formatRatio(h.measured))}</td><td class="num">≥ ${esc(formatFactor(h.target))}</td><td><strong>${esc(hypothesisVerdict(h.verdict))}</strong></td><td class="muted small">${esc(h.note)}</td></tr>`,
  );
  return `<section id="hypotheses"><h2>Hypotheses</h2>
<p class="lead">Each claim needs the ratio to reach its target (oriented so that &gt; 1 favours the contestant): <strong>supported</strong> when the whole 95% interval is at or above it, <strong>rejected</strong> when the whole interval is below it, <strong>inconclusive</strong> otherwise.</p>
<div class="table-wrap"><table class="hypotheses"><thead><tr><th>Hypothesis</th><th>Compared</th><th class="num">Measured</th><th class="num">Needs</th><th>Verdict</th><th>Note</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

/** True when both the contestant's row and the baseline's row of a ratio may be compared. */
function ratioCounts(s: ReportScenario, r: ReportRatio): boolean {
  const own = s.rows.find((x) => x.contestant === r.contestant);
  const base = s.rows.find((x) => x.contestant === r.baseline);
  return (own === undefined || rowStatus(own).counted) && (base === undefined || rowStatus(base).counted);
}

function overviewSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
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
        label: 'not counted (saturated, incorrect or failed)',
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

function percentileTable(s: ReportScenario): string {
  const columns: { name: string; kind: string; list: readonly ReportPercentile[] }[] = [];
  for (const row of s.rows) {
    if (row.percentiles.length > 0)
      columns.push({ name: row.contestant, kind: 'service', list: row.percentiles });
    if (row.response_percentiles !== null && row.response_percentiles.length > 0) {
      columns.push({ name: row.contestant, kind: 'response', list: row.response_percentiles });
    }
  }
  const ps = [...new Set(columns.flatMap((c) => c.list.map((x) => x.p)))].sort((a, b) => a - b);
  const head = `<tr><th>Percentile</th>${columns.map((c) => `<th class="num">${esc(c.name)}<div class="muted small">${c.kind} time</div></th>`).join('')}</tr>`;
  const rows = ps.map((p) => {
    const cells = columns.map((c) => {
      const x = findPercentile(c.list, p);
      if (x === null) return `<td class="num">${value(NOT_MEASURED)}</td>`;
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
  const num = (text: string): string => `<td class="num">${value(text)}</td>`;
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
          : `<td class="num">${esc(formatMs(r.median_ms))} <span class="muted">± ${value(formatMs(r.mad_ms))}</span></td>`,
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

function scenarioSection(s: ReportScenario, index: number, colours: ReadonlyMap<string, string>): string {
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
  const lines: PercentileLine[] = [];
  for (const r of s.rows) {
    const colour = colours.get(r.contestant) ?? '#666666';
    if (r.percentiles.length > 0) {
      lines.push({
        contestant: r.contestant,
        label: `${r.contestant} (service time)`,
        colour,
        dashed: false,
        points: r.percentiles,
      });
    }
    if (r.response_percentiles !== null && r.response_percentiles.length > 0) {
      lines.push({
        contestant: r.contestant,
        label: `${r.contestant} (response time)`,
        colour,
        dashed: true,
        points: r.response_percentiles,
      });
    }
  }
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

function coldStartSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
  if (report.cold_starts.length === 0) return '';
  const rows = report.cold_starts.map(
    (c) =>
      `<tr><td class="contestant">${swatch(colours, c.contestant)}${esc(c.contestant)}</td><td class="num">${Math.max(c.to_healthy_ms.length, c.to_first_correct_ms.length)}</td><td class="num">${value(formatSpread(c.to_healthy_ms))}</td><td class="num">${value(formatSpread(c.to_first_correct_ms))}</td></tr>`,
  );
  const hasValues = report.cold_starts.some((c) => c.to_healthy_ms.length + c.to_first_correct_ms.length > 0);
  return `<section id="cold-starts"><h2>Cold starts</h2>
<p class="lead">Spawn of a fresh process → first healthy answer, and → first correct response; one point per process.</p>
${hasValues ? figure('Cold starts (lower is better)', stripChart(colours, report.cold_starts)) : ''}
<div class="table-wrap"><table class="compact"><thead><tr><th>Contestant</th><th class="num">Processes</th><th class="num">To healthy: median (min–max)</th><th class="num">To first correct: median (min–max)</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

function contestantsSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
  const differ = new Set(report.settings_differ.map((d) => d.key));
  const rows = report.contestants.map((c) => {
    const settings = Object.entries(c.settings);
    const settingsHtml =
      settings.length === 0
        ? value(NOT_MEASURED)
        : `<ul class="settings">${settings
            .map(
              ([k, v]) =>
                `<li${differ.has(k) ? ' class="differs" title="differs between contestants"' : ''}><code>${esc(k)}</code> = ${esc(formatSetting(v))}${differ.has(k) ? ' <span class="badge warn">differs</span>' : ''}</li>`,
            )
            .join('')}</ul>`;
    return `<tr><td class="contestant">${swatch(colours, c.name)}<strong>${esc(c.name)}</strong></td><td>${c.baseline ? '<span class="badge unchecked">baseline</span>' : 'contestant'}</td><td><code class="cmd">${esc(c.how)}</code></td><td>${settingsHtml}</td><td>${c.resources_sampled ? 'yes' : '<span class="muted">no (given as a URL)</span>'}</td></tr>`;
  });
  let differHtml = '';
  if (report.settings_differ.length > 0) {
    const items = report.settings_differ.map(
      (d) =>
        `<li><code>${esc(d.key)}</code>: ${Object.entries(d.values)
          .map(([name, v]) => `${esc(name)} = <strong>${esc(formatSetting(v))}</strong>`)
          .join(', ')}</li>`,
    );
    differHtml = `<div class="callout warn"><strong>Settings that differ between contestants</strong> — read the comparison with care:<ul>${items.join('')}</ul></div>`;
  }
  return `<section id="contestants"><h2>Contestants</h2>${differHtml}
<div class="table-wrap"><table><thead><tr><th>Contestant</th><th>Role</th><th>How it was run</th><th>Settings</th><th>Resources sampled</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

function listSection(id: string, title: string, items: readonly string[]): string {
  const body =
    items.length > 0
      ? `<ul>${items.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`
      : `<p>${value(NOT_MEASURED)}</p>`;
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

function environmentSection(report: LabReport): string {
  const rows = environmentFacts(report).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${value(v)}</dd>`);
  return `<section id="on-what"><h2>On what</h2><dl class="env">${rows.join('')}</dl></section>`;
}

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--soft:#f6f8fa;--good:#1a7f37;--good-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--warn:#7d4e00;--warn-bg:#fff8c5;--warn-line:#d4a72c;--link:#0969da}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:36px 28px 72px}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
h1{font-size:30px;line-height:1.2;margin:0 0 6px;letter-spacing:-.01em}
h2{font-size:21px;margin:44px 0 14px;padding-bottom:6px;border-bottom:1px solid var(--border)}
h3{font-size:18px;margin:0 0 6px}
h4{font-size:14px;margin:18px 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
p{margin:8px 0}
.meta,.muted{color:var(--muted)}.small{font-size:12px}
.summary{font-size:16px;max-width:900px}
.headline{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 18px;margin:22px 0;padding:18px 22px;border:1px solid var(--border);border-radius:10px;background:var(--soft)}
.headline .factor{font-size:42px;font-weight:700;line-height:1;font-variant-numeric:tabular-nums}
.headline .ci{font-size:16px;color:var(--muted);font-variant-numeric:tabular-nums}
.headline .label{flex-basis:100%;color:var(--fg)}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:13.5px;padding:10px 0;border-top:1px solid var(--border);border-bottom:1px solid var(--border)}
.warnings{margin:22px 0;padding:14px 18px;border:1px solid var(--warn-line);border-left:6px solid #bf8700;border-radius:8px;background:var(--warn-bg)}
.warnings h2{margin:0 0 6px;padding:0;border:0;font-size:17px;color:var(--warn)}
.warnings ul{margin:4px 0 0;padding-left:20px}
.table-wrap{overflow-x:auto;margin:10px 0}
table{border-collapse:collapse;width:100%;font-size:13.5px;font-variant-numeric:tabular-nums}
th,td{padding:7px 9px;border-bottom:1px solid var(--border);text-align:left;vertical-align:top}
thead th{background:var(--soft);font-weight:600;white-space:nowrap;border-bottom:2px solid var(--border)}
tbody th{font-weight:600}
.num{text-align:right;white-space:nowrap}
table.verdict td.scenario{font-weight:600;border-right:1px solid var(--border);background:#fff}
table.verdict tr.first td{border-top:2px solid var(--border)}
td.contestant{white-space:nowrap}
.ratio{display:block;font-size:12px;margin-top:2px;font-weight:600}
.ratio.better{color:var(--good)}.ratio.worse{color:var(--bad)}.ratio.even,.ratio.muted{color:var(--muted);font-weight:400}
tr.status-incorrect td:not(.scenario),tr.status-failed td:not(.scenario){background:#fff6f5}
tr.status-saturated td:not(.scenario){background:#fffcea}
tr.hypothesis-supported td{background:#f3fbf4}tr.hypothesis-rejected td{background:#fff6f5}
tr.status-incorrect td.num,tr.status-saturated td.num,tr.status-failed td.num{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap;line-height:1.6}
.badge.correct{background:var(--good-bg);color:#116329}.badge.bad{background:var(--bad-bg);color:var(--bad)}
.badge.warn{background:var(--warn-bg);color:var(--warn);border:1px solid #eed888}.badge.unchecked{background:var(--soft);color:var(--muted);border:1px solid var(--border)}
td .badge{white-space:normal;border-radius:6px;max-width:190px;line-height:1.35;padding:2px 8px}
.failure{font-size:12px;color:var(--bad);margin-top:3px;max-width:320px;white-space:normal}
.nm{color:#8c959f}.nowrap{white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:7px}
.beyond{display:block;font-size:11px;color:var(--muted)}
td.thin{background:#fffcea}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.chip{display:inline-block;padding:2px 10px;border:1px solid var(--border);border-radius:999px;font-size:12.5px;background:var(--soft)}
article.scenario{margin:26px 0 36px;padding:22px 24px;border:1px solid var(--border);border-radius:10px}
.pair{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}.pair>figure{flex:1 1 560px;max-width:660px}.pair>div{flex:1 1 340px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:20px}
figure{margin:14px 0}
figcaption{font-size:13.5px;font-weight:600;margin-bottom:6px}
svg.chart{display:block;width:100%;height:auto;max-width:100%}
svg.chart text{font-family:inherit;font-size:12px;fill:#3d444d}
svg.chart text.axis-title{font-size:12.5px;fill:#57606a;font-weight:600}
svg.chart text.group{font-weight:600;fill:#1f2328}
svg.chart text.value{fill:#1f2328;font-size:11.5px}
svg.chart .axis{stroke:#8c959f;stroke-width:1}
svg.chart .grid{stroke:#eaeef2;stroke-width:1}
svg.chart .sep{stroke:#eaeef2;stroke-width:1}
svg.chart .reference{stroke:#24292f;stroke-width:1.2;stroke-dasharray:3 3}
svg.chart .whisker{stroke:#24292f;stroke-width:1.4;fill:none}
.note{font-size:12.5px;color:var(--muted)}
.callout{padding:10px 14px;border-radius:8px;margin:12px 0}
.callout.warn{background:var(--warn-bg);border:1px solid var(--warn-line)}
.callout.bad{background:var(--bad-bg);border:1px solid #ffcecb}
.callout.ceiling{border:1px dashed var(--line,#d0d7de)}
.callout ul{margin:6px 0 0;padding-left:20px}
ul.settings,ul.thresholds{list-style:none;margin:0;padding:0}
ul.settings li{padding:1px 4px;border-radius:4px;white-space:nowrap}
li.differs{background:var(--warn-bg)}
ul.thresholds li{margin:4px 0;font-size:13.5px}
code{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px;background:var(--soft);padding:1px 5px;border-radius:4px}
code.cmd{word-break:break-all}
dl.env{display:grid;grid-template-columns:max-content 1fr;gap:6px 24px;margin:0;font-size:14px}
dl.env dt{color:var(--muted)}dl.env dd{margin:0}
footer{margin-top:48px;font-size:12.5px;color:var(--muted)}
@media (max-width:900px){.charts{grid-template-columns:1fr}}
@media print{main{max-width:none;padding:0}article.scenario,figure,tr{break-inside:avoid}}
`;

function reportBody(report: LabReport): string {
  const colours = contestantColours(report);
  const headline =
    report.headline === null
      ? ''
      : `<div class="headline"><span class="factor">${esc(formatFactor(report.headline.factor))}</span><span class="ci">95% CI [${esc(formatSignificant(report.headline.ci95[0]))}, ${esc(formatSignificant(report.headline.ci95[1]))}]</span><span class="label">${esc(report.headline.label)}</span></div>`;
  const warnings =
    report.warnings.length === 0
      ? ''
      : `<section class="warnings" id="warnings" role="alert"><h2>⚠ Warning${report.warnings.length > 1 ? 's' : ''} — read before quoting any figure</h2><ul>${report.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>`;
  const overview = overviewSection(report, colours);
  const coldStarts = coldStartSection(report, colours);
  const toc: [string, string][] = [['verdict', 'Verdict']];
  if (report.hypotheses.length > 0) toc.push(['hypotheses', 'Hypotheses']);
  if (overview !== '') toc.push(['overview', 'Across scenarios']);
  if (report.scenarios.length > 0) toc.push(['scenarios', 'Scenarios']);
  if (coldStarts !== '') toc.push(['cold-starts', 'Cold starts']);
  toc.push(
    ['contestants', 'Contestants'],
    ['how', 'How'],
    ['on-what', 'On what'],
    ['not-measured', 'Not measured here'],
  );
  const env = report.environment;
  return `<header>
<h1>${esc(report.title)}</h1>
<p class="meta">Suite <strong>${esc(report.suite)}</strong> · generated ${esc(report.generated_at)} · pitlane ${esc(env.pitlane_version)}${env.git_commit !== null ? ` (${esc(env.git_commit)})` : ''} · ${esc(env.cpu_model)}, ${env.cores} cores</p>
</header>
${headline}
<p class="summary">${esc(report.summary)}</p>
${warnings}
<nav class="toc">${toc.map(([id, label]) => `<a href="#${id}">${esc(label)}</a>`).join('')}</nav>
${verdictSection(report, colours)}
${hypothesesSection(report)}
${overview}
${report.scenarios.length > 0 ? `<section id="scenarios"><h2>Scenarios</h2>${report.scenarios.map((s, i) => scenarioSection(s, i, colours)).join('\n')}</section>` : ''}
${coldStarts}
${contestantsSection(report, colours)}
${listSection('how', 'How', report.method)}
${environmentSection(report)}
${listSection('not-measured', 'Not measured here', report.not_measured)}
<footer>Generated by pitlane ${esc(env.pitlane_version)} from the ${esc(report.suite)} suite. Times are medians unless stated; ratios carry 95% bootstrap intervals over paired repeats; ${NOT_MEASURED} means not measured.</footer>
`;
}

/** The page around report bodies: self-contained, no network, no script. */
function htmlPage(title: string, version: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="pitlane ${esc(version)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}</main>
</body>
</html>
`;
}

/**
 * The whole report as one self-contained HTML page: no network access, no script, charts as inline SVG.
 * Every piece of text from the report is escaped; `null` figures read "—" (not measured).
 */
export function renderHtmlReport(report: LabReport): string {
  return htmlPage(report.title, report.environment.pitlane_version, reportBody(report));
}

/** One suite of a report set: its report, or why it has none. */
export interface ReportSetEntry {
  readonly name: string;
  readonly report: LabReport | null;
  /** Link to the suite's own report page, relative to the set's page. */
  readonly href: string | null;
  readonly failure: string | null;
  readonly minutes: number;
}

/**
 * Several suites' reports on one self-contained page (the default suite of `npm start`): a summary table with
 * each suite's headline and warnings count, then every report in full, its ids prefixed so links stay inside it
 * and its headings one level down.
 */
export function renderHtmlReportSet(
  title: string,
  intro: string,
  entries: readonly ReportSetEntry[],
): string {
  const version = entries.find((e) => e.report !== null)?.report?.environment.pitlane_version ?? '';
  const env = entries.find((e) => e.report !== null)?.report?.environment;
  const rows = entries.map((e) => {
    const h = e.report?.headline;
    const headline =
      h === null || h === undefined
        ? NOT_MEASURED
        : `${esc(formatFactor(h.factor))} <span class="muted small">[${esc(formatSignificant(h.ci95[0]))}, ${esc(formatSignificant(h.ci95[1]))}] ${esc(h.label)}</span>`;
    const hyp = e.report?.hypotheses ?? [];
    const verdicts = hyp.length === 0 ? '' : hyp.map((x) => esc(hypothesisVerdict(x.verdict))).join(', ');
    const status =
      e.failure !== null
        ? `<span class="badge bad">failed</span> <span class="small">${esc(e.failure)}</span>`
        : `${e.report?.warnings.length ?? 0} warning(s)`;
    return `<tr><td><a href="#suite-${esc(e.name)}">${esc(e.name)}</a>${e.href !== null ? ` <span class="small">(<a href="${esc(e.href)}">own page</a>)</span>` : ''}</td><td>${headline}</td><td>${verdicts === '' ? NOT_MEASURED : verdicts}</td><td>${status}</td><td class="num">${e.minutes.toFixed(1)} min</td></tr>`;
  });
  const sections = entries.map((e) => {
    const inner =
      e.report === null
        ? `<h2>${esc(e.name)}</h2><p class="callout bad">This suite did not run: ${esc(e.failure ?? 'unknown')}</p>`
        : nestedBody(reportBody(e.report), `${e.name}-`);
    return `<section class="suite" id="suite-${esc(e.name)}">${inner}</section>`;
  });
  const body = `<header>
<h1>${esc(title)}</h1>
<p class="meta">generated ${esc(new Date().toISOString())}${env !== undefined ? ` · pitlane ${esc(env.pitlane_version)}${env.git_commit !== null ? ` (${esc(env.git_commit)})` : ''} · ${esc(env.cpu_model)}, ${env.cores} cores` : ''}</p>
</header>
<p class="summary">${esc(intro)}</p>
<section id="suites"><h2>Suites</h2><div class="table-wrap"><table><thead><tr><th>Suite</th><th>Headline</th><th>Hypotheses</th><th>Status</th><th class="num">Took</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>
${sections.join('\n')}
`;
  return htmlPage(title, version, body);
}

/** A report body placed inside a page of several: ids prefixed (links follow), headings one level down. */
function nestedBody(html: string, prefix: string): string {
  return html
    .replace(/ id="(?!hatch")/g, ` id="${prefix}`)
    .replace(/ href="#/g, ` href="#${prefix}`)
    .replace(/<(\/?)h([1-5])\b/g, (_m, slash: string, level: string) => `<${slash}h${Number(level) + 1}`);
}
