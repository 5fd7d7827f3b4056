/**
 * One streaming sample-rate converter: libsamplerate (Erik de Castro Lopo's, compiled to WebAssembly by the
 * pinned npm package @alexanderolsen/libsamplerate-js) driven through its `full` API, so its filter state
 * carries across calls and chunk boundaries leave no clicks or gaps. A node keeps one per stream.
 *
 * libsamplerate holds back a few output frames (its filter delay); `drain` recovers them at end of stream by
 * feeding silence and keeps exactly as many frames as the exact ratio says, so over a whole stream
 * output frames = round(input frames × out rate / in rate).
 *
 * RemoteMedia's quality levels (Low, Medium, High: rubato sinc lengths 64/128/256 in its resample_fast.rs)
 * map to libsamplerate's sinc converters of the same rank: Low → SRC_SINC_FASTEST, Medium →
 * SRC_SINC_MEDIUM_QUALITY, High → SRC_SINC_BEST_QUALITY.
 */
type LibSamplerate = typeof import('@alexanderolsen/libsamplerate-js');
type Src = Awaited<ReturnType<LibSamplerate['create']>>;

let loading: Promise<LibSamplerate> | undefined;
/**
 * The library, loaded on the first converter: it is 2 MB of JavaScript with the WebAssembly inlined, which every
 * `pitlane` command would otherwise parse at start-up because the node registry imports this module.
 */
async function loadLibSamplerate(): Promise<LibSamplerate> {
  loading ??= import('@alexanderolsen/libsamplerate-js').then((m) => m.default);
  return loading;
}

/** RemoteMedia's quality levels. */
export type ResampleQuality = 'Low' | 'Medium' | 'High';

/** libsamplerate's converter for each quality level (see the module comment), as its ConverterType numbers. */
export const CONVERTER_FOR_QUALITY: Readonly<Record<ResampleQuality, 0 | 1 | 2>> = {
  Low: 2, // SRC_SINC_FASTEST
  Medium: 1, // SRC_SINC_MEDIUM_QUALITY
  High: 0, // SRC_SINC_BEST_QUALITY
};

/** A streaming converter of interleaved f32 audio from one rate to another (see the module comment). */
export class StreamResampler {
  private framesIn = 0;
  private framesOut = 0;
  private destroyed = false;

  private constructor(
    private readonly src: Src,
    readonly channels: number,
    readonly inRate: number,
    readonly outRate: number,
  ) {}

  /** Loads a converter (one WebAssembly instance) for `channels` interleaved channels. */
  static async create(
    channels: number,
    inRate: number,
    outRate: number,
    quality: ResampleQuality,
  ): Promise<StreamResampler> {
    const libsamplerate = await loadLibSamplerate();
    const src = await libsamplerate.create(channels, inRate, outRate, {
      converterType: CONVERTER_FOR_QUALITY[quality],
    });
    return new StreamResampler(src, channels, inRate, outRate);
  }

  /** Converts the next interleaved samples of the stream; returns what the converter has ready. */
  push(samples: Float32Array): Float32Array {
    if (samples.length === 0) return samples;
    const out = this.src.full(samples);
    this.framesIn += samples.length / this.channels;
    this.framesOut += out.length / this.channels;
    return out;
  }

  /** The frames the exact ratio still owes at end of stream (the filter's tail); the stream is over after. */
  drain(): Float32Array {
    const owed = Math.round((this.framesIn * this.outRate) / this.inRate) - this.framesOut;
    if (owed <= 0) return new Float32Array(0);
    const parts: Float32Array[] = [];
    let got = 0;
    const silence = new Float32Array(Math.ceil(this.inRate / 100) * this.channels);
    // A second of silence is far more than any converter's delay; the bound only guards against a stuck loop.
    for (let i = 0; i < 100 && got < owed; i++) {
      const out = this.src.full(silence);
      parts.push(out);
      got += out.length / this.channels;
    }
    const tail = new Float32Array(Math.min(got, owed) * this.channels);
    let at = 0;
    for (const p of parts) {
      const n = Math.min(p.length, tail.length - at);
      tail.set(n === p.length ? p : p.subarray(0, n), at);
      at += n;
    }
    this.framesOut += tail.length / this.channels;
    return tail;
  }

  /** Frees the WebAssembly converter; safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.src.destroy();
  }
}
