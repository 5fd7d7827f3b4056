/**
 * What `pitlane run -i` reads: JSONL items (the default), or audio the way RemoteMedia's CLI takes it — a WAV file,
 * any other audio file through ffmpeg, or raw PCM from a file or stdin — turned into a stream of AudioFrames. The
 * format is given with `--input-format` or detected: a file by its header (RIFF/WAVE) or its name (.mp3, .flac, ...),
 * stdin as raw PCM when `--sample-rate` is given, else as JSONL.
 */
import type { AudioFrame } from '../core/audio.js';
import type { ItemGroup } from '../core/item-group.js';
import type { Manifest } from '../pipeline/manifest.js';
import { UsageError } from '../core/errors.js';
import {
  DEFAULT_FRAME_MS,
  audioInputFrames,
  detectInputKind,
  type AudioInputSpec,
  type PcmFormat,
} from '../media/audio-input.js';
import { readFileHead } from '../media/wav.js';

/** `--input-format` values: pitlane's names and RemoteMedia's (`raw-pcm`, `json`). */
export const INPUT_FORMATS = ['auto', 'jsonl', 'json', 'wav', 'pcm', 'raw-pcm', 'ffmpeg'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The audio options of `pitlane run`. */
export interface AudioInputOptions {
  inputFormat?: InputFormat;
  sampleRate?: number;
  channels?: number;
  pcmFormat?: PcmFormat;
  frameMs?: number;
  chunkSize?: number;
  realtime?: boolean;
  streams?: number;
  /** Seconds of a live input left out of latency and drop counts (`--warmup`). */
  warmup?: number;
}

/** How the input will be read. */
export type RunInput =
  | { readonly kind: 'jsonl'; readonly path: string }
  | { readonly kind: 'audio'; readonly spec: AudioInputSpec };

/** Decides how `-i PATH` is read (see the module comment). */
export function resolveRunInput(path: string, opts: AudioInputOptions): RunInput {
  const format = opts.inputFormat ?? 'auto';
  const pcm = (): RunInput => ({
    kind: 'audio',
    spec: {
      kind: 'pcm',
      path,
      sampleRate: opts.sampleRate ?? 16_000,
      channels: opts.channels ?? 1,
      format: opts.pcmFormat ?? 'f32le',
    },
  });
  switch (format) {
    case 'jsonl':
    case 'json':
      return { kind: 'jsonl', path };
    case 'pcm':
    case 'raw-pcm':
      return pcm();
    case 'wav':
      if (path === '-')
        throw new UsageError('--input-format wav needs a file: stdin takes raw PCM (--input-format pcm)');
      return { kind: 'audio', spec: { kind: 'wav', path } };
    case 'ffmpeg':
      if (path === '-')
        throw new UsageError('--input-format ffmpeg needs a file: stdin takes raw PCM (--input-format pcm)');
      return { kind: 'audio', spec: { kind: 'ffmpeg', path } };
    case 'auto': {
      if (path === '-') return opts.sampleRate !== undefined ? pcm() : { kind: 'jsonl', path };
      const kind = detectInputKind(path, readFileHead(path, 12));
      if (kind === 'jsonl') return { kind: 'jsonl', path };
      return { kind: 'audio', spec: { kind, path } };
    }
  }
}

/** The frames of an audio input, cut and paced as the options say. */
export function runAudioFrames(
  spec: AudioInputSpec,
  opts: AudioInputOptions,
  signal: AbortSignal,
  onBehind: (dropped: number, lateMs: number, slots: number) => void,
  onWarm?: (arrivalUs: number) => void,
  streamIds?: readonly string[],
): AsyncGenerator<AudioFrame | ItemGroup<AudioFrame>> {
  return audioInputFrames(spec, {
    signal,
    onBehind,
    realtime: opts.realtime === true,
    ...(streamIds !== undefined
      ? { streamIds }
      : opts.streams !== undefined
        ? { streams: opts.streams }
        : {}),
    ...(opts.warmup !== undefined ? { warmupMs: opts.warmup * 1000 } : {}),
    ...(onWarm !== undefined ? { onWarm } : {}),
    ...(opts.chunkSize !== undefined ? { frameSamples: opts.chunkSize } : {}),
    ...(opts.frameMs !== undefined ? { frameMs: opts.frameMs } : {}),
  });
}

/** Most audio a live pipeline's input queues hold before they drop the oldest frame. */
export const LIVE_BACKLOG_MS = 500;

/**
 * The manifest as run from a live (`--realtime`) source: the queues of the nodes the input feeds drop their oldest
 * frame when they hold more than LIVE_BACKLOG_MS of audio (of every stream, with `--streams`), instead of blocking a source that cannot wait, unless
 * the manifest sets their queue policy itself. Dropped frames are counted in the nodes' stats.
 */
export function asLiveInput(manifest: Manifest, opts: AudioInputOptions, sampleRateHint = 16_000): Manifest {
  const frameMs =
    opts.chunkSize !== undefined
      ? (opts.chunkSize / sampleRateHint) * 1000
      : (opts.frameMs ?? DEFAULT_FRAME_MS);
  const capacity = Math.max(2, Math.ceil(LIVE_BACKLOG_MS / frameMs)) * (opts.streams ?? 1);
  const explicit = manifest.document.settings?.queue_policy !== undefined;
  const nodes = manifest.nodes.map((n) =>
    (manifest.plan.predecessors[n.index]?.length ?? 0) === 0 &&
    !explicit &&
    n.document.settings?.queue_policy === undefined
      ? { ...n, queuePolicy: 'drop_oldest' as const, queueCapacity: capacity }
      : n,
  );
  return { ...manifest, nodes };
}
