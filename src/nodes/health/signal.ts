/**
 * What the stream-health nodes share: RemoteMedia's level measures (linear amplitude to dBFS with its -120 dB
 * floor), per-stream state keyed by `frame.streamId`, and the param helpers that keep a default beside its
 * description. The measures are computed in double precision (RemoteMedia sums in f32, so its values can differ
 * in the last digits).
 */
import { Type, type TNumber, type TOptional } from '@sinclair/typebox';

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
