/**
 * Synthesised audio for the stream-health tests and the benchmark: silence, sines at a known amplitude, a
 * clipped sine and one-sided stereo, as 16 kHz frames whose expected levels follow from the formulas.
 */
import { AudioFrame } from '../../core/audio.js';

/** Samples per 20 ms frame at 16 kHz. */
export const FRAME_16K_20MS = 320;

export interface SignalOptions {
  readonly sampleRate?: number;
  readonly frames?: number;
  readonly streamId?: string;
  readonly timestampUs?: number;
  readonly arrivalTsUs?: number;
}

function frameOf(samples: Float32Array, channels: number, o: SignalOptions): AudioFrame {
  return new AudioFrame(samples, {
    sampleRate: o.sampleRate ?? 16_000,
    channels,
    streamId: o.streamId,
    timestampUs: o.timestampUs,
    arrivalTsUs: o.arrivalTsUs,
  });
}

/** Samples of amplitude·sin(2π·freq·t), clamped to [-1, 1] (a clipped sine when amplitude > 1). */
export function sineSamples(
  amplitude: number,
  freq: number,
  frames: number,
  sampleRate = 16_000,
): Float32Array {
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    out[i] = Math.max(-1, Math.min(1, amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate)));
  }
  return out;
}

/** A mono frame of zeros. */
export function silenceFrame(o: SignalOptions = {}): AudioFrame {
  return frameOf(new Float32Array(o.frames ?? FRAME_16K_20MS), 1, o);
}

/** A mono frame of a sine (1 kHz by default: whole periods in 20 ms at 16 kHz, a sample on each peak). */
export function sineFrame(amplitude: number, o: SignalOptions & { freq?: number } = {}): AudioFrame {
  const rate = o.sampleRate ?? 16_000;
  return frameOf(sineSamples(amplitude, o.freq ?? 1000, o.frames ?? FRAME_16K_20MS, rate), 1, o);
}

/** A stereo frame: a 1 kHz sine of `left` amplitude on the left channel and of `right` on the right. */
export function stereoFrame(left: number, right: number, o: SignalOptions = {}): AudioFrame {
  const frames = o.frames ?? FRAME_16K_20MS;
  const l = sineSamples(left, 1000, frames, o.sampleRate);
  const r = sineSamples(right, 1000, frames, o.sampleRate);
  const out = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    out[2 * i] = l[i] as number;
    out[2 * i + 1] = r[i] as number;
  }
  return frameOf(out, 2, o);
}
