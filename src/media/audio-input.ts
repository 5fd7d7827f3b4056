/**
 * Audio into a pipeline, the way RemoteMedia's CLI takes it (`-i speech.wav`, `-i -` for raw PCM on stdin), as a
 * stream of AudioFrames of a fixed length. Three kinds of input:
 *  - a WAV file, decoded in memory (media/wav.ts); its frames are views on the decoded samples (no copy);
 *  - raw PCM from a file or stdin (`f32le`, RemoteMedia's format, or `s16le`), with the rate and channels given;
 *  - any other file, decoded by Debian's `ffmpeg` to f32 PCM when it is installed (`ffprobe` reads the rate and
 *    channels first), or a clear error saying it is needed.
 *
 * Framing: frames hold `frameSamples` samples per channel (the last one may be shorter), are stamped with their
 * stream position (`timestampUs`) and, when handed to the pipeline, with the monotonic arrival time from which
 * per-frame latency is measured. With `realtime`, frames are released at wall-clock speed, like a live source: a
 * frame is due at start + its timestamp. A live source cannot wait for a slow pipeline, so when the pipeline takes a
 * frame late, the frames that fell due meanwhile are dropped (drop_oldest: the newest due frame goes on), counted,
 * and reported through `onBehind` (the CLI warns that the pipeline cannot keep up with real time).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AudioFrame, monotonicUs } from '../core/audio.js';
import { AudioInputError } from '../core/errors.js';
import { ItemGroup } from '../core/item-group.js';
import { looksLikeWav, readWavFile } from './wav.js';

/** Raw PCM sample encodings accepted on `-i -` (RemoteMedia's is f32le). */
export type PcmFormat = 'f32le' | 's16le';

/** Where the audio comes from. */
export type AudioInputSpec =
  | { readonly kind: 'wav'; readonly path: string }
  | {
      readonly kind: 'pcm';
      /** A file, or `-` for stdin. */
      readonly path: string;
      readonly sampleRate: number;
      readonly channels: number;
      readonly format: PcmFormat;
    }
  | { readonly kind: 'ffmpeg'; readonly path: string };

/** How frames are cut and released. */
export interface AudioFramingOptions {
  /** Samples per channel in a frame. */
  readonly frameSamples?: number;
  /** Frame length in ms, when frameSamples is not given (default 20 ms). */
  readonly frameMs?: number;
  /** Release frames at wall-clock speed (a live source). */
  readonly realtime?: boolean;
  /** The frames' stream id (default: none, the default track). */
  readonly streamId?: string;
  /**
   * Replays the input as this many concurrent streams (stream ids `s0`, `s1`, ...): each frame is released once per
   * stream, sharing its samples (frames are immutable); live, the streams arrive staggered across the frame period
   * (STAGGER_GROUPS). For load tests of live pipelines.
   */
  readonly streams?: number;
  readonly signal?: AbortSignal;
  /**
   * Called each time a live source drops frames because the pipeline took the previous ones late: frames dropped
   * so far (of every stream), how late, and groups of frames dropped so far.
   */
  readonly onBehind?: (dropped: number, lateMs: number, slots: number) => void;
  /**
   * Live: audio at the start (ms of stream time) that warms the pipeline up. Frames dropped in it are not counted
   * (nor reported through onBehind), and `onWarm` gets the arrival time of the first frame after it, from which
   * latency counts.
   */
  readonly warmupMs?: number;
  /** The ids of the streams (one frame each per slot); overrides `streams` and `streamId`. */
  readonly streamIds?: readonly string[];
  readonly onWarm?: (arrivalUs: number) => void;
}

/** Default frame length. */
export const DEFAULT_FRAME_MS = 20;

/**
 * Live streams are released in this many groups per frame period, evenly spaced (2 ms apart for 20 ms frames): N
 * independent sources do not deliver their frames in the same instant, and a load test that released them all at
 * once would measure the burst, not the load.
 */
export const STAGGER_GROUPS = 10;

/** File name endings taken as audio (WAV read here, the others through ffmpeg) when `--input-format` is auto. */
export const AUDIO_FILE_EXTENSIONS: readonly string[] = [
  '.wav',
  '.wave',
  '.flac',
  '.mp3',
  '.ogg',
  '.oga',
  '.opus',
  '.m4a',
  '.aac',
  '.webm',
  '.mka',
  '.mp4',
  '.mkv',
  '.aiff',
  '.aif',
  '.au',
  '.caf',
];

/** The frames of an audio input (see the module comment). */
export async function* audioInputFrames(
  spec: AudioInputSpec,
  options: AudioFramingOptions = {},
): AsyncGenerator<AudioFrame | ItemGroup<AudioFrame>> {
  const source = await openAudio(spec, options.signal);
  try {
    yield* frameAudio(source, options);
  } finally {
    source.close();
  }
}

/** Audio as a format and a stream of interleaved f32 chunks of whole frames. */
interface AudioStream {
  readonly sampleRate: number;
  readonly channels: number;
  readonly chunks: AsyncIterable<Float32Array> | Iterable<Float32Array>;
  close(): void;
}

async function openAudio(spec: AudioInputSpec, signal: AbortSignal | undefined): Promise<AudioStream> {
  switch (spec.kind) {
    case 'wav': {
      const wav = readWavFile(spec.path);
      return {
        sampleRate: wav.sampleRate,
        channels: wav.channels,
        chunks: [wav.samples],
        close: () => undefined,
      };
    }
    case 'pcm': {
      checkFormat(spec.path, spec.sampleRate, spec.channels);
      const stream = spec.path === '-' ? process.stdin : await openFile(spec.path);
      return {
        sampleRate: spec.sampleRate,
        channels: spec.channels,
        chunks: pcmChunks(stream, spec.format, spec.channels, spec.path),
        close: () => {
          if (stream !== process.stdin) stream.destroy();
        },
      };
    }
    case 'ffmpeg':
      return openWithFfmpeg(spec.path, signal);
  }
}

function checkFormat(name: string, sampleRate: number, channels: number): void {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new AudioInputError(name, `raw PCM needs a positive --sample-rate (got ${String(sampleRate)})`);
  }
  if (!Number.isInteger(channels) || channels <= 0 || channels > 64) {
    throw new AudioInputError(name, `raw PCM needs --channels from 1 to 64 (got ${String(channels)})`);
  }
}

async function openFile(path: string): Promise<Readable> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(new AudioInputError(path, `cannot open: ${e.message}`, { cause: e })));
  });
  return stream;
}

/** Raw PCM bytes to f32 chunks of whole frames; bytes of a frame split across reads are carried over. */
async function* pcmChunks(
  stream: Readable,
  format: PcmFormat,
  channels: number,
  name: string,
): AsyncGenerator<Float32Array> {
  const width = format === 'f32le' ? 4 : 2;
  const frameBytes = width * channels;
  let carry: Buffer = Buffer.alloc(0);
  let offsetBytes = 0;
  for await (const data of stream) {
    const chunk = carry.length > 0 ? Buffer.concat([carry, data as Buffer]) : (data as Buffer);
    const whole = chunk.length - (chunk.length % frameBytes);
    carry = Buffer.from(chunk.subarray(whole));
    if (whole === 0) continue;
    const out = new Float32Array(whole / width);
    if (format === 'f32le') {
      // One copy into aligned memory (every platform Node runs on is little-endian).
      new Uint8Array(out.buffer).set(chunk.subarray(0, whole));
      const bad = out.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        const frame = Math.floor((offsetBytes / width + bad) / channels);
        throw new AudioInputError(
          name,
          `sample ${frame} of channel ${bad % channels} is ${String(out[bad])}; audio samples must be finite`,
        );
      }
    } else {
      for (let i = 0; i < out.length; i++) out[i] = chunk.readInt16LE(i * 2) / 32768;
    }
    offsetBytes += whole;
    yield out;
  }
  if (carry.length > 0) {
    throw new AudioInputError(
      name,
      `the raw PCM ends in the middle of a frame (${carry.length} of ${frameBytes} bytes): check --channels and --pcm-format`,
    );
  }
}

/** Decodes any file ffmpeg reads to f32 PCM, streaming; the rate and channels come from ffprobe. */
function openWithFfmpeg(path: string, signal: AbortSignal | undefined): AudioStream {
  const probe = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'a:0',
      '-show_entries',
      'stream=sample_rate,channels',
      '-of',
      'json',
      path,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (probe.error !== undefined) {
    const missing = (probe.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AudioInputError(
      path,
      missing
        ? 'not a WAV file; other audio formats are decoded with ffmpeg, which is not installed (Debian: apt-get install ffmpeg), or convert it to WAV'
        : `ffprobe failed: ${probe.error.message}`,
      { cause: probe.error },
    );
  }
  if (probe.status !== 0) {
    throw new AudioInputError(
      path,
      `ffmpeg cannot read it: ${lastLine(probe.stderr) || `ffprobe exit ${String(probe.status)}`}`,
    );
  }
  const stream = (JSON.parse(probe.stdout) as { streams?: { sample_rate?: string; channels?: number }[] })
    .streams?.[0];
  if (stream === undefined) throw new AudioInputError(path, 'ffmpeg finds no audio stream in it');
  const sampleRate = Number(stream.sample_rate);
  const channels = Number(stream.channels);
  checkFormat(path, sampleRate, channels);
  const child = spawn(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-i', path, '-map', '0:a:0', '-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1'],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(signal !== undefined ? { signal } : {}) },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 16_384) stderr += d;
  });
  child.on('error', () => undefined); // an abort kills it; the exit below reports anything else
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  async function* chunks(): AsyncGenerator<Float32Array> {
    yield* pcmChunks(child.stdout, 'f32le', channels, path);
    const code = await exited;
    if (code !== 0 && signal?.aborted !== true) {
      throw new AudioInputError(
        path,
        `ffmpeg failed (exit ${String(code)}): ${lastLine(stderr) || 'no message'}`,
      );
    }
  }
  return { sampleRate, channels, chunks: chunks(), close: () => child.kill() };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

/** Cuts the chunks into frames and releases them (at wall-clock speed when live). */
async function* frameAudio(
  source: AudioStream,
  options: AudioFramingOptions,
): AsyncGenerator<AudioFrame | ItemGroup<AudioFrame>> {
  const { sampleRate: rate, channels } = source;
  const perFrame =
    options.frameSamples ?? Math.max(1, Math.round((rate * (options.frameMs ?? DEFAULT_FRAME_MS)) / 1000));
  const want = perFrame * channels;
  const streamId = options.streamId;
  const signal = options.signal;
  let position = 0; // samples per channel emitted so far
  let pending: Float32Array | null = null; // the start of a frame that spans chunks
  // The live clock starts once the pipeline has taken the first frame of every stream (see `due`): start-up
  // (node initialisation, cold code) is not counted as falling behind.
  let started = Number.NaN;
  let dropped = 0; // frames (of every stream)
  let droppedSlots = 0; // groups of frames dropped
  const streams = options.streams ?? 1;
  const ids: readonly (string | undefined)[] =
    options.streamIds ?? (streams > 1 ? Array.from({ length: streams }, (_, i) => `s${i}`) : [streamId]);
  const warmSamples = Math.round((rate * (options.warmupMs ?? 0)) / 1000);
  let warm = warmSamples === 0;
  // Live streams arrive staggered across the frame period, as independent sources do: the streams are cut into
  // groups (contiguous ids), group g released g/groups of a period after the first.
  const groups = options.realtime === true ? Math.min(ids.length, STAGGER_GROUPS) : 1;
  const bounds = Array.from({ length: groups + 1 }, (_, g) => Math.floor((g * ids.length) / groups));

  /** Group g's frames of the slot at `position` (one frame without several streams), stamped as arriving now. */
  function make(samples: Float32Array, g: number): AudioFrame | ItemGroup<AudioFrame> {
    const timestampUs = Math.round((position / rate) * 1e6);
    // The group's frames arrive now, together: the frames the pipeline takes later wait behind the others, and
    // that wait is part of their latency.
    const arrivalTsUs = monotonicUs();
    if (!warm && position >= warmSamples) {
      warm = true;
      options.onWarm?.(arrivalTsUs);
    }
    const frame = (id: string | undefined): AudioFrame =>
      new AudioFrame(samples, { sampleRate: rate, channels, streamId: id, timestampUs, arrivalTsUs });
    return ids.length === 1 ? frame(ids[0]) : new ItemGroup(ids.slice(bounds[g], bounds[g + 1]).map(frame));
  }

  /**
   * For a live source: waits until group g of the slot at `position` is due; false when its time is over (the
   * pipeline took the previous one too late): its frames are dropped and counted, past the warm-up.
   */
  const due = async (frameSamples: number, g: number): Promise<boolean> => {
    if (options.realtime !== true || position === 0) return true;
    // Here the pipeline has taken the whole first slot: the clock starts as if that slot was released now, so
    // this one is due one frame later.
    if (Number.isNaN(started)) started = performance.now();
    const frameMs = (frameSamples / rate) * 1000;
    const dueAt = started + (position / rate) * 1000 + (g * frameMs) / groups;
    const now = performance.now();
    if (now < dueAt) {
      await sleep(dueAt - now, undefined, signal !== undefined ? { signal } : {}).catch(() => undefined);
      return true;
    }
    const late = now - dueAt;
    if (late < frameMs) return true;
    if (position < warmSamples) return false;
    dropped += (bounds[g + 1] as number) - (bounds[g] as number);
    droppedSlots++;
    options.onBehind?.(dropped, late, droppedSlots);
    return false;
  };

  /** The slot of `samples` (one frame per stream), group by group; advances the position. */
  async function* slot(samples: Float32Array): AsyncGenerator<AudioFrame | ItemGroup<AudioFrame>> {
    const frameSamples = samples.length / channels;
    for (let g = 0; g < groups; g++) {
      if (signal?.aborted === true) return;
      if (await due(frameSamples, g)) yield make(samples, g);
    }
    position += frameSamples;
  }

  for await (const chunk of source.chunks) {
    let at = 0;
    if (pending !== null) {
      const need = want - pending.length;
      const joined: Float32Array = new Float32Array(pending.length + Math.min(need, chunk.length));
      joined.set(pending);
      joined.set(chunk.subarray(0, need), pending.length);
      at = Math.min(need, chunk.length);
      if (joined.length < want) {
        pending = joined;
        continue;
      }
      pending = null;
      yield* slot(joined);
    }
    while (chunk.length - at >= want) {
      if (signal?.aborted === true) return;
      const samples = chunk.subarray(at, at + want);
      at += want;
      yield* slot(samples);
    }
    if (at < chunk.length) pending = chunk.slice(at);
  }
  if (pending !== null && pending.length > 0) yield* slot(pending);
}

/** How `-i FILE` is read when the format is not given: WAV by its header, audio by its name ending, else JSONL. */
export function detectInputKind(path: string, head: Uint8Array): 'wav' | 'ffmpeg' | 'jsonl' {
  if (looksLikeWav(head)) return 'wav';
  const lower = path.toLowerCase();
  if (AUDIO_FILE_EXTENSIONS.some((e) => lower.endsWith(e)))
    return lower.endsWith('.wav') || lower.endsWith('.wave') ? 'wav' : 'ffmpeg';
  return 'jsonl';
}
