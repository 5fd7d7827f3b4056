/**
 * Cutting a stream of audio frames into chunks of a fixed number of frames (samples per channel), carrying the
 * remainder across frames per stream: the core of AudioChunkerNode and AudioBuffer, which differ only in what
 * they do with a remainder when the stream changes format or ends.
 *
 * A chunk that lies inside one incoming frame is a view of that frame's samples (frames are immutable, so
 * sharing is safe and costs no copy); a chunk that straddles frames is copied once. Chunk timestamps come from
 * the stream position: the stream's first timestamp (0 when it has none) plus the duration of the chunks
 * before it. Each chunk is derived from the frame that completed it (stream id, arrival time, metadata).
 */
import type { AudioFrame } from '../../core/audio.js';
import { describeFormat, PerStream, wrongFormat } from './audio-items.js';

/** How a chunking node behaves. */
export interface FixedChunkOptions {
  readonly nodeType: string;
  /** Frames per chunk at a sample rate. */
  readonly chunkFrames: (sampleRate: number) => number;
  /**
   * A frame of another rate or channel count than the buffered remainder: `error` refuses it (AudioChunkerNode);
   * `emit` sends the remainder out as a short chunk and starts over in the new format (the Python SDK's AudioBuffer).
   */
  readonly onFormatChange: 'error' | 'emit';
  /** At end of stream: send the remainder as a short chunk (AudioBuffer) or drop it (AudioChunkerNode). */
  readonly emitRemainder: boolean;
}

interface ChunkStream {
  sampleRate: number;
  channels: number;
  /** Samples (interleaved) per chunk. */
  chunkSamples: number;
  buf: Float32Array;
  fill: number;
  /** Timestamp of the next chunk, in µs. */
  posUs: number;
  last: AudioFrame;
}

/** Output convention of the node SDK: nothing, one value, or an iterator of values. */
export function outputsOf<T>(out: T[]): T | undefined | IterableIterator<T> {
  if (out.length === 0) return undefined;
  if (out.length === 1) return out[0];
  return out.values();
}

/** Per-stream fixed-size chunking (see the module comment). */
export class FixedChunker {
  private readonly streams = new PerStream<ChunkStream>();

  constructor(private readonly opts: FixedChunkOptions) {}

  /** The chunks this frame completes, in order. */
  process(frame: AudioFrame): AudioFrame[] {
    const out: AudioFrame[] = [];
    let st = this.streams.get(frame.streamId);
    if (st === undefined) {
      st = this.open(frame, frame.timestampUs ?? 0);
      this.streams.set(frame.streamId, st);
    } else if (st.sampleRate !== frame.sampleRate || st.channels !== frame.channels) {
      if (st.fill > 0) {
        if (this.opts.onFormatChange === 'error') {
          throw wrongFormat(
            this.opts.nodeType,
            `the format of the ${String(st.fill / st.channels)} frames it holds (${describeFormat(st.sampleRate, st.channels)})`,
            frame,
          );
        }
        out.push(this.remainder(st));
      }
      st = this.open(frame, st.posUs);
      this.streams.set(frame.streamId, st);
    }
    st.last = frame;
    const s = frame.samples;
    const n = s.length;
    const cs = st.chunkSamples;
    let off = 0;
    if (st.fill > 0) {
      const take = Math.min(cs - st.fill, n);
      st.buf.set(take === n ? s : s.subarray(0, take), st.fill);
      st.fill += take;
      off = take;
      if (st.fill === cs) {
        out.push(this.chunk(st, st.buf));
        st.buf = new Float32Array(cs);
        st.fill = 0;
      }
    }
    for (; n - off >= cs; off += cs)
      out.push(this.chunk(st, off === 0 && n === cs ? s : s.subarray(off, off + cs)));
    if (off < n) {
      st.buf.set(s.subarray(off), st.fill);
      st.fill += n - off;
    }
    return out;
  }

  /** At end of stream: each stream's remainder as a short chunk, when the node emits remainders. */
  flush(): AudioFrame[] {
    const out: AudioFrame[] = [];
    if (this.opts.emitRemainder) {
      for (const st of this.streams.values()) if (st.fill > 0) out.push(this.remainder(st));
    }
    this.streams.clear();
    return out;
  }

  private open(frame: AudioFrame, posUs: number): ChunkStream {
    const frames = this.opts.chunkFrames(frame.sampleRate);
    const chunkSamples = Math.max(1, frames) * frame.channels;
    return {
      sampleRate: frame.sampleRate,
      channels: frame.channels,
      chunkSamples,
      buf: new Float32Array(chunkSamples),
      fill: 0,
      posUs,
      last: frame,
    };
  }

  private remainder(st: ChunkStream): AudioFrame {
    const c = this.chunk(st, st.buf.slice(0, st.fill));
    st.fill = 0;
    return c;
  }

  private chunk(st: ChunkStream, samples: Float32Array): AudioFrame {
    const timestampUs = st.posUs;
    st.posUs += (samples.length / st.channels / st.sampleRate) * 1e6;
    return st.last.derive(samples, { sampleRate: st.sampleRate, channels: st.channels, timestampUs });
  }
}
