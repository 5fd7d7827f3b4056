/**
 * Text to speech on Debian's espeak-ng, for pipelines shaped like RemoteMedia's TTS manifests (text in, audio frames
 * out: its `KokoroTTSNode`, `VibeVoiceTTSNode`, ... take a text item and stream audio). It is espeak-ng's formant
 * synthesiser, not Kokoro or any neural voice, and is named for what it is: `EspeakTTSNode`.
 *
 * Each text item runs `espeak-ng --stdout` once (a process of about 10 ms) and its WAV output becomes one frame at
 * espeak-ng's rate (22050 Hz mono); `metadata.text` carries the text. Input: a string, or an object with `text`.
 * RemoteMedia's `speed` (1.0 = normal) scales espeak-ng's 175 words per minute; `voice` is an espeak-ng voice
 * (`en-us`, `en-gb`, `fr`, ... ; `espeak-ng --voices` lists them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, monotonicUs } from '../../core/audio.js';
import { ItemError } from '../../core/errors.js';
import { decodeWav } from '../../media/wav.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';

const Params = Type.Object(
  {
    voice: Type.Optional(Type.String({ minLength: 1, description: 'espeak-ng voice (default en-us).' })),
    speed: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 4,
        description: 'Speaking rate, 1.0 = 175 words a minute.',
      }),
    ),
    pitch: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 99, description: 'espeak-ng pitch, 0-99 (default 50).' }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** espeak-ng's words per minute at speed 1.0. */
const BASE_WPM = 175;

/** Runs espeak-ng on one text; resolves with its WAV bytes. */
function synthesise(text: string, p: Params, signal: AbortSignal): Promise<Buffer> {
  const args = [
    '--stdout',
    '-v',
    p.voice ?? 'en-us',
    '-s',
    String(Math.round(BASE_WPM * (p.speed ?? 1))),
    '-p',
    String(p.pitch ?? 50),
    '--',
    text,
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('espeak-ng', args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out));
      else reject(new ItemError(`espeak-ng failed (exit ${String(code)}): ${err.trim() || 'no message'}`));
    });
  });
}

function textOf(item: unknown): string {
  if (typeof item === 'string') return item;
  if (typeof item === 'object' && item !== null && typeof (item as { text?: unknown }).text === 'string') {
    return (item as { text: string }).text;
  }
  throw new ItemError('EspeakTTSNode takes text: a string, or an object with a "text" string');
}

export const EspeakTTSNode = defineNodeType<Params>({
  name: 'EspeakTTSNode',
  aliases: ['EspeakTTS'],
  role: 'transform',
  description:
    'Text to speech with Debian’s espeak-ng (a formant synthesiser, not a neural voice): one 22050 Hz mono frame per text.',
  params: Params,
  create: (ctx): PipelineNode => {
    let position = 0; // µs of speech emitted, for the frames' timestamps
    return {
      initialize: () => {
        const probe = spawnSync('espeak-ng', ['--version'], { encoding: 'utf8' });
        if (probe.error !== undefined) {
          throw new Error('espeak-ng is not installed (Debian: apt-get install espeak-ng)');
        }
      },
      process: async (item: unknown) => {
        const text = textOf(item);
        if (text.trim() === '') return undefined;
        const wav = decodeWav(
          await synthesise(text, ctx.params, ctx.signal),
          `espeak-ng output for '${ctx.id}'`,
          {
            streamed: true,
          },
        );
        const frame = new AudioFrame(wav.samples, {
          sampleRate: wav.sampleRate,
          channels: wav.channels,
          timestampUs: position,
          arrivalTsUs: monotonicUs(),
          metadata: { text },
        });
        position += Math.round(frame.durationSeconds * 1e6);
        return frame;
      },
      describe: () => 'espeak-ng (formant synthesis)',
    };
  },
});
