/**
 * AudioTransform: the Python SDK's audio transform (remotemedia/nodes/audio.py, class AudioTransform; used by
 * the rust_runtime whisper manifests): resamples to `output_sample_rate` (default 44100) and converts to
 * `output_channels` (default 2): to mono by the mean of the channels, mono copied to N channels, N to fewer by
 * keeping the first. Non-audio items pass through unchanged, as in the SDK.
 *
 * Differences: the SDK resamples each frame on its own with librosa (clicks at frame boundaries); here one
 * libsamplerate converter per stream is kept across frames (resampling.ts), with `quality` as FastResampleNode's.
 * The SDK has no gain: `gain_db` (decibels) and `gain` (linear factor) are ours. A conversion the SDK gets
 * wrong (N > 1 channels to more) is an item error here.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType } from '../../pipeline/node.js';
import { QualityParam, qualityOf } from './resample.js';
import { resamplingNode } from './resampling.js';

const Params = Type.Object(
  {
    output_sample_rate: Type.Optional(
      Type.Integer({ minimum: 1000, maximum: 768_000, description: 'Output rate in Hz (default 44100).' }),
    ),
    output_channels: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 8, description: 'Output channels (default 2; 1 = mix to mono).' }),
    ),
    quality: Type.Optional(QualityParam),
    gain_db: Type.Optional(
      Type.Number({
        minimum: -120,
        maximum: 60,
        description: 'Gain in decibels applied to the output (pitlane).',
      }),
    ),
    gain: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1000,
        description: 'Linear gain factor applied to the output (pitlane).',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

export const AudioTransform = defineNodeType<Params>({
  name: 'AudioTransform',
  aliases: [],
  role: 'transform',
  description:
    'Resamples audio to output_sample_rate (default 44100) and mixes to output_channels (default 2), one streaming converter per stream; optional gain_db or gain; non-audio passes through.',
  params: Params,
  check: (p) =>
    p.gain !== undefined && p.gain_db !== undefined
      ? [{ path: '.gain', message: 'give gain (linear) or gain_db (decibels), not both' }]
      : [],
  create: ({ params }) =>
    resamplingNode({
      nodeType: 'AudioTransform',
      sourceRate: undefined,
      targetRate: params.output_sample_rate ?? 44_100,
      channels: params.output_channels ?? 2,
      quality: qualityOf(params.quality),
      gain: params.gain ?? (params.gain_db === undefined ? 1 : 10 ** (params.gain_db / 20)),
    }),
});
