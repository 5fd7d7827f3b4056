/**
 * Number and unit formatting for every renderer of a LabReport (terminal, Markdown, HTML), so that they can never
 * disagree on a figure: units that read best (ns to s, /s, MiB, %), three significant digits, thousands grouped,
 * and "—" for what was not measured (`null` in the model), never 0.
 */
import { median } from '../stats.js';
import type { ReportRatio } from './model.js';

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

/** A wall time given in seconds, as a person says it: "42.3 s", "11 min 42 s", "1 h 05 min". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return NOT_MEASURED;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds).toString()} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  const minutes = Math.round(whole / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
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

/** Median, minimum and maximum of a few values (cold starts), as "181 ms (177 ms–190 ms)". */
export function formatSpread(values: readonly number[]): string {
  if (values.length === 0) return NOT_MEASURED;
  return `${formatMs(median(values))} (${formatMs(Math.min(...values))}–${formatMs(Math.max(...values))})`;
}
