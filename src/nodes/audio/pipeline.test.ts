import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { AudioFrame } from '../../core/audio.js';
import { runPipeline } from '../../pipeline/executor.js';
import { validateManifest } from '../../pipeline/manifest.js';
import { createNodeTypeRegistry, defineNodeType, type SourceNode } from '../../pipeline/node.js';
import { BUILTIN_NODE_TYPES } from '../registry.js';
import { chain, manifestOf } from '../test-support.js';
import { framesIn, framesOf, sine } from './test-support.js';

/** The built-ins plus `Frames`, a source of 1 s of 48 kHz stereo sine in 20 ms frames. */
const registry = createNodeTypeRegistry([
  ...BUILTIN_NODE_TYPES.types,
  defineNodeType<Record<string, never>>({
    name: 'Frames',
    aliases: [],
    role: 'source',
    description: 'test source',
    params: Type.Object({}),
    create: (): SourceNode => ({
      readsInput: false,
      items: () => framesOf(sine(440, 48_000, 1, 2), 48_000, 2, 960),
    }),
  }),
]);

const problemsOf = (doc: object): string[] => {
  const r = validateManifest(doc, registry, { source: 'test', baseDir: '/tmp' });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('audio nodes in a pipeline', () => {
  test('resample 48 kHz stereo to 16 kHz mono, then chunk into 512-sample windows', async () => {
    const m = manifestOf(
      chain([
        ['src', 'Frames'],
        [
          'resample',
          'FastResampleNode',
          { sourceRate: 48_000, targetRate: 16_000, quality: 'Low', channels: 1 },
        ],
        ['chunk', 'AudioChunkerNode', { chunkSize: 512 }],
        ['out', 'Echo'],
      ]),
      registry,
    );
    const r = await runPipeline(m);
    assert.equal(r.state, 'completed');
    const chunks = framesIn(r.outputs);
    assert.equal(chunks.length, Math.floor(16_000 / 512));
    for (const [k, c] of chunks.entries()) {
      assert.deepEqual(
        [c.sampleRate, c.channels, c.frames, c.timestampUs],
        [16_000, 1, 512, (k * 512 * 1e6) / 16_000],
      );
    }
  });

  test("RemoteMedia's names, aliases and param spellings validate; two spellings that disagree do not", () => {
    const nodes = [
      ['a', 'AudioResample', { target_sample_rate: 16_000, quality: 'high' }],
      ['b', 'AutoResampleNode', { target_rate: 16_000, quality: 'medium' }],
      ['c', 'RustResampleNode', {}],
      ['d', 'AudioChunker', { chunk_size_ms: 32 }],
      ['e', 'AudioBuffer', { buffer_size_samples: 32_000 }],
      ['f', 'AudioTransform', { output_sample_rate: 16_000, output_channels: 1 }],
      ['g', 'AudioBufferAccumulatorNode', { minUtteranceDurationMs: 300, max_utterance_duration_ms: 20_000 }],
      ['h', 'PassthroughNode'],
      ['i', 'EchoNode'],
      [
        'j',
        'AudioChannelSplitterNode',
        { output_mode: 'channels', max_speakers: 4, stream_id_prefix: 'speaker' },
      ],
    ] as [string, string, Record<string, unknown>?][];
    assert.deepEqual(problemsOf(chain([['src', 'Frames'], ...nodes])), []);
    assert.deepEqual(
      problemsOf(
        chain([
          ['src', 'Frames'],
          ['r', 'FastResampleNode', { target_rate: 16_000, targetRate: 8_000 }],
        ]),
      ),
      [
        '$.nodes[1].params.targetRate: targetRate and target_rate are two spellings of one param and disagree (8000 vs 16000); give one',
      ],
    );
  });

  test('a node fed audio it cannot take fails the item with the node id and its expectation', async () => {
    const m = manifestOf(
      chain([
        ['src', 'Frames'],
        ['r', 'FastResampleNode', { source_rate: 16_000, target_rate: 8_000 }],
      ]),
      registry,
    );
    const r = await runPipeline(m);
    assert.equal(r.state, 'failed');
    assert.match(
      String(r.error?.message),
      /node 'r' \(FastResampleNode\) failed on item 0: FastResampleNode expects audio at 16000 Hz \(its source_rate\), got 48000 Hz, 2 channels/,
    );
    assert.ok(r.outputs.every((o) => !(o instanceof AudioFrame)));
  });
});
