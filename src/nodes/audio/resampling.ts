/**
 * The per-stream resampling core FastResampleNode and AudioTransform share: for each stream id one
 * StreamResampler kept across frames (created on the stream's first frame, when its rate and channel count are
 * known), channel mixing to a target count, an optional gain, output timestamps from the stream position, the
 * converter's tail drained at end of stream, and every converter freed in `cleanup`.
 *
 * A stream whose rate already is the target passes through without a converter (the frame itself when nothing
 * else changes). The rate and channel count of a stream are fixed by its first frame: a later frame of another
 * format is an item error naming what the stream was and what came, since a converter cannot switch mid-stream
 * without a click.
 */
import { AudioFrame, isAudioFrame } from '../../core/audio.js';
import type { PipelineNode } from '../../pipeline/node.js';
import { ItemError } from '../../core/errors.js';
import { describeFormat, PerStream, wrongFormat } from './audio-items.js';
import { canMixChannels, mixChannels } from './channel-mix.js';
import { StreamResampler, type ResampleQuality } from './stream-resampler.js';

/** What a resampling node asks of the core. */
export interface ResamplingOptions {
  /** Node type, for messages. */
  readonly nodeType: string;
  /** Rate the input must have (RemoteMedia's `source_rate`); undefined = any. */
  readonly sourceRate: number | undefined;
  /** Output rate; undefined = the input's (no resampling). */
  readonly targetRate: number | undefined;
  /** Output channel count; undefined = the input's. */
  readonly channels: number | undefined;
  readonly quality: ResampleQuality;
  /** Linear gain applied to the output samples (1 = none). */
  readonly gain: number;
}

interface StreamState {
  readonly inRate: number;
  readonly inChannels: number;
  readonly outRate: number;
  readonly outChannels: number;
  /** null: same rate, no converter. */
  resampler: StreamResampler | null;
  /** Timestamp of the stream's first frame; output timestamps count from it. */
  readonly baseUs: number | undefined;
  framesOut: number;
  /** The stream's last frame, the template of the tail frame made at end of stream. */
  last: AudioFrame;
}

/** Per-stream resampling, channel mixing and gain (see the module comment). */
export class ResamplingCore {
  private readonly streams = new PerStream<StreamState>();
  private closed = false;

  constructor(private readonly opts: ResamplingOptions) {}

  /** Converts one frame; undefined when the converter has nothing ready yet; a promise on a stream's first frame. */
  process(frame: AudioFrame): AudioFrame | undefined | Promise<AudioFrame | undefined> {
    const o = this.opts;
    if (o.sourceRate !== undefined && frame.sampleRate !== o.sourceRate) {
      throw wrongFormat(o.nodeType, `audio at ${String(o.sourceRate)} Hz (its source_rate)`, frame);
    }
    const state = this.streams.get(frame.streamId);
    if (state !== undefined) {
      if (frame.sampleRate !== state.inRate || frame.channels !== state.inChannels) {
        throw wrongFormat(
          o.nodeType,
          `every frame of a stream in the format of its first frame (${describeFormat(state.inRate, state.inChannels)})`,
          frame,
        );
      }
      return this.convert(state, frame);
    }
    const outChannels = o.channels ?? frame.channels;
    if (!canMixChannels(frame.channels, outChannels)) {
      throw new ItemError(
        `${o.nodeType} cannot mix ${String(frame.channels)} channels into ${String(outChannels)} ` +
          '(it mixes to mono, copies mono to N channels, or keeps the first channels)',
      );
    }
    const outRate = o.targetRate ?? frame.sampleRate;
    const fresh: StreamState = {
      inRate: frame.sampleRate,
      inChannels: frame.channels,
      outRate,
      outChannels,
      resampler: null,
      baseUs: frame.timestampUs,
      framesOut: 0,
      last: frame,
    };
    this.streams.set(frame.streamId, fresh);
    if (outRate === frame.sampleRate) return this.convert(fresh, frame);
    // The converter works at the smaller channel count: mixing is linear, so mixing first gives the same
    // samples for less work.
    const converterChannels = Math.min(frame.channels, outChannels);
    return StreamResampler.create(converterChannels, frame.sampleRate, outRate, o.quality).then(
      (r) => {
        if (this.closed) {
          // cleanup ran while the converter loaded (a cancelled run): free it at once.
          r.destroy();
          return undefined;
        }
        fresh.resampler = r;
        return this.convert(fresh, frame);
      },
      (err: unknown) => {
        // Without its converter the stream must not pass audio through unconverted: the next frame tries again.
        this.streams.delete(frame.streamId);
        throw err;
      },
    );
  }

  private convert(state: StreamState, frame: AudioFrame): AudioFrame | undefined {
    state.last = frame;
    const { outChannels, resampler } = state;
    const gain = this.opts.gain;
    if (resampler === null && outChannels === frame.channels && gain === 1) {
      state.framesOut += frame.frames;
      return frame;
    }
    let samples = frame.samples;
    if (outChannels < frame.channels) samples = mixChannels(samples, frame.channels, outChannels);
    if (resampler !== null) samples = resampler.push(samples);
    if (outChannels > frame.channels) samples = mixChannels(samples, frame.channels, outChannels);
    if (samples.length === 0) return undefined;
    if (gain !== 1) {
      if (samples === frame.samples) samples = new Float32Array(samples);
      for (let i = 0; i < samples.length; i++) samples[i] = (samples[i] ?? 0) * gain;
    }
    return this.emit(state, samples);
  }

  private emit(state: StreamState, samples: Float32Array): AudioFrame {
    const timestampUs =
      state.baseUs === undefined ? undefined : state.baseUs + (state.framesOut * 1e6) / state.outRate;
    state.framesOut += samples.length / state.outChannels;
    return state.last.derive(samples, {
      sampleRate: state.outRate,
      channels: state.outChannels,
      ...(timestampUs === undefined ? {} : { timestampUs }),
    });
  }

  /** The converters' tails, one frame per stream that has one. */
  *flush(): Generator<AudioFrame> {
    for (const state of this.streams.values()) {
      if (state.resampler === null) continue;
      let tail = state.resampler.drain();
      if (state.outChannels > state.inChannels) tail = mixChannels(tail, state.inChannels, state.outChannels);
      if (tail.length === 0) continue;
      if (this.opts.gain !== 1)
        for (let i = 0; i < tail.length; i++) tail[i] = (tail[i] ?? 0) * this.opts.gain;
      yield this.emit(state, tail);
    }
  }

  /** Frees every converter. */
  cleanup(): void {
    this.closed = true;
    for (const state of this.streams.values()) state.resampler?.destroy();
    this.streams.clear();
  }
}

/** A node around a resampling core: audio is converted, anything else passes through; converters freed at cleanup. */
export function resamplingNode(opts: ResamplingOptions): PipelineNode {
  const core = new ResamplingCore(opts);
  return {
    process: (item) => (isAudioFrame(item) ? core.process(item) : item),
    flush: () => core.flush(),
    cleanup: () => {
      core.cleanup();
    },
  };
}
