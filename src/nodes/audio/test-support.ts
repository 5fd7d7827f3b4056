/**
 * Helpers for the audio nodes' unit tests: make a node instance from its type without a pipeline, drive items
 * through it with the node SDK's output convention, and synthesise frames.
 */
import { AudioFrame } from '../../core/audio.js';
import type { NodeTypeDefinition, PipelineNode } from '../../pipeline/node.js';

/** An instance of a node type with these params (not validated: tests pass valid ones). */
export function nodeOf(def: NodeTypeDefinition, params: Record<string, unknown> = {}): PipelineNode {
  return def.create({
    id: 'n',
    params,
    baseDir: process.cwd(),
    signal: new AbortController().signal,
    runtimeHint: undefined,
    options: {},
  }) as PipelineNode;
}

/** The outputs one `process` or `flush` result stands for. */
export async function outputsOf(r: unknown): Promise<unknown[]> {
  r = await Promise.resolve(r);
  if (r === undefined) return [];
  if (r !== null && typeof r === 'object' && typeof (r as { next?: unknown }).next === 'function') {
    return [...(r as Iterable<unknown>)];
  }
  return [r];
}

/** Every output of the items and of the final flush, in order. */
export async function drive(node: PipelineNode, items: readonly unknown[], flush = true): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const item of items) out.push(...(await outputsOf(node.process(item))));
  if (flush && node.flush) out.push(...(await outputsOf(node.flush())));
  return out;
}

/** The audio frames among outputs. */
export function framesIn(outputs: readonly unknown[]): AudioFrame[] {
  return outputs.filter((o): o is AudioFrame => o instanceof AudioFrame);
}

/** A sine of `hz` at `rate`, `seconds` long, the same on every channel, interleaved. */
export function sine(hz: number, rate: number, seconds: number, channels = 1, amplitude = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const v = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

/** The samples cut into frames of `framesPer` frames (the last may be shorter), timestamped from 0. */
export function framesOf(
  samples: Float32Array,
  rate: number,
  channels: number,
  framesPer: number,
  streamId?: string,
): AudioFrame[] {
  const out: AudioFrame[] = [];
  for (let at = 0; at < samples.length; at += framesPer * channels) {
    out.push(
      new AudioFrame(samples.slice(at, at + framesPer * channels), {
        sampleRate: rate,
        channels,
        streamId,
        timestampUs: (at / channels / rate) * 1e6,
      }),
    );
  }
  return out;
}

/** All samples of frames, concatenated. */
export function concatSamples(frames: readonly AudioFrame[]): Float32Array {
  const out = new Float32Array(frames.reduce((n, f) => n + f.samples.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f.samples, at);
    at += f.samples.length;
  }
  return out;
}
