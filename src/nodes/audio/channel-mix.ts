/**
 * Channel count conversion of interleaved f32 samples, with the Python SDK's AudioTransform rules
 * (remotemedia/nodes/audio.py): to mono = the mean of the channels (librosa.to_mono); mono to N = the channel
 * copied N times (np.tile); N to fewer (not mono) = the first channels. One case the SDK gets wrong (N > 1 to
 * more channels: it silently keeps N) is refused here instead.
 */

/** Whether `mixChannels` can turn `from` channels into `to`. */
export function canMixChannels(from: number, to: number): boolean {
  return from === to || to === 1 || from === 1 || to < from;
}

/** The samples converted from `from` to `to` interleaved channels; the same array when they are equal. */
export function mixChannels(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const frames = samples.length / from;
  const out = new Float32Array(frames * to);
  if (to === 1) {
    if (from === 2) {
      for (let i = 0, j = 0; i < frames; i++, j += 2)
        out[i] = ((samples[j] ?? 0) + (samples[j + 1] ?? 0)) * 0.5;
      return out;
    }
    const k = 1 / from;
    for (let i = 0, j = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < from; c++, j++) s += samples[j] ?? 0;
      out[i] = s * k;
    }
    return out;
  }
  if (from === 1) {
    for (let i = 0, j = 0; i < frames; i++) {
      const s = samples[i] ?? 0;
      for (let c = 0; c < to; c++, j++) out[j] = s;
    }
    return out;
  }
  if (to < from) {
    for (let i = 0, j = 0, o = 0; i < frames; i++, j += from) {
      for (let c = 0; c < to; c++, o++) out[o] = samples[j + c] ?? 0;
    }
    return out;
  }
  throw new RangeError(`cannot mix ${String(from)} channels into ${String(to)}`);
}
