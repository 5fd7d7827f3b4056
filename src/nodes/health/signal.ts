/**
 * What the stream-health nodes share: RemoteMedia's level measures (linear amplitude to dBFS with its -120 dB
 * floor), per-stream state keyed by `frame.streamId`, and the param helpers that keep a default beside its
 * description. The measures are computed in double precision (RemoteMedia sums in f32, so its values can differ
 * in the last digits).
 */
import { Type, type TNumber, type TOptional } from '@sinclair/typebox';
import type { AudioFrame, FrameLevels } from '../../core/audio.js';

/** RemoteMedia's level of silence: what a zero amplitude reads as, in dB. */
export const SILENCE_FLOOR_DB = -120;

/** A linear amplitude in dBFS (20·log10), with RemoteMedia's floor of -120 dB for zero. */
export function amplitudeDb(amplitude: number): number {
  return amplitude > 0 ? 20 * Math.log10(amplitude) : SILENCE_FLOOR_DB;
}

/**
 * State per stream (undefined = the default stream), made on first use. The last stream looked up is cached, so
 * a single-stream run costs one comparison per frame.
 */
export class PerStream<S> {
  private readonly states = new Map<string | undefined, S>();
  private lastId: string | undefined = undefined;
  private last: S | undefined = undefined;

  constructor(private readonly make: () => S) {}

  get(streamId: string | undefined): S {
    if (this.last !== undefined && streamId === this.lastId) return this.last;
    let s = this.states.get(streamId);
    if (s === undefined) {
      s = this.make();
      this.states.set(streamId, s);
    }
    this.lastId = streamId;
    this.last = s;
    return s;
  }
}

/** An optional number param whose description names its default. */
export function numberParam(
  defaultValue: number,
  description: string,
  limits: { exclusiveMinimum?: number; minimum?: number; maximum?: number } = {},
): TOptional<TNumber> {
  return Type.Optional(
    Type.Number({
      ...limits,
      default: defaultValue,
      description: `${description} Default ${String(defaultValue)}.`,
    }),
  );
}

/** A param RemoteMedia's manifests pass but its node never reads: accepted, ignored, and documented as such. */
export function ignoredParam(what: string): TOptional<TNumber> {
  return Type.Optional(
    Type.Number({
      description: `${what} Accepted for RemoteMedia manifests and ignored, as RemoteMedia ignores it.`,
    }),
  );
}

/**
 * Sum of squares and peak of a frame's samples, measured once per frame and kept on it (AudioLevel,
 * SilenceDetector and ClippingDetector all read them): the same numbers as `measureSamples`.
 */
export function frameLevels(frame: AudioFrame): FrameLevels {
  let levels = frame.levels;
  if (levels === undefined) {
    const { sumSquares, peak } = measureSamples(frame.samples, Infinity, SCRATCH);
    levels = { sumSquares, peak };
    frame.levels = levels;
  }
  return levels;
}

const SCRATCH: SampleStats = { sumSquares: 0, peak: 0, atOrAbove: 0 };

/**
 * Samples whose magnitude is at or above `threshold`, compared by their squares as `measureSamples` counts. With
 * the frame's peak known, a frame whose peak is clearly below the threshold costs no pass.
 */
export function countAtOrAbove(s: Float32Array, threshold: number, peak: number): number {
  if (!(threshold > 0)) return s.length;
  // The peak is the root of the largest square: a margin keeps rounding from skipping a sample at the threshold.
  if (peak < threshold * (1 - 1e-9)) return 0;
  const t2 = threshold * threshold;
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const x = s[i] as number;
    if (x * x >= t2) count++;
  }
  return count;
}

/** What `measureSamples` finds in one pass. */
export interface SampleStats {
  /** Sum of the squared samples. */
  sumSquares: number;
  /** Largest magnitude. */
  peak: number;
  /** Samples whose magnitude is at or above the threshold given. */
  atOrAbove: number;
}

/**
 * Sum of squares, peak magnitude and the count of magnitudes at or above `threshold`, in one pass over the
 * squares (unrolled by four; the peak is the root of the largest square), written into `out` so that the hot
 * path allocates nothing.
 */
export function measureSamples(s: Float32Array, threshold: number, out: SampleStats): SampleStats {
  const t2 = threshold > 0 ? threshold * threshold : 0;
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let p = 0;
  let q = 0;
  let count = 0;
  const n = s.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const w0 = s[i] as number;
    const x0 = s[i + 1] as number;
    const y0 = s[i + 2] as number;
    const z0 = s[i + 3] as number;
    const w = w0 * w0;
    const x = x0 * x0;
    const y = y0 * y0;
    const z = z0 * z0;
    a += w;
    b += x;
    c += y;
    d += z;
    p = w > p ? w : p;
    q = x > q ? x : q;
    p = y > p ? y : p;
    q = z > q ? z : q;
    count += (w >= t2 ? 1 : 0) + (x >= t2 ? 1 : 0) + (y >= t2 ? 1 : 0) + (z >= t2 ? 1 : 0);
  }
  for (; i < n; i++) {
    const w0 = s[i] as number;
    const w = w0 * w0;
    a += w;
    p = w > p ? w : p;
    if (w >= t2) count++;
  }
  out.sumSquares = a + b + c + d;
  out.peak = Math.sqrt(p > q ? p : q);
  out.atOrAbove = count;
  return out;
}
