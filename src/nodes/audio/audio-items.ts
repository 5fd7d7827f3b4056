/**
 * What the audio nodes share about their items: the one wording of "this node takes audio, this came", the
 * description of a frame's format ("48000 Hz, 2 channels") used in every rate/channel mismatch message, and
 * per-stream state keyed by `frame.streamId` (undefined = the default stream), as RemoteMedia keys its nodes'
 * state by session/stream.
 */
import { ItemError } from '../../core/errors.js';
import { jsonTypeOf } from '../../core/json.js';
import { isAudioFrame, type AudioFrame } from '../../core/audio.js';

/** "48000 Hz, 2 channels": a frame's format for messages. */
export function describeFormat(sampleRate: number, channels: number): string {
  return `${String(sampleRate)} Hz, ${String(channels)} channel${channels === 1 ? '' : 's'}`;
}

/** The item error for an item that is not an audio frame, naming the node type that wanted one. */
export function notAudio(nodeType: string, item: unknown): ItemError {
  const got = item instanceof Uint8Array ? 'binary' : jsonTypeOf(item);
  return new ItemError(`${nodeType} takes audio frames, got ${got}`);
}

/** The item as an audio frame, or an item error naming the node type. */
export function needAudio(nodeType: string, item: unknown): AudioFrame {
  if (!isAudioFrame(item)) throw notAudio(nodeType, item);
  return item;
}

/**
 * The item error for a frame whose format differs from what the node (or the stream so far) needs:
 * "<nodeType> expects <expectation>, got <actual format>".
 */
export function wrongFormat(nodeType: string, expectation: string, frame: AudioFrame): ItemError {
  return new ItemError(
    `${nodeType} expects ${expectation}, got ${describeFormat(frame.sampleRate, frame.channels)}` +
      (frame.streamId === undefined ? '' : ` (stream '${frame.streamId}')`),
  );
}

/** State per stream id; undefined is the default stream. */
export class PerStream<T> {
  private readonly byId = new Map<string | undefined, T>();

  get(streamId: string | undefined): T | undefined {
    return this.byId.get(streamId);
  }

  /** The stream's state, made by `make` on first use. */
  getOrCreate(streamId: string | undefined, make: () => T): T {
    let s = this.byId.get(streamId);
    if (s === undefined) {
      s = make();
      this.byId.set(streamId, s);
    }
    return s;
  }

  set(streamId: string | undefined, state: T): void {
    this.byId.set(streamId, state);
  }

  delete(streamId: string | undefined): void {
    this.byId.delete(streamId);
  }

  /** Every stream's state, in the order the streams first appeared. */
  entries(): IterableIterator<[string | undefined, T]> {
    return this.byId.entries();
  }

  values(): IterableIterator<T> {
    return this.byId.values();
  }

  clear(): void {
    this.byId.clear();
  }
}
