/**
 * Per-frame latency of a media pipeline: for each audio frame that leaves the pipeline, the time since the frame
 * it came from entered it (AudioFrame.arrivalTsUs, kept by `derive`), on the monotonic clock; likewise for items
 * nodes made from a frame and marked with `fromFrame` (events, readings, transcripts). Recorded in an HDR
 * histogram in nanoseconds (3 significant digits), so the p99 of a sub-millisecond pipeline is exact enough to
 * quote; shown by `pitlane run --stats` and written by `--json-stats`.
 */
import type { Histogram } from 'hdr-histogram-js';
import { arrivalOf, monotonicUs } from '../core/audio.js';

/** Latency summary in µs. */
export interface FrameLatencySummary {
  readonly count: number;
  readonly p50_us: number;
  readonly p90_us: number;
  readonly p99_us: number;
  readonly max_us: number;
}

const HIGHEST_NS = 3_600_000_000_000; // one hour

/**
 * The histogram library (300 KB of code) is loaded when the first timed output arrives, so a JSON pipeline's run
 * never pays for it; latencies observed while it loads are kept and recorded once it is there.
 */
export class FrameLatency {
  private h: Histogram | null = null;
  private loading: Promise<void> | null = null;
  private pending: number[] = [];

  /**
   * Records the latency of an output that carries an arrival time (an audio frame, or an item a node marked with
   * `fromFrame`); ignores anything else.
   */
  observe(output: unknown): void {
    const arrival = arrivalOf(output);
    if (arrival === undefined) return;
    const ns = Math.round((monotonicUs() - arrival) * 1000);
    const value = ns < 1 ? 1 : ns > HIGHEST_NS ? HIGHEST_NS : ns;
    if (this.h !== null) {
      this.h.recordValue(value);
      return;
    }
    this.pending.push(value);
    this.loading ??= import('hdr-histogram-js').then((loaded) => {
      // A CommonJS module: its exports are the default export (bundled or not).
      const hdr = loaded.default;
      const h = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: HIGHEST_NS,
        numberOfSignificantValueDigits: 3,
        useWebAssembly: false,
      });
      for (const v of this.pending) h.recordValue(v);
      this.pending = [];
      this.h = h;
    });
  }

  /** Percentiles in µs, or null when no output was timed. */
  async summary(): Promise<FrameLatencySummary | null> {
    await this.loading;
    const h = this.h;
    if (h === null || h.totalCount === 0) return null;
    const us = (ns: number): number => Math.round(ns) / 1000;
    return {
      count: h.totalCount,
      p50_us: us(h.getValueAtPercentile(50)),
      p90_us: us(h.getValueAtPercentile(90)),
      p99_us: us(h.getValueAtPercentile(99)),
      max_us: us(h.maxValue),
    };
  }
}
