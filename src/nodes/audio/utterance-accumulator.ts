/**
 * AudioBufferAccumulatorNode: RemoteMedia's utterance accumulator (crates/core/src/nodes/
 * audio_buffer_accumulator.rs; params in streaming_registry.rs). It collects the audio between a VAD's
 * speech-start and speech-end events and emits each utterance as one audio frame.
 *
 * What it reads, in arrival order on its input (one edge from the VAD node keeps events and audio in order):
 *   - audio frames; a frame may carry its own VAD event in `metadata.vad`, applied before the frame, or only the
 *     VAD's verdict on it, `metadata.vad.is_speech` (boolean): then speech starts at the first speech frame and
 *     ends before the frame that completes `min_silence_duration_ms` of non-speech frames (pitlane's hangover,
 *     default 100 ms as RemoteMedia's SileroVADNode); once a stream has had VAD events, verdicts are ignored;
 *   - VAD events as JSON items: RemoteMedia's SileroVADNode output `{"is_speech_start": bool,
 *     "is_speech_end": bool, ...}` (it emits this before the frame it analysed), or pitlane's form
 *     `{"type": "vad", "event": "speech_start" | "speech_end", ...}`. `stream_id` in the event names its stream;
 *     an event without one belongs to the stream of the last audio frame (RemoteMedia's events carry no stream).
 *     Other JSON and other items are dropped, as RemoteMedia drops them.
 * Speech start opens an utterance with the pre-roll (the audio just before, up to `pre_roll_ms`) so the first
 * phoneme is not cut; frames are added while speech lasts; speech end closes it (the frame after the event is
 * not part of it). An utterance reaching `max_utterance_duration_ms` is emitted and a new one continues at once.
 * An utterance shorter than `min_utterance_duration_ms`, or whose peak is below `min_peak_amplitude` (RemoteMedia's
 * energy gate against VAD firing on hiss), is dropped.
 *
 * Output: one frame per utterance, timestampUs = its first sample's time (the frames' timestamps, or the stream
 * position when they have none), `metadata.utterance = {start, end}` in seconds, other metadata of its first
 * frame kept (its `vad` removed).
 *
 * Choices of ours: the pre-roll is measured in stream time (RemoteMedia keeps the last 20 chunks no older than
 * 500 ms of wall-clock time, which for a file read faster than real time means 20 chunks); a speech start during
 * an utterance is ignored (RemoteMedia restarts and loses what it held); at end of stream an open utterance is
 * emitted (RemoteMedia has no flush); state is per stream id (RemoteMedia's per session).
 */
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, isAudioFrame } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { describeFormat, PerStream, wrongFormat } from './audio-items.js';
import { outputsOf } from './fixed-chunks.js';
import { spelled, spellingConflicts } from './param-spellings.js';

const Ms = (description: string) => Type.Integer({ minimum: 0, maximum: 3_600_000, description });

const Params = Type.Object(
  {
    min_utterance_duration_ms: Type.Optional(Ms('Shorter utterances are dropped (default 250).')),
    minUtteranceDurationMs: Type.Optional(Ms('Spelling of min_utterance_duration_ms.')),
    max_utterance_duration_ms: Type.Optional(
      Ms('An utterance this long is emitted and a new one continues (default 30000).'),
    ),
    maxUtteranceDurationMs: Type.Optional(Ms('Spelling of max_utterance_duration_ms.')),
    pre_roll_ms: Type.Optional(
      Ms('Audio before speech start added to the utterance (default 500; pitlane).'),
    ),
    min_silence_duration_ms: Type.Optional(
      Ms(
        'With per-frame metadata.vad.is_speech only: non-speech that ends an utterance (default 100; pitlane).',
      ),
    ),
    min_peak_amplitude: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          'Utterances whose peak |sample| is below this are dropped as silence (default 0.02; pitlane).',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const MIN_SPELLINGS = ['min_utterance_duration_ms', 'minUtteranceDurationMs'] as const;
const MAX_SPELLINGS = ['max_utterance_duration_ms', 'maxUtteranceDurationMs'] as const;

/** A VAD transition. */
export type VadTransition = 'start' | 'end';

/** The transition a VAD event announces, in RemoteMedia's form or pitlane's (see the module comment). */
/** Whether a value is a VAD event in either form, with or without a transition (RemoteMedia sends one per frame). */
export function isVadEvent(event: unknown): boolean {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  return (
    'is_speech_start' in event || 'is_speech_end' in event || (event as { type?: unknown }).type === 'vad'
  );
}

export function vadTransition(event: unknown): VadTransition | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined;
  const e = event as Record<string, unknown>;
  if (e.is_speech_start === true) return 'start';
  if (e.is_speech_end === true) return 'end';
  if (e.event === 'speech_start') return 'start';
  if (e.event === 'speech_end') return 'end';
  return undefined;
}

interface Positioned {
  readonly frame: AudioFrame;
  /** Time of the frame's first sample, µs. */
  readonly startUs: number;
}

interface UtteranceStream {
  speaking: boolean;
  /** Frames of the open utterance. */
  held: Positioned[];
  heldFrames: number;
  /** Recent frames while not speaking: the pre-roll. */
  pending: Positioned[];
  pendingFrames: number;
  /** Position after the last frame, µs: the time of a next frame without a timestamp. */
  nextUs: number;
  /** Frames of non-speech since the last speech frame (per-frame verdicts only). */
  silentFrames: number;
  /** The stream has had VAD events: per-frame verdicts are then ignored (events are the VAD's own decision). */
  eventsSeen: boolean;
}

interface Limits {
  readonly minMs: number;
  readonly maxMs: number;
  readonly preRollMs: number;
  readonly minPeak: number;
  readonly minSilenceMs: number;
}

export const AudioBufferAccumulatorNode = defineNodeType<Params>({
  name: 'AudioBufferAccumulatorNode',
  aliases: ['AudioBufferAccumulator'],
  role: 'transform',
  description:
    'Accumulates audio between VAD speech-start and speech-end events (JSON items or metadata.vad) and emits one frame per utterance with metadata.utterance {start, end} in seconds.',
  params: Params,
  check: (p) => {
    const problems = spellingConflicts(p, [MIN_SPELLINGS, MAX_SPELLINGS]);
    const min = spelled(p, MIN_SPELLINGS) ?? 250;
    const max = spelled(p, MAX_SPELLINGS) ?? 30_000;
    if (max <= 0 || max < min) {
      problems.push({
        path: `.${p.maxUtteranceDurationMs === undefined ? MAX_SPELLINGS[0] : MAX_SPELLINGS[1]}`,
        message: `must be above 0 and at least the minimum utterance duration (${String(min)} ms); got ${String(max)}`,
      });
    }
    return problems;
  },
  create: ({ params }): PipelineNode => {
    const acc = new UtteranceAccumulator({
      minMs: spelled(params, MIN_SPELLINGS) ?? 250,
      maxMs: spelled(params, MAX_SPELLINGS) ?? 30_000,
      preRollMs: params.pre_roll_ms ?? 500,
      minPeak: params.min_peak_amplitude ?? 0.02,
      minSilenceMs: params.min_silence_duration_ms ?? 100,
    });
    return {
      process: (item) => acc.process(item),
      flush: () => outputsOf(acc.flush()),
    };
  },
});

const NODE = 'AudioBufferAccumulatorNode';

/** The accumulator's state machine, per stream (see the module comment). */
export class UtteranceAccumulator {
  private readonly streams = new PerStream<UtteranceStream>();
  /** Stream of the last audio frame: where an event without `stream_id` belongs. */
  private lastStreamId: string | undefined;

  constructor(private readonly limits: Limits) {}

  process(item: unknown): AudioFrame | undefined {
    if (isAudioFrame(item)) {
      this.lastStreamId = item.streamId;
      const st = this.stream(item.streamId);
      const vad = item.metadata?.vad;
      if (isVadEvent(vad)) st.eventsSeen = true;
      const t = vad === undefined ? undefined : (vadTransition(vad) ?? this.fromVerdict(st, vad, item));
      const before = this.transition(st, t);
      const after = this.addFrame(st, item);
      return before ?? after;
    }
    if (!isVadEvent(item)) return undefined;
    const id = (item as { stream_id?: unknown }).stream_id;
    const st = this.stream(typeof id === 'string' ? id : this.lastStreamId);
    st.eventsSeen = true;
    return this.transition(st, vadTransition(item));
  }

  /** Open utterances, emitted at end of stream. */
  flush(): AudioFrame[] {
    const out: AudioFrame[] = [];
    for (const st of this.streams.values()) {
      if (!st.speaking) continue;
      const u = this.close(st);
      if (u !== undefined) out.push(u);
    }
    this.streams.clear();
    return out;
  }

  /** The transition a per-frame verdict `{is_speech}` implies, with the min_silence_duration_ms hangover. */
  private fromVerdict(st: UtteranceStream, vad: unknown, frame: AudioFrame): VadTransition | undefined {
    const isSpeech = (vad as { is_speech?: unknown }).is_speech;
    if (typeof isSpeech !== 'boolean' || st.eventsSeen) return undefined;
    if (isSpeech) {
      st.silentFrames = 0;
      return st.speaking ? undefined : 'start';
    }
    if (!st.speaking) return undefined;
    st.silentFrames += frame.frames;
    if ((st.silentFrames / frame.sampleRate) * 1000 < this.limits.minSilenceMs) return undefined;
    st.silentFrames = 0;
    return 'end';
  }

  private stream(id: string | undefined): UtteranceStream {
    return this.streams.getOrCreate(id, () => ({
      speaking: false,
      held: [],
      heldFrames: 0,
      pending: [],
      pendingFrames: 0,
      nextUs: 0,
      silentFrames: 0,
      eventsSeen: false,
    }));
  }

  private transition(st: UtteranceStream, t: VadTransition | undefined): AudioFrame | undefined {
    if (t === 'start') {
      if (st.speaking) return undefined;
      st.speaking = true;
      st.held = st.pending;
      st.heldFrames = st.pendingFrames;
      st.pending = [];
      st.pendingFrames = 0;
      return undefined;
    }
    if (t === 'end') {
      st.pending = [];
      st.pendingFrames = 0;
      return st.speaking ? this.close(st) : undefined;
    }
    return undefined;
  }

  private addFrame(st: UtteranceStream, frame: AudioFrame): AudioFrame | undefined {
    const startUs = frame.timestampUs ?? st.nextUs;
    st.nextUs = startUs + frame.durationSeconds * 1e6;
    const p = { frame, startUs };
    if (!st.speaking) {
      const first = st.pending[0]?.frame;
      if (
        first !== undefined &&
        (first.sampleRate !== frame.sampleRate || first.channels !== frame.channels)
      ) {
        st.pending = [];
        st.pendingFrames = 0;
      }
      st.pending.push(p);
      st.pendingFrames += frame.frames;
      // Keep at most pre_roll_ms of audio (whole frames, newest first).
      const keep = (this.limits.preRollMs / 1000) * frame.sampleRate;
      while (st.pending.length > 0 && st.pendingFrames - (st.pending[0]?.frame.frames ?? 0) >= keep) {
        st.pendingFrames -= st.pending.shift()?.frame.frames ?? 0;
      }
      if (keep === 0) {
        st.pending = [];
        st.pendingFrames = 0;
      }
      return undefined;
    }
    const first = st.held[0]?.frame;
    if (first !== undefined && (first.sampleRate !== frame.sampleRate || first.channels !== frame.channels)) {
      throw wrongFormat(
        NODE,
        `every frame of an utterance in one format (this one began as ${describeFormat(first.sampleRate, first.channels)})`,
        frame,
      );
    }
    st.held.push(p);
    st.heldFrames += frame.frames;
    if ((st.heldFrames / frame.sampleRate) * 1000 >= this.limits.maxMs) {
      const u = this.close(st);
      st.speaking = true;
      return u;
    }
    return undefined;
  }

  /** Ends the open utterance: the frame for it, or undefined when it is too short or silent. */
  private close(st: UtteranceStream): AudioFrame | undefined {
    const held = st.held;
    st.held = [];
    st.heldFrames = 0;
    st.speaking = false;
    const first = held[0];
    const last = held[held.length - 1];
    if (first === undefined || last === undefined) return undefined;
    const { sampleRate, channels } = first.frame;
    let total = 0;
    for (const h of held) total += h.frame.samples.length;
    const durationMs = (total / channels / sampleRate) * 1000;
    if (durationMs < this.limits.minMs) return undefined;
    const samples = new Float32Array(total);
    let at = 0;
    let peak = 0;
    for (const h of held) {
      const s = h.frame.samples;
      samples.set(s, at);
      at += s.length;
      for (let i = 0; i < s.length; i++) {
        const a = Math.abs(s[i] ?? 0);
        if (a > peak) peak = a;
      }
    }
    if (peak < this.limits.minPeak) return undefined;
    const endUs = first.startUs + (total / channels / sampleRate) * 1e6;
    const rest = { ...(first.frame.metadata ?? {}) };
    delete rest.vad;
    return last.frame.derive(samples, {
      timestampUs: first.startUs,
      metadata: { ...rest, utterance: { start: first.startUs / 1e6, end: endUs / 1e6 } },
    });
  }
}
