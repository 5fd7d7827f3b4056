/**
 * FastVAD (RemoteMedia's energy VAD: `FastVADNode`, registered there as `RustVADNode`; its Python SDK's `VADNode`
 * is the same detector): speech where the frame energy is above a threshold. It emits exactly what SileroVAD
 * emits (vad-stream.ts), so the two are interchangeable in a manifest, and it is the VAD the CPython reference
 * executor implements too (it has no ONNX Runtime), so the algorithm is specified to the bit:
 *
 *   Per stream (frame.streamId), at the stream's sample rate R (any rate; it must not change within a stream):
 *   1. Mono: for C > 1 interleaved channels, sample i of the mono signal is (x[i·C] + … + x[i·C+C−1]) / C,
 *      summed in channel order in float64; for C = 1 it is x[i] widened to float64.
 *   2. Windows: N = floor(R × frame_duration_ms / 1000) samples (480 at 16 kHz, 30 ms), cut back to back from
 *      the stream's first sample, across frame boundaries; a last partial window is never analysed.
 *   3. Energy: m = (x₀² + x₁² + … + x_{N−1}²) / N, summed in sample order in float64. The window is voiced when its
 *      level 10·log10(m) dBFS is above the threshold, computed without logarithms as m > T, where T =
 *      energy_threshold² (linear RMS, RemoteMedia's spelling; default 0.01, i.e. −40 dBFS) or
 *      10^(energy_threshold_db / 10) when the threshold is given in dBFS. Silence (m = 0) is never voiced.
 *   4. Segments (hangover): not in speech, a voiced window starts speech (event speech_start at its first
 *      sample). In speech, a voiced window resets the silence count; an unvoiced one adds N samples to it (and
 *      the first of a run marks where the silence began); when count × 1000 ≥ min_silence_duration_ms × R, speech
 *      ends (event speech_end at the first sample of that silence) and the count resets. So speech ends after
 *      H = max(1, ceil(min_silence_duration_ms × R / (1000 × N))) consecutive unvoiced windows (4 at the
 *      defaults: 100 ms of 30 ms windows).
 *   5. Events and pass-through exactly as SileroVAD (vad-stream.ts), with speech_probability 1 for a voiced
 *      window and 0 otherwise.
 *
 * RemoteMedia's own energy nodes compute the same RMS per 30 ms frame but only report whether any frame was voiced
 * (the Rust one reports nothing); the segmenting with a hangover and the events are pitlane's, shared with
 * SileroVAD so that either feeds AudioBufferAccumulatorNode.
 */
import { Type, type Static } from '@sinclair/typebox';
import { isAudioFrame, type AudioFrame } from '../../core/audio.js';
import { ItemError, type ManifestProblem } from '../../core/errors.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { outputs, VadStream, VadStreams, type VadSegmentation } from './vad-stream.js';

const Params = Type.Object(
  {
    frame_duration_ms: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'Analysis window length in ms (default 30).' }),
    ),
    energy_threshold: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'Threshold as a linear RMS level, RemoteMedia’s spelling (default 0.01 = −40 dBFS).',
      }),
    ),
    energy_threshold_db: Type.Optional(
      Type.Number({ maximum: 0, description: 'Threshold in dBFS instead of energy_threshold, e.g. -40.' }),
    ),
    min_silence_duration_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 5000,
        description: 'Silence that ends speech, in ms (default 100, as SileroVAD): the hangover.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** FastVAD's settings with defaults applied. */
export interface EnergyVadSettings {
  /** Window length in ms. */
  readonly frameDurationMs: number;
  /** T of the module comment: a window is voiced when its mean square is above this. */
  readonly meanSquareThreshold: number;
  readonly minSilenceMs: number;
}

/** Params with defaults applied. */
export function energyVadSettings(p: Params): EnergyVadSettings {
  const linear = p.energy_threshold ?? 0.01;
  return {
    frameDurationMs: p.frame_duration_ms ?? 30,
    meanSquareThreshold:
      p.energy_threshold_db === undefined ? linear * linear : 10 ** (p.energy_threshold_db / 10),
    minSilenceMs: p.min_silence_duration_ms ?? 100,
  };
}

/** Samples per window at a rate: floor(R × ms / 1000). */
export function energyWindowSize(sampleRate: number, frameDurationMs: number): number {
  return Math.floor((sampleRate * frameDurationMs) / 1000);
}

/** Whether a window is voiced: its mean square (summed in order, float64) is above the threshold. */
export function isVoiced(window: Float64Array, meanSquareThreshold: number): boolean {
  let sum = 0;
  for (let i = 0; i < window.length; i++) {
    const x = window[i] ?? 0;
    sum += x * x;
  }
  return sum / window.length > meanSquareThreshold;
}

/** Scores of 1 and 0 through the shared segmenter: thresholds of 1 make "voiced" both start and keep speech. */
function segmentation(s: EnergyVadSettings): VadSegmentation {
  return { threshold: 1, negThreshold: 1, minSilenceMs: s.minSilenceMs };
}

/** A FastVAD node instance; exported for tests. */
export function energyVadNode(settings: EnergyVadSettings): PipelineNode {
  const seg = segmentation(settings);
  const streams = new VadStreams('FastVAD', (frame: AudioFrame) => {
    const n = energyWindowSize(frame.sampleRate, settings.frameDurationMs);
    if (n < 1) {
      throw new ItemError(
        `FastVAD: a ${settings.frameDurationMs} ms window at ${frame.sampleRate} Hz holds no sample; raise frame_duration_ms`,
      );
    }
    return new VadStream(frame.sampleRate, new Float64Array(n), seg);
  });
  return {
    process: (item) => {
      if (!isAudioFrame(item)) return item;
      const s = streams.of(item);
      s.beginFrame(item);
      while (s.fillWindow()) s.decide(isVoiced(s.window, settings.meanSquareThreshold) ? 1 : 0);
      return outputs(s.endFrame());
    },
    flush: () => outputs(streams.finish()),
  };
}

function checkParams(p: Params): Omit<ManifestProblem, 'line' | 'column'>[] {
  if (p.energy_threshold !== undefined && p.energy_threshold_db !== undefined) {
    return [
      {
        path: '.energy_threshold_db',
        message: 'give energy_threshold (linear) or energy_threshold_db, not both (they are one setting)',
      },
    ];
  }
  return [];
}

export const FastVAD = defineNodeType<Params>({
  name: 'FastVAD',
  aliases: ['FastVADNode', 'RustVADNode', 'VADNode'],
  role: 'transform',
  description:
    'Energy voice activity detection (RMS vs a dBFS threshold, with a hangover): the same events and pass-through as SileroVAD.',
  params: Params,
  check: checkParams,
  create: ({ params }) => energyVadNode(energyVadSettings(params)),
});
