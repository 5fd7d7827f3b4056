/**
 * AudioChunkerNode: RemoteMedia's fixed-size chunker (crates/core/src/nodes/audio_chunker.rs; the generated SDK
 * schema names it `AudioChunker` with `chunk_size_ms`). Cuts each stream into chunks of `chunk_size` samples
 * (default 512, Silero VAD's window at 16 kHz), carrying the remainder across frames; at end of stream the
 * remainder is dropped, as RemoteMedia's node has no flush. Non-audio items are refused, as RemoteMedia's are.
 *
 * Choices of ours: `chunk_size` counts samples per channel (RemoteMedia counts interleaved values, the same
 * for the mono audio all its manifests chunk); a stream that changes rate or channel count while part of a
 * chunk is held is refused with an item error (RemoteMedia would glue the two formats into one chunk); chunk
 * timestamps come from the stream position (RemoteMedia leaves them empty).
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { needAudio } from './audio-items.js';
import { FixedChunker, outputsOf } from './fixed-chunks.js';
import { spelled, spellingConflicts } from './param-spellings.js';

const Size = (description: string) => Type.Integer({ minimum: 1, maximum: 1_048_576, description });

const Params = Type.Object(
  {
    chunk_size: Type.Optional(Size('Samples per channel in each chunk (default 512).')),
    chunkSize: Type.Optional(Size('Spelling of chunk_size.')),
    chunk_size_ms: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 60_000,
        description: 'Chunk length in ms instead of samples (at the rate of each stream, rounded).',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const SIZE_SPELLINGS = ['chunk_size', 'chunkSize'] as const;

export const AudioChunkerNode = defineNodeType<Params>({
  name: 'AudioChunkerNode',
  aliases: ['AudioChunker'],
  role: 'transform',
  description:
    'Cuts audio into fixed-size chunks (chunk_size samples per channel, default 512, or chunk_size_ms) per stream, carrying the remainder across frames; drops the last partial chunk at end of stream.',
  params: Params,
  check: (p) => {
    const problems = spellingConflicts(p, [SIZE_SPELLINGS]);
    if (p.chunk_size_ms !== undefined && spelled(p, SIZE_SPELLINGS) !== undefined) {
      problems.push({
        path: '.chunk_size_ms',
        message: 'give chunk_size (samples) or chunk_size_ms, not both',
      });
    }
    return problems;
  },
  create: ({ params }): PipelineNode => {
    const ms = params.chunk_size_ms;
    const size = spelled(params, SIZE_SPELLINGS) ?? 512;
    const chunker = new FixedChunker({
      nodeType: 'AudioChunkerNode',
      chunkFrames: ms === undefined ? () => size : (rate) => Math.round((ms * rate) / 1000),
      onFormatChange: 'error',
      emitRemainder: false,
    });
    return {
      process: (item) => outputsOf(chunker.process(needAudio('AudioChunkerNode', item))),
      flush: () => outputsOf(chunker.flush()),
    };
  },
});
