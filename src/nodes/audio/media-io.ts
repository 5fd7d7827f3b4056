/**
 * Audio in and out of a pipeline under RemoteMedia's node names:
 *  - `MediaReaderNode` (RemoteMedia's Python SDK: `path`, and `chunk_size` from its manifests): a source that reads an
 *    audio file — WAV, or any format ffmpeg decodes — as frames (media/audio-input.ts, the same reader as `run -i`).
 *  - `AudioInput` and `AudioTrackSource`: where the run's audio enters (`run -i`); frames pass through. RemoteMedia
 *    uses `sample_rate`/`channels` to negotiate formats; pitlane does not negotiate, so when they are given a frame
 *    in another format is an item error naming what came and what was declared.
 *  - `AudioOutput` (RemoteMedia CLI's `audio_output.rs`: `sample_rate`, `channels`, `format`): frames pass through
 *    to the pipeline output (`-o out.wav` writes them); the declared format is checked the same way. RemoteMedia
 *    defaults `sample_rate` to 24000 for its negotiation; here an absent one accepts any rate.
 */
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame } from '../../core/audio.js';
import { ItemError } from '../../core/errors.js';
import { audioInputFrames, detectInputKind } from '../../media/audio-input.js';
import { readFileHead } from '../../media/wav.js';
import { defineNodeType, type PipelineNode, type SourceNode } from '../../pipeline/node.js';

const Format = {
  sample_rate: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Sample rate frames must have (Hz); absent: any.' }),
  ),
  channels: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Channel count frames must have; absent: any.' }),
  ),
  format: Type.Optional(
    Type.String({ description: 'Sample format (RemoteMedia: f32). pitlane frames are always f32; kept.' }),
  ),
};
const FormatParams = Type.Object(Format, { additionalProperties: false });
type FormatParams = Static<typeof FormatParams>;

/** A pass-through that checks frames against a declared rate and channel count. */
function checkedPassThrough(nodeId: string, type: string, p: FormatParams): PipelineNode {
  return {
    process(item: unknown): unknown {
      if (!(item instanceof AudioFrame)) return item;
      if (
        (p.sample_rate !== undefined && item.sampleRate !== p.sample_rate) ||
        (p.channels !== undefined && item.channels !== p.channels)
      ) {
        throw new ItemError(
          `${type} '${nodeId}' declares ${p.sample_rate ?? 'any'} Hz × ${p.channels ?? 'any'} channel(s) but got ` +
            `${item.sampleRate} Hz × ${item.channels}; put a FastResampleNode (and AudioTransform for channels) before it`,
        );
      }
      return item;
    },
  };
}

export const AudioInput = defineNodeType<FormatParams>({
  name: 'AudioInput',
  aliases: ['AudioTrackSource'],
  role: 'transform',
  description:
    'Where the run’s audio (`run -i`) enters: passes frames on, checking `sample_rate`/`channels` when given.',
  params: FormatParams,
  create: (ctx) => checkedPassThrough(ctx.id, 'AudioInput', ctx.params),
});

export const AudioOutput = defineNodeType<FormatParams>({
  name: 'AudioOutput',
  aliases: [],
  role: 'transform',
  description:
    'Audio leaving the pipeline (`-o out.wav` writes it): passes frames on, checking `sample_rate`/`channels` when given.',
  params: FormatParams,
  create: (ctx) => checkedPassThrough(ctx.id, 'AudioOutput', ctx.params),
});

const ReaderParams = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      description: 'Audio file (WAV, or any format ffmpeg reads), relative to the manifest.',
    }),
    chunk_size: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Samples per channel in a frame (default: 20 ms of audio).' }),
    ),
    realtime: Type.Optional(
      Type.Boolean({ description: 'Release frames at wall-clock speed, like a live source.' }),
    ),
  },
  { additionalProperties: false },
);
type ReaderParams = Static<typeof ReaderParams>;

export const MediaReaderNode = defineNodeType<ReaderParams>({
  name: 'MediaReaderNode',
  aliases: ['MediaReader'],
  role: 'source',
  description: 'Reads an audio file (WAV, or any format ffmpeg decodes) as frames of `chunk_size` samples.',
  params: ReaderParams,
  create: (ctx): SourceNode => {
    const path = resolve(ctx.baseDir, ctx.params.path);
    return {
      readsInput: false,
      items: () => {
        const kind = detectInputKind(path, readFileHead(path, 12));
        return audioInputFrames(
          { kind: kind === 'jsonl' ? 'ffmpeg' : kind, path },
          {
            signal: ctx.signal,
            realtime: ctx.params.realtime === true,
            ...(ctx.params.chunk_size !== undefined ? { frameSamples: ctx.params.chunk_size } : {}),
          },
        );
      },
    };
  },
});
