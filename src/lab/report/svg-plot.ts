/**
 * The drawing primitives of the report's charts, as inline SVG text: linear and logarithmic scales with ticks,
 * axes with titles, legends that wrap, the hatch pattern, and the <svg> and <figure> around a chart. Written here
 * rather than with a charting library: the page must work without script, and needs only these few shapes.
 */
import { formatSignificant } from './format.js';
import { escapeHtml as esc } from './html-parts.js';

// Scales and axes.

/** A mapping from data values to pixels, with the tick values to label. */
export interface Axis {
  readonly map: (v: number) => number;
  readonly ticks: readonly number[];
}

/** Rounds a pixel coordinate to one decimal, to keep the SVG short. */
export const px = (x: number): number => Math.round(x * 10) / 10;

function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

export function linearAxis(lo: number, hi: number, from: number, to: number, count = 5): Axis {
  const top = hi > lo ? hi : lo + 1;
  const step = niceStep(top - lo, count);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = min; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  const map = (v: number): number => from + ((v - min) / (max - min)) * (to - from);
  return { map, ticks };
}

export function logAxis(lo: number, hi: number, from: number, to: number, pad = 1.3): Axis {
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
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return formatSignificant(v);
  return String(Number(v.toPrecision(3)));
}

/** The plot area of a chart inside its SVG. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

export const plotLeft = (f: Frame): number => f.left;
export const plotRight = (f: Frame): number => f.width - f.right;
export const plotTop = (f: Frame): number => f.top;
export const plotBottom = (f: Frame): number => f.height - f.bottom;

export function xAxisSvg(
  axis: Axis,
  f: Frame,
  title: string,
  label: (v: number) => string = tickLabel,
): string {
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

export function yAxisSvg(axis: Axis, f: Frame, title: string): string {
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

// Legends.

/** One entry of a chart legend: a colour and how it is drawn. */
export interface LegendItem {
  readonly label: string;
  readonly colour: string;
  readonly mark: 'line' | 'dash' | 'box' | 'hatch' | 'hollow' | 'whisker' | 'dot' | 'tick';
}

/** Rough width of a label in the 12px chart font; used only for layout. */
export const textWidth = (text: string): number => text.length * 6.9;

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
export function legendSvg(
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

export const HATCH_DEFS =
  '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
  '<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#8c959f" stroke-width="2.5"/></pattern></defs>';

export function svgDocument(width: number, height: number, label: string, body: string): string {
  return `<svg class="chart" viewBox="0 0 ${width} ${px(height)}" width="${width}" height="${px(height)}" style="max-width:${width}px" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${body}</svg>`;
}

export function figure(caption: string, svg: string, note = ''): string {
  return `<figure><figcaption>${esc(caption)}</figcaption>${svg}${note !== '' ? `<p class="note">${note}</p>` : ''}</figure>`;
}
