/**
 * AudioBuffer: the Python SDK's buffering node (remotemedia/nodes/audio.py, class AudioBuffer; used by the
 * rust_runtime whisper manifests): accumulates audio until `buffer_size_samples` samples per channel are held,
 * emits exactly that many, keeps the rest; when the format changes mid-stream it emits what it holds and starts
 * over; at end of stream it emits what is left. Non-audio items are dropped (the SDK logs and skips them).
 * Unlike the SDK, which keeps one buffer, the buffer is kept per stream id.
 */
import { Type, type Static } from '@sinclair/typebox';
import { isAudioFrame } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { FixedChunker, outputsOf } from './fixed-chunks.js';

const Params = Type.Object(
  {
    buffer_size_samples: Type.Integer({
      minimum: 1,
      maximum: 100_000_000,
      description: 'Samples per channel in each emitted frame.',
    }),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

export const AudioBuffer = defineNodeType<Params>({
  name: 'AudioBuffer',
  aliases: [],
  role: 'transform',
  description:
    'Accumulates audio per stream and emits frames of exactly buffer_size_samples samples per channel; the remainder goes out at a format change and at end of stream; non-audio is dropped.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const size = params.buffer_size_samples;
    const chunker = new FixedChunker({
      nodeType: 'AudioBuffer',
      chunkFrames: () => size,
      onFormatChange: 'emit',
      emitRemainder: true,
    });
    return {
      process: (item) => (isAudioFrame(item) ? outputsOf(chunker.process(item)) : undefined),
      flush: () => outputsOf(chunker.flush()),
    };
  },
});
