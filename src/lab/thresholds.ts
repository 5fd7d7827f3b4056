/**
 * k6-style thresholds: `p(99) < 200ms`, `avg <= 1s`, `error_rate < 0.01`, `throughput > 1000`,
 * `peak_rss < 512MB`, `cpu_per_request < 2ms`. Parsed once when the suite loads (a bad one is a suite problem),
 * evaluated on every contestant's row of every scenario.
 */

export type ThresholdMetric =
  'p' | 'avg' | 'med' | 'min' | 'max' | 'error_rate' | 'throughput' | 'peak_rss' | 'cpu_per_request';
export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==';

/** A parsed threshold; `value` is in the metric's base unit: ms, MiB, req/s, or a fraction. */
export interface Threshold {
  readonly expression: string;
  readonly metric: ThresholdMetric;
  /** Percentile for `p`. */
  readonly p: number | null;
  readonly op: ThresholdOp;
  readonly value: number;
}

/** The figures a threshold is evaluated on (null: not measured, and the threshold then fails). */
export interface ThresholdInputs {
  percentileMs(p: number): number;
  readonly avgMs: number;
  readonly errorRate: number;
  readonly throughputPerS: number;
  readonly peakRssMb: number | null;
  readonly cpuMsPerRequest: number | null;
}

const TIME_UNITS: Readonly<Record<string, number>> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = {
  KB: 1 / 1024,
  MB: 1,
  GB: 1024,
  KiB: 1 / 1024,
  MiB: 1,
  GiB: 1024,
};
const RE =
  /^\s*(p\(\s*(\d+(?:\.\d+)?)\s*\)|avg|med|min|max|error_rate|throughput|peak_rss|cpu_per_request)\s*(<=|>=|==|<|>)\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$/;

/** Parses a threshold, or returns the reason it cannot be parsed. */
export function parseThreshold(expression: string): Threshold | string {
  const m = RE.exec(expression);
  if (!m) {
    return `cannot read threshold '${expression}': expected e.g. 'p(99) < 200ms', 'error_rate < 0.01', 'throughput > 100'`;
  }
  const [, metricText = '', pText, op = '<', numText = '0', unit = ''] = m;
  const metric = (metricText.startsWith('p(') ? 'p' : metricText) as ThresholdMetric;
  const p = pText !== undefined ? Number(pText) : null;
  if (p !== null && (p <= 0 || p > 100))
    return `threshold '${expression}': the percentile must be in (0, 100]`;
  let value = Number(numText);
  const timed =
    metric === 'p' ||
    metric === 'avg' ||
    metric === 'med' ||
    metric === 'min' ||
    metric === 'max' ||
    metric === 'cpu_per_request';
  if (timed) {
    const f = TIME_UNITS[unit === '' ? 'ms' : unit];
    if (f === undefined) return `threshold '${expression}': unknown time unit '${unit}' (use us, ms, s or m)`;
    value *= f;
  } else if (metric === 'peak_rss') {
    const f = SIZE_UNITS[unit === '' ? 'MB' : unit];
    if (f === undefined) return `threshold '${expression}': unknown size unit '${unit}' (use KB, MB or GB)`;
    value *= f;
  } else if (unit !== '' && !(metric === 'throughput' && unit === 'rps')) {
    return `threshold '${expression}': ${metric} takes no unit`;
  }
  return { expression, metric, p, op: op as ThresholdOp, value };
}

/** The measured value a threshold looks at. */
export function thresholdActual(t: Threshold, inputs: ThresholdInputs): number | null {
  switch (t.metric) {
    case 'p':
      return inputs.percentileMs(t.p ?? 50);
    case 'med':
      return inputs.percentileMs(50);
    case 'min':
      return inputs.percentileMs(0);
    case 'max':
      return inputs.percentileMs(100);
    case 'avg':
      return inputs.avgMs;
    case 'error_rate':
      return inputs.errorRate;
    case 'throughput':
      return inputs.throughputPerS;
    case 'peak_rss':
      return inputs.peakRssMb;
    case 'cpu_per_request':
      return inputs.cpuMsPerRequest;
  }
}

/** Evaluates a threshold: ok, and the value it saw (NaN when not measured, which fails). */
export function evaluateThreshold(t: Threshold, inputs: ThresholdInputs): { ok: boolean; actual: number } {
  const actual = thresholdActual(t, inputs);
  if (actual === null || Number.isNaN(actual)) return { ok: false, actual: NaN };
  switch (t.op) {
    case '<':
      return { ok: actual < t.value, actual };
    case '<=':
      return { ok: actual <= t.value, actual };
    case '>':
      return { ok: actual > t.value, actual };
    case '>=':
      return { ok: actual >= t.value, actual };
    case '==':
      return { ok: actual === t.value, actual };
  }
}
