/**
 * The audio item: a frame of PCM samples with what a node needs to interpret them. It is the same value as
 * RemoteMedia's `RuntimeData::Audio` (samples as 32-bit floats in [-1, 1], interleaved when there are several
 * channels, `sample_rate`, `channels`, optional `stream_id`, `timestamp_us`, `arrival_ts_us` and `metadata`), so
 * its nodes' semantics carry over.
 *
 * Frames are immutable by contract: a node never writes into a frame it received (it may be shared by a fan-out),
 * and a node that changes samples makes a new frame with `derive`, which keeps the stream id, the timestamps and
 * the metadata. Between native nodes a frame travels by reference: no copy, no serialisation. At the boundaries it
 * is converted once (docs/audio.md): JSONL output writes `toJSON()` (metadata; samples only on request, as base64
 * of little-endian f32), CPython workers get a numpy float32 array over the binary wire, Pyodide gets bytes.
 *
 * `arrival_ts_us` is when the frame entered the pipeline on pitlane's monotonic clock (µs since the process's
 * time origin, as `performance.now() * 1000`); it is what per-frame latency (frame in → its output out) is measured
 * from, and derived frames and the items nodes make from a frame keep it.
 */

/** Fields of an audio frame other than the samples. */
export interface AudioFrameInit {
  /** Samples per second, per channel. */
  readonly sampleRate: number;
  /** Number of interleaved channels (1 = mono, 2 = stereo). */
  readonly channels: number;
  /** Identifies one stream among several (RemoteMedia's multi-track routing); undefined = the default track. */
  readonly streamId?: string | undefined;
  /** Presentation time of the first sample, in µs from the start of the stream. */
  readonly timestampUs?: number | undefined;
  /** When the frame entered the pipeline, in µs on the monotonic clock (see the module comment). */
  readonly arrivalTsUs?: number | undefined;
  /** Free-form metadata that travels with the audio (e.g. VAD results); nodes that do not know it keep it. */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
}

/** JSON form of a frame (JSONL output, error records, Python's metadata): never the samples unless asked. */
export interface AudioFrameJson {
  readonly type: 'audio';
  readonly sample_rate: number;
  readonly channels: number;
  /** Samples per channel. */
  readonly frames: number;
  /** Seconds of audio in the frame. */
  readonly duration: number;
  readonly stream_id?: string;
  readonly timestamp_us?: number;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Little-endian f32 samples, base64, when the writer was asked for samples (`--audio-samples`). */
  readonly samples_f32le_base64?: string;
}

/** Sum of the squared samples and the largest magnitude of a frame (every channel). */
export interface FrameLevels {
  readonly sumSquares: number;
  readonly peak: number;
}

/** A frame of PCM audio (see the module comment). */
export class AudioFrame {
  readonly samples: Float32Array;
  readonly sampleRate: number;
  readonly channels: number;
  readonly streamId: string | undefined;
  readonly timestampUs: number | undefined;
  readonly arrivalTsUs: number | undefined;
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
  /**
   * Measures of the samples that several nodes read (the stream-health analysers: sum of squares and peak), made by
   * the first node that needs them. A cache, not data: a frame's samples never change, and a derived frame starts
   * without it. Never serialised.
   */
  levels: FrameLevels | undefined = undefined;

  constructor(samples: Float32Array, init: AudioFrameInit) {
    if (!Number.isInteger(init.channels) || init.channels < 1) {
      throw new RangeError(`an audio frame needs at least one channel (got ${String(init.channels)})`);
    }
    if (!(init.sampleRate > 0) || !Number.isFinite(init.sampleRate)) {
      throw new RangeError(`an audio frame needs a positive sample rate (got ${String(init.sampleRate)})`);
    }
    if (samples.length % init.channels !== 0) {
      throw new RangeError(
        `${String(samples.length)} samples do not divide into ${String(init.channels)} interleaved channels`,
      );
    }
    this.samples = samples;
    this.sampleRate = init.sampleRate;
    this.channels = init.channels;
    this.streamId = init.streamId;
    this.timestampUs = init.timestampUs;
    this.arrivalTsUs = init.arrivalTsUs;
    this.metadata = init.metadata;
  }

  /** Samples per channel. */
  get frames(): number {
    return this.samples.length / this.channels;
  }

  /** Length of the frame in seconds. */
  get durationSeconds(): number {
    return this.frames / this.sampleRate;
  }

  /** Presentation time of the first sample in seconds (0 when the frame has no timestamp). */
  get startSeconds(): number {
    return (this.timestampUs ?? 0) / 1e6;
  }

  /**
   * A new frame with other samples (and optionally another rate, channel count or metadata) that keeps this
   * frame's stream id, timestamps and, unless replaced, metadata.
   */
  derive(
    samples: Float32Array,
    changes?: {
      readonly sampleRate?: number;
      readonly channels?: number;
      readonly timestampUs?: number;
      readonly metadata?: Readonly<Record<string, unknown>>;
    },
  ): AudioFrame {
    return new AudioFrame(samples, {
      sampleRate: changes?.sampleRate ?? this.sampleRate,
      channels: changes?.channels ?? this.channels,
      streamId: this.streamId,
      timestampUs: changes?.timestampUs ?? this.timestampUs,
      arrivalTsUs: this.arrivalTsUs,
      metadata: changes?.metadata ?? this.metadata,
    });
  }

  /** The JSON form without samples (what JSON.stringify writes). */
  toJSON(): AudioFrameJson {
    return audioFrameJson(this, false);
  }
}

/** The JSON form of a frame; with `withSamples`, the samples as base64 of little-endian f32. */
export function audioFrameJson(frame: AudioFrame, withSamples: boolean): AudioFrameJson {
  return {
    type: 'audio',
    sample_rate: frame.sampleRate,
    channels: frame.channels,
    frames: frame.frames,
    duration: frame.durationSeconds,
    ...(frame.streamId !== undefined ? { stream_id: frame.streamId } : {}),
    ...(frame.timestampUs !== undefined ? { timestamp_us: frame.timestampUs } : {}),
    ...(frame.metadata !== undefined ? { metadata: frame.metadata } : {}),
    ...(withSamples ? { samples_f32le_base64: f32leBytes(frame.samples).toString('base64') } : {}),
  };
}

/** The samples as little-endian f32 bytes (a view when the platform is little-endian, as every Node target is). */
export function f32leBytes(samples: Float32Array): Buffer {
  if (IS_LITTLE_ENDIAN) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = Buffer.allocUnsafe(samples.length * 4);
  for (let i = 0; i < samples.length; i++) out.writeFloatLE(samples[i] ?? 0, i * 4);
  return out;
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Whether a value is an audio frame. */
export function isAudioFrame(value: unknown): value is AudioFrame {
  return value instanceof AudioFrame;
}

/**
 * The arrival time (µs, monotonic) of the frame an item was made from, on items that are not frames — a VAD event,
 * a level reading, a transcript — so that per-frame latency covers them too. A symbol key: JSON, Python and
 * `Object.keys` never see it.
 */
export const ARRIVAL_US: unique symbol = Symbol('pitlane.arrivalUs');

/** Marks `item` (an object a node makes from `frame`) with the frame's arrival time; returns the item. */
export function fromFrame<T extends object>(item: T, frame: AudioFrame): T {
  if (frame.arrivalTsUs !== undefined) (item as { [ARRIVAL_US]?: number })[ARRIVAL_US] = frame.arrivalTsUs;
  return item;
}

/**
 * Marks items a node made from another item (an event from an event) with the arrival time that one carries, so
 * latency follows a chain of event nodes; items without a mark, or that are not objects, are left alone.
 */
export function carryArrival<T>(output: T, input: unknown): T {
  const arrival = arrivalOf(input);
  if (
    arrival !== undefined &&
    typeof output === 'object' &&
    output !== null &&
    !(output instanceof AudioFrame)
  ) {
    const marked = output as { [ARRIVAL_US]?: number };
    if (marked[ARRIVAL_US] === undefined) marked[ARRIVAL_US] = arrival;
  }
  return output;
}

/** The arrival time an output carries: a frame's, or the one `fromFrame` marked; undefined otherwise. */
export function arrivalOf(item: unknown): number | undefined {
  if (item instanceof AudioFrame) return item.arrivalTsUs;
  if (typeof item === 'object' && item !== null) return (item as { [ARRIVAL_US]?: number })[ARRIVAL_US];
  return undefined;
}

/** The monotonic clock frames are stamped with, in µs. */
export function monotonicUs(): number {
  return performance.now() * 1000;
}
