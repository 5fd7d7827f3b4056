/**
 * SilenceDetectorNode: RemoteMedia's silence and dropout detector (crates/core/src/nodes/silence_detector.rs).
 * For each audio frame it emits one `silence_event` in place of the audio; other items pass through unchanged.
 * A frame is silent when its RMS (all samples, dBFS) is at or below `silence_threshold_db`. Per stream it keeps
 * how long the audio has been silent (sustained silence at `sustained_silence_ms`) and the silent/sound
 * transitions of the last `dropout_window_ms` of stream time (timestamps); the silent ones counted in that
 * window are the dropouts, and `dropout_count_threshold` of them is intermittent dropouts. One pass over the
 * samples; a transition list per stream that holds only the window.
 *
 * Differences from RemoteMedia, on purpose: state is per stream (`frame.streamId`), where RemoteMedia keeps one
 * state per node; silence duration counts frames (samples per channel), where RemoteMedia counts interleaved
 * samples and so doubles the duration of stereo silence; the sample rate is each frame's own, where RemoteMedia
 * keeps the first frame's; a param left out takes its own default, where RemoteMedia falls back to every
 * default when any param is missing.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, fromFrame } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { amplitudeDb, frameLevels, numberParam, PerStream } from './signal.js';

/** The JSON event of one frame; keys in RemoteMedia's (alphabetical) order. */
export interface SilenceEvent {
  readonly _schema: 'silence_event';
  /** Transitions into silence within the dropout window, as of the last transition (RemoteMedia prunes then). */
  readonly dropout_count: number;
  /** `dropout_count` reached `dropout_count_threshold`. */
  readonly has_intermittent_dropouts: boolean;
  /** 1 while there is sound; falls linearly to 0 as silence lasts up to `sustained_silence_ms`. */
  readonly health: number;
  /** Silence has lasted at least `sustained_silence_ms`. */
  readonly is_sustained_silence: boolean;
  /** This frame is silent. */
  readonly is_silent: boolean;
  /** RMS of this frame in dBFS (-120 for all zeros). */
  readonly rms_db: number;
  /** How long the current silence has lasted, this frame included (0 when there is sound). */
  readonly silence_duration_ms: number;
  /** The frame's stream id, null for the default stream. */
  readonly stream_id: string | null;
  /** The frame's timestamp in µs, null when it has none. */
  readonly timestamp_us: number | null;
}

const DEFAULTS = {
  silence_threshold_db: -50,
  sustained_silence_ms: 500,
  dropout_count_threshold: 3,
  dropout_window_ms: 5000,
};

const Params = Type.Object(
  {
    silence_threshold_db: numberParam(
      DEFAULTS.silence_threshold_db,
      'RMS level (dBFS) at or below which a frame is silent.',
    ),
    sustained_silence_ms: numberParam(
      DEFAULTS.sustained_silence_ms,
      'Silence lasting this long (ms) is sustained silence (health 0).',
      { exclusiveMinimum: 0 },
    ),
    dropout_count_threshold: numberParam(
      DEFAULTS.dropout_count_threshold,
      'Silent transitions within the window that make intermittent dropouts.',
      { minimum: 0 },
    ),
    dropout_window_ms: numberParam(
      DEFAULTS.dropout_window_ms,
      'Window (ms of stream time, from frame timestamps) over which dropouts are counted.',
      { minimum: 0 },
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** One stream's silence state. */
class SilenceState {
  /** Frames of the current silence. */
  silentFrames = 0;
  wasSilent = false;
  /** Transitions in the window: their timestamps (µs) and whether each went silent, oldest first. */
  readonly transitionTs: number[] = [];
  readonly transitionSilent: boolean[] = [];
  /** Transitions into silence among them (counted when the list changes). */
  dropouts = 0;
}

/** Per-stream silence detection with RemoteMedia's params (exported for the benchmark and tests). */
export class SilenceTracker {
  private readonly streams = new PerStream(() => new SilenceState());
  private readonly silenceDb: number;
  private readonly sustainedMs: number;
  private readonly dropoutThreshold: number;
  private readonly windowUs: number;

  constructor(params: Params) {
    this.silenceDb = params.silence_threshold_db ?? DEFAULTS.silence_threshold_db;
    this.sustainedMs = params.sustained_silence_ms ?? DEFAULTS.sustained_silence_ms;
    this.dropoutThreshold = params.dropout_count_threshold ?? DEFAULTS.dropout_count_threshold;
    this.windowUs = (params.dropout_window_ms ?? DEFAULTS.dropout_window_ms) * 1000;
  }

  event(frame: AudioFrame): SilenceEvent {
    const st = this.streams.get(frame.streamId);
    const n = frame.samples.length;
    const { sumSquares } = frameLevels(frame);
    const rmsDb = amplitudeDb(n > 0 ? Math.sqrt(sumSquares / n) : 0);
    const isSilent = rmsDb <= this.silenceDb;
    st.silentFrames = isSilent ? st.silentFrames + frame.frames : 0;
    const silenceMs = (st.silentFrames * 1000) / frame.sampleRate;
    const sustained = silenceMs >= this.sustainedMs;

    // Transitions: on a change, it is recorded and those older than the window (as of this frame) are let go.
    // As in RemoteMedia, the window is pruned only at a transition, so the count holds between transitions.
    const now = frame.timestampUs ?? 0;
    if (isSilent !== st.wasSilent) {
      st.transitionTs.push(now);
      st.transitionSilent.push(isSilent);
      let kept = 0;
      let dropouts = 0;
      for (let i = 0; i < st.transitionTs.length; i++) {
        const ts = st.transitionTs[i] as number;
        const silent = st.transitionSilent[i] as boolean;
        if (Math.max(0, now - ts) < this.windowUs) {
          st.transitionTs[kept] = ts;
          st.transitionSilent[kept] = silent;
          kept++;
          if (silent) dropouts++;
        }
      }
      st.transitionTs.length = kept;
      st.transitionSilent.length = kept;
      st.dropouts = dropouts;
    }
    st.wasSilent = isSilent;
    const dropouts = st.dropouts;

    return {
      _schema: 'silence_event',
      dropout_count: dropouts,
      has_intermittent_dropouts: dropouts >= this.dropoutThreshold,
      health: !isSilent ? 1 : sustained ? 0 : 1 - silenceMs / this.sustainedMs,
      is_silent: isSilent,
      is_sustained_silence: sustained,
      rms_db: rmsDb,
      silence_duration_ms: silenceMs,
      stream_id: frame.streamId ?? null,
      timestamp_us: frame.timestampUs ?? null,
    };
  }
}

export const SilenceDetector = defineNodeType<Params>({
  name: 'SilenceDetector',
  aliases: ['SilenceDetectorNode'],
  role: 'transform',
  description:
    'Per audio frame, a silence_event: is_silent, silence_duration_ms, sustained silence, dropouts in a window, health (RemoteMedia). Other items pass through.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const tracker = new SilenceTracker(params);
    return {
      process: (item) => (item instanceof AudioFrame ? fromFrame(tracker.event(item), item) : item),
    };
  },
});
