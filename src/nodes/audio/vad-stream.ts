/**
 * What the voice-activity nodes (SileroVAD, FastVAD) share: cutting a stream's audio into fixed analysis windows
 * across frame boundaries, turning per-window speech scores into speech start/end decisions (RemoteMedia's
 * SileroVADNode trigger logic), and the JSON events both emit. Each node only scores a window (the ONNX model, or
 * frame energy); everything a downstream node sees is made here, so the two nodes are interchangeable.
 *
 * Per input audio frame a VAD node outputs, in order:
 *   1. one event per speech start or end decided by a window that completed inside this frame; when there is
 *      none, one `frame` event with the current state (RemoteMedia's node emits one JSON value per frame);
 *   2. the frame itself, unchanged (the same object: no copy), so an accumulator downstream can cut utterances.
 * Items that are not audio pass through unchanged, as in RemoteMedia.
 */
import { fromFrame, type AudioFrame } from '../../core/audio.js';
import { ItemError } from '../../core/errors.js';

/** How window scores become speech segments (RemoteMedia's SileroVADNode hysteresis). */
export interface VadSegmentation {
  /** A window whose score is >= this starts speech (when not already in speech). */
  readonly threshold: number;
  /** In speech, a window whose score is >= this keeps it; below it counts as silence. Not above `threshold`. */
  readonly negThreshold: number;
  /** Speech ends once the silent windows since the last kept window add up to at least this many ms. */
  readonly minSilenceMs: number;
}

/** The kinds of event. */
export type VadEventKind = 'speech_start' | 'speech_end' | 'frame';

/**
 * A VAD event (the JSON value a VAD node emits). The RemoteMedia fields come first under RemoteMedia's names, so
 * its AudioBufferAccumulatorNode logic (`is_speech_start` / `is_speech_end`) works unchanged.
 */
export interface VadEvent {
  readonly type: 'vad';
  readonly event: VadEventKind;
  /** The frame's stream id (absent for the default stream): consumers keep per-stream state by it. */
  readonly stream_id?: string;
  /** `timestamp_us` in seconds. */
  readonly time: number;
  /**
   * When, on the stream's clock (the frames' `timestampUs`; counted from 0 when frames carry none), integer µs:
   * speech_start → the first sample of the window that started speech; speech_end → the first sample of the
   * silence that ended it; frame → the end of the last window analysed on the stream (the frame's start when
   * none has been).
   */
  readonly timestamp_us: number;
  /** RemoteMedia: the score of the window the event is about is >= threshold. */
  readonly has_speech: boolean;
  /** RemoteMedia: that window's score (Silero: the model's probability; FastVAD: 1 voiced, 0 not). */
  readonly speech_probability: number;
  readonly is_speech_start: boolean;
  readonly is_speech_end: boolean;
  /** RemoteMedia: audio analysed on this stream so far, in whole ms (floor of samples × 1000 / rate). */
  readonly timestamp_ms: number;
  /** RemoteMedia: RMS of the input frame's samples (mono: the mean of the channels). */
  readonly rms: number;
  /** RemoteMedia: peak absolute sample of the input frame (mono: the mean of the channels). */
  readonly peak: number;
  /** RemoteMedia: samples (per channel) in the input frame. */
  readonly samples: number;
  readonly sample_rate: number;
}

/** One stream's windowing and segmentation state. */
export class VadStream<W extends Float32Array | Float64Array = Float32Array | Float64Array> {
  /** Samples of `window` filled so far. */
  private fill = 0;
  /** Stream time of the window's first sample, µs. */
  private windowStartUs = 0;
  /** Stream time of the end of the last frame, µs (the next frame's start when it has no timestamp). */
  private nextUs = 0;
  /** Stream time of the end of the last window analysed, µs; undefined before the first. */
  private lastWindowEndUs: number | undefined;
  /** Samples analysed in complete windows. */
  private analysed = 0;
  private triggered = false;
  /** Silent samples since the last window that kept speech (RemoteMedia's temp_end_samples). */
  private silentSamples = 0;
  private silenceStartUs = 0;
  private score = 0;
  /** The frame being fed: its time base, read position, levels and the transition events so far. */
  private frameBaseUs = 0;
  private offset = 0;
  private frame: AudioFrame | undefined;
  private rms = 0;
  private peak = 0;
  private events: VadEvent[] = [];

  constructor(
    readonly sampleRate: number,
    /** The analysis window, filled by `fillWindow` (a Silero stream's input tensor data, or a plain buffer). */
    readonly window: W,
    readonly segmentation: VadSegmentation,
  ) {}

  /** Starts feeding a frame (its rate was checked by the node). */
  beginFrame(frame: AudioFrame): void {
    this.frame = frame;
    this.frameBaseUs = frame.timestampUs ?? this.nextUs;
    this.offset = 0;
    this.events = [];
    const { rms, peak } = monoLevels(frame.samples, frame.channels);
    this.rms = rms;
    this.peak = peak;
  }

  /**
   * Copies the frame's next samples into the window (the mean of the channels for several). True when the window
   * is full: the caller scores it and calls `decide`, then calls this again until it returns false.
   */
  fillWindow(): boolean {
    const frame = this.frame;
    if (frame === undefined) return false;
    const n = frame.frames;
    if (this.offset >= n) return false;
    const w = this.window;
    if (this.fill === 0) this.windowStartUs = this.frameBaseUs + (this.offset * 1e6) / this.sampleRate;
    const take = Math.min(w.length - this.fill, n - this.offset);
    const ch = frame.channels;
    const s = frame.samples;
    if (ch === 1) {
      w.set(s.subarray(this.offset, this.offset + take), this.fill);
    } else {
      for (let i = 0; i < take; i++) {
        const base = (this.offset + i) * ch;
        let sum = 0;
        for (let c = 0; c < ch; c++) sum += s[base + c] ?? 0;
        w[this.fill + i] = sum / ch;
      }
    }
    this.fill += take;
    this.offset += take;
    return this.fill === w.length;
  }

  /** Applies a full window's score: RemoteMedia's trigger logic. Records a start or end event if one happens. */
  decide(score: number): void {
    const n = this.window.length;
    const seg = this.segmentation;
    this.fill = 0;
    this.analysed += n;
    this.score = score;
    this.lastWindowEndUs = this.windowStartUs + (n * 1e6) / this.sampleRate;
    if (score >= seg.threshold) {
      this.silentSamples = 0;
      if (!this.triggered) {
        this.triggered = true;
        this.events.push(this.event('speech_start', this.windowStartUs));
      }
    } else if (this.triggered) {
      if (score >= seg.negThreshold) {
        this.silentSamples = 0;
      } else {
        if (this.silentSamples === 0) this.silenceStartUs = this.windowStartUs;
        this.silentSamples += n;
        // silent ms >= minSilenceMs, in integers: floor(samples*1000/rate) >= ms  <=>  samples*1000 >= ms*rate.
        if (this.silentSamples * 1000 >= seg.minSilenceMs * this.sampleRate) {
          this.triggered = false;
          this.silentSamples = 0;
          this.events.push(this.event('speech_end', this.silenceStartUs));
        }
      }
    }
  }

  /** Ends the frame: its outputs (the events, or one `frame` event, then the frame itself). */
  endFrame(): unknown[] {
    const frame = this.frame;
    if (frame === undefined) return [];
    const out: unknown[] = this.events;
    if (out.length === 0) out.push(this.event('frame', this.lastWindowEndUs ?? this.frameBaseUs));
    out.push(frame);
    this.nextUs = this.frameBaseUs + (frame.frames * 1e6) / this.sampleRate;
    this.frame = undefined;
    this.events = [];
    return out;
  }

  /**
   * At end of input: a speech_end for speech still open (at the start of trailing silence, or the end of the
   * stream's audio), so a downstream accumulator releases the last utterance. A partial window is not analysed.
   */
  finish(streamId: string | undefined): VadEvent | undefined {
    if (!this.triggered) return undefined;
    this.triggered = false;
    const at = this.silentSamples > 0 ? this.silenceStartUs : this.nextUs;
    this.silentSamples = 0;
    this.rms = 0;
    this.peak = 0;
    return this.buildEvent('speech_end', at, streamId, 0);
  }

  private event(kind: VadEventKind, atUs: number): VadEvent {
    const frame = this.frame;
    const event = this.buildEvent(kind, atUs, frame?.streamId, frame?.frames ?? 0);
    return frame === undefined ? event : fromFrame(event, frame);
  }

  private buildEvent(
    kind: VadEventKind,
    atUs: number,
    streamId: string | undefined,
    samples: number,
  ): VadEvent {
    const us = Math.floor(atUs);
    return {
      type: 'vad',
      event: kind,
      ...(streamId === undefined ? {} : { stream_id: streamId }),
      time: us / 1e6,
      timestamp_us: us,
      has_speech: this.score >= this.segmentation.threshold,
      speech_probability: this.score,
      is_speech_start: kind === 'speech_start',
      is_speech_end: kind === 'speech_end',
      timestamp_ms: Math.floor((this.analysed * 1000) / this.sampleRate),
      rms: this.rms,
      peak: this.peak,
      samples,
      sample_rate: this.sampleRate,
    };
  }
}

/** RMS and peak of the mono mix (mean of the channels) of interleaved samples, in f64. Zero for no samples. */
export function monoLevels(samples: Float32Array, channels: number): { rms: number; peak: number } {
  const frames = samples.length / channels;
  if (frames === 0) return { rms: 0, peak: 0 };
  let sumSq = 0;
  let peak = 0;
  if (channels === 1) {
    for (let i = 0; i < frames; i++) {
      const x = samples[i] ?? 0;
      sumSq += x * x;
      const a = Math.abs(x);
      if (a > peak) peak = a;
    }
  } else {
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += samples[i * channels + c] ?? 0;
      const x = sum / channels;
      sumSq += x * x;
      const a = Math.abs(x);
      if (a > peak) peak = a;
    }
  }
  return { rms: Math.sqrt(sumSq / frames), peak };
}

/** Per-stream VadStreams of one node, keyed by `frame.streamId` (undefined = the default stream). */
export class VadStreams<S extends VadStream> {
  private readonly streams = new Map<string | undefined, S>();

  constructor(
    private readonly nodeType: string,
    private readonly create: (frame: AudioFrame) => S,
  ) {}

  /** The stream of a frame, created on its first frame. A stream whose rate changes is an item error. */
  of(frame: AudioFrame): S {
    let s = this.streams.get(frame.streamId);
    if (s === undefined) {
      s = this.create(frame);
      this.streams.set(frame.streamId, s);
    } else if (s.sampleRate !== frame.sampleRate) {
      throw new ItemError(
        `${this.nodeType}: stream ${streamName(frame.streamId)} changed sample rate from ${s.sampleRate} Hz to ${frame.sampleRate} Hz; a stream's frames must keep one rate`,
      );
    }
    return s;
  }

  /** End-of-input events of every stream still in speech, in the order the streams began. */
  finish(): VadEvent[] {
    const out: VadEvent[] = [];
    for (const [id, s] of this.streams) {
      const e = s.finish(id);
      if (e !== undefined) out.push(e);
    }
    return out;
  }
}

/** A stream id for messages. */
export function streamName(id: string | undefined): string {
  return id === undefined ? '(default)' : `'${id}'`;
}

/** The node output for a list of outputs: an iterator (an array would be one output). */
export function outputs(items: unknown[]): Iterator<unknown> | undefined {
  return items.length === 0 ? undefined : items[Symbol.iterator]();
}
