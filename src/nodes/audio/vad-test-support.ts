/** Helpers for the VAD unit tests: synthesised signals, framing, and running a node over frames. */
import { AudioFrame } from '../../core/audio.js';
import type { PipelineNode } from '../../pipeline/node.js';
import type { VadEvent } from './vad-stream.js';

/** Concatenated segments of silence (amplitude 0) and 440 Hz tone at `amplitude`, each `seconds` long. */
export function toneAndSilence(
  sampleRate: number,
  segments: readonly { readonly seconds: number; readonly amplitude: number }[],
): Float32Array {
  const total = segments.reduce((n, s) => n + Math.round(s.seconds * sampleRate), 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const s of segments) {
    const n = Math.round(s.seconds * sampleRate);
    for (let i = 0; i < n; i++)
      out[at + i] = s.amplitude * Math.sin((2 * Math.PI * 440 * (at + i)) / sampleRate);
    at += n;
  }
  return out;
}

/** Cuts mono samples into frames of `frameSamples`, timestamped from `startUs`. */
export function framesOf(
  samples: Float32Array,
  frameSamples: number,
  opts: { sampleRate?: number; streamId?: string; startUs?: number } = {},
): AudioFrame[] {
  const sampleRate = opts.sampleRate ?? 16000;
  const out: AudioFrame[] = [];
  for (let i = 0; i < samples.length; i += frameSamples) {
    out.push(
      new AudioFrame(samples.slice(i, i + frameSamples), {
        sampleRate,
        channels: 1,
        streamId: opts.streamId,
        timestampUs: (opts.startUs ?? 0) + Math.round((i * 1e6) / sampleRate),
      }),
    );
  }
  return out;
}

/** Every output of a node over `items` (process each, then flush), iterators expanded and promises awaited. */
export async function runNode(node: PipelineNode, items: readonly unknown[]): Promise<unknown[]> {
  const out: unknown[] = [];
  const take = async (r: unknown): Promise<void> => {
    const v: unknown = await r;
    if (v === undefined) return;
    if (typeof v === 'object' && v !== null && Symbol.iterator in v && !Array.isArray(v)) {
      for (const x of v as Iterable<unknown>) out.push(x);
    } else out.push(v);
  };
  await node.initialize?.();
  for (const item of items) await take(node.process(item));
  await take(node.flush?.());
  await node.cleanup?.();
  return out;
}

/** The speech start/end events among outputs, as `kind@µs` (with the stream id when there is one). */
export function transitions(outputs: readonly unknown[]): string[] {
  return outputs
    .filter((o): o is VadEvent => (o as VadEvent | null)?.type === 'vad' && (o as VadEvent).event !== 'frame')
    .map((e) => `${e.stream_id === undefined ? '' : `${e.stream_id}:`}${e.event}@${e.timestamp_us}`);
}
