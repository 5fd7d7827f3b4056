/**
 * LatencyHistogram: HDR histograms of latencies in whole microseconds, 3 significant digits, bounded at one
 * hour (BENCHMARKING.md rule 3). Histograms are merged, never their percentiles averaged; they are stored in
 * results as compressed base64 so any percentile can be recomputed later.
 */
import * as hdr from 'hdr-histogram-js';
import type { ReportPercentile } from '../report/model.js';

const HIGHEST_US = 3_600_000_000;

/** The percentiles every report shows (100 = max). */
export const REPORT_PERCENTILES = [50, 90, 95, 99, 99.9, 100] as const;

/** Fewer samples than this beyond a percentile make it "thin": shown, but marked. */
export const THIN_BELOW = 10;

export class LatencyHistogram {
  private readonly h: hdr.Histogram;

  constructor(from?: hdr.Histogram) {
    this.h =
      from ??
      hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: HIGHEST_US,
        numberOfSignificantValueDigits: 3,
        useWebAssembly: false,
      });
  }

  /** Records one latency given in milliseconds (stored as whole µs, at least 1). */
  recordMs(ms: number): void {
    const us = Math.round(ms * 1000);
    this.h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Value at a percentile (0–100) in milliseconds; 100 is the maximum. */
  percentileMs(p: number): number {
    if (this.h.totalCount === 0) return NaN;
    return (p >= 100 ? this.h.maxValue : this.h.getValueAtPercentile(p)) / 1000;
  }

  get meanMs(): number {
    return this.h.mean / 1000;
  }

  /** Adds another histogram's counts into this one. */
  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  /** The report's percentiles, each with the number of samples beyond it and a thin-tail mark. */
  percentiles(): ReportPercentile[] {
    const n = this.h.totalCount;
    return REPORT_PERCENTILES.map((p) => {
      const beyond = p >= 100 ? 1 : Math.max(0, n - Math.ceil((p / 100) * n));
      return { p, ms: this.percentileMs(p), samples_beyond: n === 0 ? 0 : beyond, thin: beyond < THIN_BELOW };
    });
  }

  /** Compressed base64 encoding (HdrHistogram's standard format). */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(encoded: string): LatencyHistogram {
    return new LatencyHistogram(hdr.decodeFromCompressedBase64(encoded, 32, false));
  }
}
