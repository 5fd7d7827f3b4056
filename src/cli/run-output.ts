/**
 * Where `pitlane run` writes its outputs, by the name given to `-o`: `out.wav` takes the pipeline's audio frames
 * (one WAV file, 16-bit PCM, or 32-bit float with `--wav-format f32`), and its other outputs (events, text) go to
 * stdout as JSONL; `out.srt` takes its transcript items (`{text, start, end}` in seconds) as SubRip cues, numbered
 * in order (media/srt.ts, the formatting the SrtOutput node uses), and its other outputs go to stdout; any other name (or `-`) takes every output as JSONL, audio frames as their metadata (and their
 * samples in base64 with `--audio-samples`). Files are written under a `.partial` name and published only when
 * complete (cli/output-file.ts). Every audio frame that leaves is also timed (frame in → its output out).
 */
import { AudioFrame, audioFrameJson } from '../core/audio.js';
import { UsageError } from '../core/errors.js';
import { FrameLatency } from '../media/frame-latency.js';
import { formatSrtCue } from '../media/srt.js';
import { WAV_HEADER_BYTES, wavHeader, wavSampleBytes, type WavSampleFormat } from '../media/wav.js';
import type { Blocker } from '../pipeline/edge-queue.js';
import { JsonlWriter, type TextSink } from '../pipeline/jsonl.js';
import { OutputFile } from './output-file.js';

/** Output options of `pitlane run`. */
export interface RunOutputOptions {
  /** Write audio frames' samples into JSONL (base64 of little-endian f32). */
  audioSamples?: boolean;
  /** Sample encoding of a WAV output. */
  wavFormat?: WavSampleFormat;
}

/** The outputs of one run (see the module comment). */
export class RunOutputs {
  readonly latency = new FrameLatency();
  private readonly files: OutputFile[] = [];
  private readonly jsonl: JsonlWriter;
  private readonly wav: WavOutput | null = null;
  private readonly srt: OutputFile | null = null;
  private cues = 0;

  /** `name` is the `-o` value, or where a shard of a threaded run sends its JSONL text. */
  constructor(name: string | TextSink, opts: RunOutputOptions, onFailure: (error: unknown) => void) {
    const lower = typeof name === 'string' ? name.toLowerCase() : '';
    if (typeof name !== 'string') {
      this.jsonl = new JsonlWriter(name, onFailure);
    } else if (lower.endsWith('.wav') || lower.endsWith('.srt')) {
      const file = OutputFile.open(name);
      this.files.push(file);
      if (lower.endsWith('.wav')) this.wav = new WavOutput(file, opts.wavFormat ?? 's16');
      else this.srt = file;
      const stdout = OutputFile.open('-');
      this.files.push(stdout);
      this.jsonl = new JsonlWriter(stdout, onFailure);
    } else {
      const file = OutputFile.open(name);
      this.files.push(file);
      this.jsonl = new JsonlWriter(file, onFailure);
    }
    const samples = opts.audioSamples === true;
    const wav = this.wav;
    const srt = this.srt;
    this.write = (value: unknown): Blocker | null => {
      this.count++;
      this.latency.observe(value);
      if (srt !== null && isTranscript(value)) {
        srt.write(formatSrtCue(++this.cues, value.start, value.end, value.text));
        return null;
      }
      if (value instanceof AudioFrame) {
        if (wav !== null) {
          wav.write(value);
          return null;
        }
        if (samples) return this.jsonl.write(audioFrameJson(value, true));
      }
      return this.jsonl.write(value);
    };
  }

  /** Takes one output of the pipeline. Throws (as the emitting node's item error) when it cannot be written. */
  readonly write: (value: unknown) => Blocker | null;

  /** Outputs taken (JSONL lines and audio frames). */
  count = 0;

  /** Finishes every output and publishes the files. Throws the first failure. */
  end(): void {
    this.jsonl.end();
    this.wav?.end();
    for (const f of this.files) f.close();
  }

  /** Closes the files after a failure, leaving what was written under their partial names. */
  abandon(): void {
    for (const f of this.files) f.abandon();
  }
}

/** An item SRT can hold: text with a start and an end in seconds. */
function isTranscript(value: unknown): value is { text: string; start: number; end: number } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { text?: unknown; start?: unknown; end?: unknown };
  return typeof v.text === 'string' && typeof v.start === 'number' && typeof v.end === 'number';
}

/** A WAV file written frame by frame; the header's sizes are written when it ends. */
class WavOutput {
  private dataBytes = 0;
  private format: { sampleRate: number; channels: number } | null = null;

  constructor(
    private readonly file: OutputFile,
    private readonly sampleFormat: WavSampleFormat,
  ) {
    if (!file.seekable)
      throw new UsageError(
        `-o ${file.name}: a WAV output must be a regular file (its header is written last)`,
      );
    file.write(Buffer.alloc(WAV_HEADER_BYTES));
  }

  write(frame: AudioFrame): void {
    if (this.format === null) this.format = { sampleRate: frame.sampleRate, channels: frame.channels };
    else if (this.format.sampleRate !== frame.sampleRate || this.format.channels !== frame.channels) {
      throw new Error(
        `${this.file.name}: a WAV file has one format; this frame is ${frame.sampleRate} Hz × ${frame.channels} ` +
          `channel(s), the file is ${this.format.sampleRate} Hz × ${this.format.channels} (resample before the output)`,
      );
    }
    const bytes = wavSampleBytes(frame.samples, this.sampleFormat);
    this.file.write(bytes);
    this.dataBytes += bytes.length;
  }

  end(): void {
    const format = this.format ?? { sampleRate: 16_000, channels: 1 };
    this.file.writeAt(wavHeader(format, this.sampleFormat, this.dataBytes), 0);
  }
}
