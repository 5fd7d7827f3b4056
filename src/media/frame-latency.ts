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

/** An empty histogram of nanoseconds, 1 ns to an hour, 3 significant digits. */
function newHistogram(hdr: typeof import('hdr-histogram-js')): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/**
 * The histogram library (300 KB of code) is loaded when the first timed output arrives, so a JSON pipeline's run
 * never pays for it; latencies observed while it loads are kept and recorded once it is there.
 */
export class FrameLatency {
  private h: Histogram | null = null;
  private loading: Promise<void> | null = null;
  private pending: number[] = [];
  /** Outputs of frames that arrived before this (µs) are not recorded: a live run's warm-up. */
  private fromUs = Number.NEGATIVE_INFINITY;

  /**
   * Forgets what was recorded (the warm-up of a live run, `--warmup`) and from now on records only outputs of
   * frames that arrived at `arrivalUs` or later.
   */
  countFrom(arrivalUs: number): void {
    this.fromUs = arrivalUs;
    this.pending = [];
    this.h?.reset();
  }

  /**
   * Records the latency of an output that carries an arrival time (an audio frame, or an item a node marked with
   * `fromFrame`); ignores anything else.
   */
  observe(output: unknown): void {
    const arrival = arrivalOf(output);
    if (arrival === undefined || arrival < this.fromUs) return;
    const ns = Math.round((monotonicUs() - arrival) * 1000);
    const value = ns < 1 ? 1 : ns > HIGHEST_NS ? HIGHEST_NS : ns;
    if (this.h !== null) {
      this.h.recordValue(value);
      return;
    }
    this.pending.push(value);
    this.loading ??= import('hdr-histogram-js').then((loaded) => {
      // A CommonJS module: its exports are the default export (bundled or not).
      const h = newHistogram(loaded.default);
      for (const v of this.pending) h.recordValue(v);
      this.pending = [];
      this.h = h;
    });
  }

  /** The recorded latencies, compressed (HdrHistogram's base64 form), for `add` in another thread; null if none. */
  async encoded(): Promise<string | null> {
    await this.loading;
    if (this.h === null || this.h.totalCount === 0) return null;
    const hdr = (await import('hdr-histogram-js')).default;
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  /** Adds the latencies another FrameLatency `encoded` (a shard of a threaded run). */
  async add(encoded: string): Promise<void> {
    const hdr = (await import('hdr-histogram-js')).default;
    const other = hdr.decodeFromCompressedBase64(encoded, 32, false);
    await this.loading;
    this.h ??= newHistogram(hdr);
    this.h.add(other);
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
