/**
 * Audio frames at the Python boundary, what both runtimes share (docs/python-nodes.md, "Audio"): the fields a
 * frame crosses with besides its samples, the frame rebuilt from what comes back (its samples a Float32Array view
 * of the received bytes when they are aligned, as the writers arrange), and the arrival time an output frame
 * inherits from the input frame it answers. The encodings themselves are the runtimes' (cpython/wire.ts,
 * pyodide/codec.ts); the Python side of the frame is src/python/worker/pitlane_audio.py.
 */
import { arrivalOf, AudioFrame, carryArrival } from '../core/audio.js';
import type { PythonCallResult } from './runtime.js';

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The fields of a frame after its samples, in wire order: sample rate, channels, stream id, timestamp (µs). */
export function audioHeader(frame: AudioFrame): [number, number, string | null, number | null] {
  return [frame.sampleRate, frame.channels, frame.streamId ?? null, frame.timestampUs ?? null];
}

/**
 * The samples in `bytes` (little-endian f32) as a Float32Array: a view when they start 4-byte aligned in their
 * buffer (the runtimes' writers align them), a copy otherwise.
 */
export function samplesOf(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error('audio samples that are not a whole number of f32 values');
  const n = bytes.byteLength / 4;
  if (IS_LITTLE_ENDIAN) {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    const copy = new Uint8Array(bytes.byteLength); // (Buffer#slice would be a view)
    copy.set(bytes);
    return new Float32Array(copy.buffer, 0, n);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * A frame from its samples and the wire fields [sample rate, channels, stream id, timestamp, metadata]; throws an
 * Error naming what is wrong (the Python side checks the same, so this is a broken peer).
 */
export function frameFromWire(samples: Float32Array, fields: readonly unknown[]): AudioFrame {
  const [sampleRate, channels, streamId, timestampUs, metadata] = fields;
  if (typeof sampleRate !== 'number' || typeof channels !== 'number') {
    throw new Error('an audio frame without a numeric sample rate and channel count');
  }
  if (streamId !== null && typeof streamId !== 'string')
    throw new Error('an audio frame whose stream id is not a string');
  if (timestampUs !== null && typeof timestampUs !== 'number') {
    throw new Error('an audio frame whose timestamp is not a number');
  }
  if (metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new Error('an audio frame whose metadata is not an object');
  }
  return new AudioFrame(samples, {
    sampleRate,
    channels,
    streamId: streamId ?? undefined,
    timestampUs: timestampUs ?? undefined,
    metadata: (metadata as Record<string, unknown> | null) ?? undefined,
  });
}

/**
 * The results with the arrival time of each input (a frame's, or the mark `fromFrame` left on an item made from
 * one) carried to its outputs, so that per-frame latency covers what Python nodes make: an audio output without
 * an arrival time (every frame made in Python) gets the input's, and its stream id when it has none (RemoteMedia's
 * `(audio_data, sample_rate)` tuple carries no stream id); any other object output (a transcript, an event) is
 * marked with it (`carryArrival`). Outputs nested in other values are left as they are.
 */
export function keepArrival(items: readonly unknown[], results: PythonCallResult[]): PythonCallResult[] {
  for (let i = 0; i < results.length; i++) {
    const input = items[i];
    const result = results[i];
    if (result === undefined || !result.ok || result.outputs.length === 0) continue;
    const arrival = arrivalOf(input);
    if (arrival === undefined) continue;
    const streamId = input instanceof AudioFrame ? input.streamId : undefined;
    results[i] = {
      ok: true,
      outputs: result.outputs.map((o) =>
        o instanceof AudioFrame
          ? o.arrivalTsUs === undefined
            ? new AudioFrame(o.samples, {
                sampleRate: o.sampleRate,
                channels: o.channels,
                streamId: o.streamId ?? streamId,
                timestampUs: o.timestampUs,
                arrivalTsUs: arrival,
                metadata: o.metadata,
              })
            : o
          : carryArrival(o, input),
      ),
    };
  }
  return results;
}
