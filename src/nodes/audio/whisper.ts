/**
 * Speech recognition with a Whisper model, under every name RemoteMedia's manifests give a Whisper node
 * (`WhisperSTT`, `RustWhisperNode`, `HFWhisperNode`, `WhisperNode`, `WhisperTranscriptionNode`,
 * `RustWhisperTranscriber`, `candle-whisper`). It runs a user-supplied Whisper ONNX model in the transformers.js
 * folder layout (what `onnx-community/whisper-*` publish) through transformers.js's speech-recognition pipeline on
 * ONNX Runtime: log-mel features, encoder, decoder with its key/value cache, greedy generation.
 *
 * `model_source` (or RemoteMedia's `model` / `model_id`) must be a local folder holding the files below: RemoteMedia
 * downloads `tiny`, `base.en`, ... by name, pitlane has no network, so a name that is not a folder fails at
 * validation, naming the files it needs. Each input frame (an utterance, 16 kHz mono: put FastResampleNode and
 * AudioBufferAccumulatorNode before it) becomes `{text, start, end}` in seconds of the stream. The project's tests
 * run it on whisper-micro-arch (scripts/build-whisper-arch.mjs): Whisper's architecture with synthetic weights,
 * which checks the code path and transcribes nothing.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, fromFrame } from '../../core/audio.js';
import { ItemError } from '../../core/errors.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';

/** What a Whisper model folder must hold (transformers.js layout). */
export const WHISPER_MODEL_FILES: readonly string[] = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/encoder_model.onnx',
  'onnx/decoder_model_merged.onnx',
];

const Kept = (what: string) =>
  Type.Optional(Type.Unknown({ description: `RemoteMedia: ${what} (kept, not used).` }));

const Params = Type.Object(
  {
    model_source: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Folder of a Whisper ONNX model (transformers.js layout), relative to the manifest.',
      }),
    ),
    model: Type.Optional(
      Type.String({ minLength: 1, description: 'Same as model_source (RemoteMedia spelling).' }),
    ),
    model_id: Type.Optional(
      Type.String({ minLength: 1, description: 'Same as model_source (RemoteMedia spelling).' }),
    ),
    language: Type.Optional(
      Type.String({ minLength: 1, description: 'Spoken language for a multilingual model (default en).' }),
    ),
    task: Type.Optional(
      Type.Union([Type.Literal('transcribe'), Type.Literal('translate')], {
        description: 'transcribe (default) or translate to English.',
      }),
    ),
    translate: Type.Optional(Type.Boolean({ description: 'true = task translate (RemoteMedia spelling).' })),
    n_threads: Type.Optional(Type.Integer({ minimum: 1, description: 'ONNX Runtime intra-op threads.' })),
    chunk_length_s: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: 'Cut audio longer than 30 s into chunks of this length.',
      }),
    ),
    accumulate_chunks: Kept('accumulate audio before transcribing (use AudioBufferAccumulatorNode)'),
    initial_buffer_duration_s: Kept('buffering'),
    max_buffer_duration_s: Kept('buffering'),
    torch_dtype: Kept('PyTorch dtype'),
    device: Kept('device'),
    compute_type: Kept('compute type'),
    beam_size: Kept('beam search (pitlane decodes greedily)'),
    best_of: Kept('sampling'),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/**
 * transformers.js finds local models under one global folder (env.localModelPath) by name: loads are chained so
 * that two Whisper nodes in other folders never see each other's setting.
 */
let loads: Promise<unknown> = Promise.resolve();

function loadRecognizer(dir: string, threads: number | undefined): Promise<Recognizer> {
  const load = loads.then(async () => {
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = `${dirname(dir)}/`;
    return await tf.pipeline('automatic-speech-recognition', basename(dir), {
      dtype: 'fp32',
      device: 'cpu',
      ...(threads !== undefined ? { session_options: { intraOpNumThreads: threads } } : {}),
    });
  });
  loads = load.catch(() => undefined);
  return load;
}

const sourceOf = (p: Params): string | undefined => p.model_source ?? p.model ?? p.model_id;

/** The speech-recognition pipeline of transformers.js, as far as this node uses it. */
type Recognizer = ((
  audio: Float32Array,
  options: Record<string, unknown>,
) => Promise<{ text: string } | { text: string }[]>) & { dispose?: () => Promise<void> };

export const WhisperSTT = defineNodeType<Params>({
  name: 'WhisperSTT',
  aliases: [
    'RustWhisperNode',
    'HFWhisperNode',
    'WhisperNode',
    'WhisperTranscriptionNode',
    'RustWhisperTranscriber',
    'candle-whisper',
  ],
  role: 'transform',
  description:
    'Speech recognition with a Whisper ONNX model from a local folder (transformers.js layout): 16 kHz mono utterance → {text, start, end}.',
  params: Params,
  check: (p, node) => {
    const source = sourceOf(p);
    if (source === undefined) {
      return [
        {
          path: '.model_source',
          message: 'a Whisper node needs model_source: the folder of a Whisper ONNX model',
        },
      ];
    }
    const dir = resolve(node.baseDir, source);
    const missing = WHISPER_MODEL_FILES.filter((f) => !existsSync(resolve(dir, f)));
    if (missing.length === 0) return [];
    const isDir = existsSync(dir) && statSync(dir).isDirectory();
    return [
      {
        path: p.model_source !== undefined ? '.model_source' : p.model !== undefined ? '.model' : '.model_id',
        message:
          `${isDir ? `the folder '${source}' lacks ${missing.join(', ')}` : `'${source}' is not a model folder here`}: ` +
          `a Whisper node runs a Whisper ONNX model in the transformers.js layout from a local folder holding ` +
          `${WHISPER_MODEL_FILES.join(', ')} (e.g. a download of onnx-community/whisper-base.en); pitlane does not download models`,
      },
    ];
  },
  create: (ctx): PipelineNode => {
    const dir = resolve(ctx.baseDir, sourceOf(ctx.params) ?? '.');
    const task = ctx.params.translate === true ? 'translate' : (ctx.params.task ?? 'transcribe');
    let recognize: Recognizer | null = null;
    let multilingual = false;
    return {
      initialize: async () => {
        const generation = JSON.parse(readFileSync(resolve(dir, 'generation_config.json'), 'utf8')) as {
          is_multilingual?: boolean;
        };
        multilingual = generation.is_multilingual === true;
        recognize = await loadRecognizer(dir, ctx.params.n_threads);
      },
      process: async (item: unknown) => {
        if (!(item instanceof AudioFrame)) {
          throw new ItemError(
            `WhisperSTT '${ctx.id}' takes audio frames, not ${item === null ? 'null' : typeof item}`,
          );
        }
        if (item.sampleRate !== 16_000 || item.channels !== 1) {
          throw new ItemError(
            `WhisperSTT '${ctx.id}' needs 16000 Hz mono audio but got ${item.sampleRate} Hz × ${item.channels}; ` +
              'put a FastResampleNode (and AudioTransform for channels) before it',
          );
        }
        if (item.frames === 0) return undefined;
        const run = recognize as Recognizer;
        const result = await run(item.samples, {
          ...(multilingual ? { language: ctx.params.language ?? 'en', task } : {}),
          ...(ctx.params.chunk_length_s !== undefined ? { chunk_length_s: ctx.params.chunk_length_s } : {}),
        });
        const text = (Array.isArray(result) ? result.map((r) => r.text).join(' ') : result.text).trim();
        return fromFrame(
          { text, start: item.startSeconds, end: item.startSeconds + item.durationSeconds },
          item,
        );
      },
      cleanup: async () => {
        await recognize?.dispose?.();
      },
      describe: () => `whisper (${dir}, transformers.js on ONNX Runtime)`,
    };
  },
});
