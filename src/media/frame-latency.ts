/**
 * Per-frame latency of a media pipeline: for each audio frame that leaves the pipeline, the time since the frame
 * it came from entered it (AudioFrame.arrivalTsUs, kept by `derive`), on the monotonic clock; likewise for items
 * nodes made from a frame and marked with `fromFrame` (events, readings, transcripts). Recorded in an HDR
 * histogram in nanoseconds (3 significant digits), so the p99 of a sub-millisecond pipeline is exact enough to
 * quote; shown by `pitlane run --stats` and written by `--json-stats`.
 */
import * as hdr from 'hdr-histogram-js';
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

export class FrameLatency {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });

  /**
   * Records the latency of an output that carries an arrival time (an audio frame, or an item a node marked with
   * `fromFrame`); ignores anything else.
   */
  observe(output: unknown): void {
    const arrival = arrivalOf(output);
    if (arrival === undefined) return;
    const ns = Math.round((monotonicUs() - arrival) * 1000);
    this.h.recordValue(ns < 1 ? 1 : ns > HIGHEST_NS ? HIGHEST_NS : ns);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Percentiles in µs, or null when no frame was observed. */
  summary(): FrameLatencySummary | null {
    if (this.h.totalCount === 0) return null;
    const us = (ns: number): number => Math.round(ns) / 1000;
    return {
      count: this.h.totalCount,
      p50_us: us(this.h.getValueAtPercentile(50)),
      p90_us: us(this.h.getValueAtPercentile(90)),
      p99_us: us(this.h.getValueAtPercentile(99)),
      max_us: us(this.h.maxValue),
    };
  }
}
