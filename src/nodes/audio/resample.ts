/**
 * FastResampleNode: RemoteMedia's resampler (crates/core/src/nodes/audio/resample_fast.rs,
 * audio_resample_streaming.rs; factory and params in streaming_registry.rs), here on libsamplerate in
 * WebAssembly (stream-resampler.ts) with one converter per stream.
 *
 * Names: `FastResampleNode` (Rust), `AudioResample` (the SDK's generated node schemas and its voice-assistant
 * manifests, param `target_sample_rate`), `RustResampleNode` (its manifest analyser's name for the same node)
 * and `AutoResampleNode` (its transcribe-srt manifest): RemoteMedia's FastResampleNode already becomes its
 * auto-resampler whenever a rate is missing or "auto", so all four are one type here.
 *
 * Semantics, as RemoteMedia's: `source_rate` given → frames of another rate are refused (RemoteMedia would
 * resample them as if they had it); missing or "auto" → whatever comes. `target_rate` missing or "auto" → the
 * input's rate (pass-through; RemoteMedia's capability negotiation that picks a downstream rate does not exist
 * here). Non-audio items pass through unchanged. Choices of ours: `channels` is the OUTPUT channel count (mono
 * mix-down by the mean, mono copied to N; RemoteMedia uses it as the converter's channel count and breaks on
 * other input); a frame of output is made only when the converter has samples ready (RemoteMedia emits empty
 * frames); `quality` is accepted in any case ("high" appears in its manifests); end of stream drains the
 * converter's tail (RemoteMedia drops it).
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType } from '../../pipeline/node.js';
import { spelled, spellingConflicts } from './param-spellings.js';
import { resamplingNode } from './resampling.js';
import type { ResampleQuality } from './stream-resampler.js';

const Rate = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1000, maximum: 768_000 }), Type.Literal('auto')], { description });

/** RemoteMedia's quality names, in the two cases its manifests use. */
export const QualityParam = Type.Union(
  ['Low', 'Medium', 'High', 'low', 'medium', 'high'].map((q) => Type.Literal(q)),
  {
    description:
      'Converter quality (default Medium): Low = libsamplerate SRC_SINC_FASTEST, Medium = SRC_SINC_MEDIUM_QUALITY, High = SRC_SINC_BEST_QUALITY.',
  },
);

/** A quality param as RemoteMedia's level. */
export function qualityOf(q: string | undefined): ResampleQuality {
  switch (q?.toLowerCase()) {
    case 'low':
      return 'Low';
    case 'high':
      return 'High';
    default:
      return 'Medium';
  }
}

const Params = Type.Object(
  {
    source_rate: Type.Optional(
      Rate('Rate the input must have, in Hz; "auto" or omitted = any (each stream keeps its first rate).'),
    ),
    sourceRate: Type.Optional(Rate('Spelling of source_rate.')),
    target_rate: Type.Optional(
      Rate('Output rate in Hz; "auto" or omitted = the input rate (no resampling).'),
    ),
    targetRate: Type.Optional(Rate('Spelling of target_rate.')),
    target_sample_rate: Type.Optional(Rate('Spelling of target_rate (AudioResample, Python SDK).')),
    quality: Type.Optional(QualityParam),
    channels: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 8,
        description: 'Output channels (1 = mix to mono); omitted = as the input.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const SPELLINGS = {
  source: ['source_rate', 'sourceRate'],
  target: ['target_rate', 'targetRate', 'target_sample_rate'],
} as const;

const rateOf = (v: number | 'auto' | undefined): number | undefined => (v === 'auto' ? undefined : v);

export const FastResampleNode = defineNodeType<Params>({
  name: 'FastResampleNode',
  aliases: ['AudioResample', 'RustResampleNode', 'AutoResampleNode'],
  role: 'transform',
  description:
    'Resamples audio to target_rate with libsamplerate, one streaming converter per stream (no clicks at frame boundaries; tail drained at end of stream); optional mix to `channels`; non-audio passes through.',
  params: Params,
  check: (p) => spellingConflicts(p, [SPELLINGS.source, SPELLINGS.target]),
  create: ({ params }) =>
    resamplingNode({
      nodeType: 'FastResampleNode',
      sourceRate: rateOf(spelled(params, SPELLINGS.source)),
      targetRate: rateOf(spelled(params, SPELLINGS.target)),
      channels: params.channels,
      quality: qualityOf(params.quality),
      gain: 1,
    }),
});

const PyParams = Type.Object(
  {
    target_sample_rate: Type.Optional(
      Type.Integer({ minimum: 1000, maximum: 768_000, description: 'Output rate in Hz (default 16000).' }),
    ),
    quality: Type.Optional(QualityParam),
  },
  { additionalProperties: false },
);
type PyParams = Static<typeof PyParams>;

/**
 * AudioResampleNode: the Python SDK's resampler class (remotemedia/nodes/audio.py), which a manifest exported from
 * a Python pipeline names by its class. Its defaults differ from FastResampleNode's (target 16000 Hz, quality
 * high), hence a type of its own on the same per-stream converters; channels are kept.
 */
export const AudioResampleNode = defineNodeType<PyParams>({
  name: 'AudioResampleNode',
  aliases: [],
  role: 'transform',
  description:
    "The Python SDK's AudioResampleNode: resamples audio to target_sample_rate (default 16000) at quality high by default, one streaming converter per stream; non-audio passes through.",
  params: PyParams,
  create: ({ params }) =>
    resamplingNode({
      nodeType: 'AudioResampleNode',
      sourceRate: undefined,
      targetRate: params.target_sample_rate ?? 16_000,
      channels: undefined,
      quality: qualityOf(params.quality ?? 'high'),
      gain: 1,
    }),
});
