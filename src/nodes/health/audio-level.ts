/**
 * AudioLevelNode: RemoteMedia's audio level meter (crates/core/src/nodes/audio_level.rs). For each audio frame it
 * emits one `audio_level_event` (RMS and peak in dBFS over all samples of the frame, every channel, silence and
 * low-volume flags, a health in [0, 1]) in place of the audio; items that are not audio pass through unchanged.
 * Stateless. One pass over the samples.
 *
 * Params differ from RemoteMedia in one way: a param left out takes its own default, whereas RemoteMedia falls
 * back to the defaults of every param when any one of them is missing.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, fromFrame } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { amplitudeDb, frameLevels, ignoredParam, numberParam } from './signal.js';

/** The JSON event of one frame; keys in RemoteMedia's (alphabetical) order. */
export interface AudioLevelEvent {
  readonly _schema: 'audio_level_event';
  /** 1 = healthy, 0 = silence; linear between the silence and low-volume thresholds. */
  readonly health: number;
  /** Not silent, and RMS at or below `low_volume_threshold_db`. */
  readonly is_low_volume: boolean;
  /** RMS at or below `silence_threshold_db`. */
  readonly is_silence: boolean;
  /** Peak absolute sample in dBFS (-120 for all zeros). */
  readonly peak_db: number;
  /** RMS over all samples in dBFS (-120 for all zeros). */
  readonly rms_db: number;
  /** The frame's stream id, null for the default stream. */
  readonly stream_id: string | null;
  /** The frame's timestamp in µs, null when it has none. */
  readonly timestamp_us: number | null;
}

const DEFAULTS = { low_volume_threshold_db: -20, silence_threshold_db: -60 };

const Params = Type.Object(
  {
    low_volume_threshold_db: numberParam(
      DEFAULTS.low_volume_threshold_db,
      'RMS level (dBFS) at or below which the audio is low volume.',
    ),
    silence_threshold_db: numberParam(
      DEFAULTS.silence_threshold_db,
      'RMS level (dBFS) at or below which the audio is silence.',
    ),
    window_size_ms: ignoredParam('Analysis window (levels are per frame).'),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** The level event of one frame (exported for the benchmark and tests). */
export function audioLevelEvent(frame: AudioFrame, lowVolumeDb: number, silenceDb: number): AudioLevelEvent {
  const n = frame.samples.length;
  const { sumSquares, peak } = frameLevels(frame);
  const rmsDb = amplitudeDb(n > 0 ? Math.sqrt(sumSquares / n) : 0);
  const isSilence = rmsDb <= silenceDb;
  const health = isSilence
    ? 0
    : rmsDb >= lowVolumeDb
      ? 1
      : Math.min(1, Math.max(0, (rmsDb - silenceDb) / (lowVolumeDb - silenceDb)));
  return {
    _schema: 'audio_level_event',
    health,
    is_low_volume: !isSilence && rmsDb <= lowVolumeDb,
    is_silence: isSilence,
    peak_db: amplitudeDb(peak),
    rms_db: rmsDb,
    stream_id: frame.streamId ?? null,
    timestamp_us: frame.timestampUs ?? null,
  };
}

export const AudioLevel = defineNodeType<Params>({
  name: 'AudioLevel',
  aliases: ['AudioLevelNode'],
  role: 'transform',
  description:
    'Per audio frame, an audio_level_event: RMS and peak dBFS, is_silence, is_low_volume, health (RemoteMedia). Other items pass through.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const low = params.low_volume_threshold_db ?? DEFAULTS.low_volume_threshold_db;
    const silence = params.silence_threshold_db ?? DEFAULTS.silence_threshold_db;
    return {
      process: (item) =>
        item instanceof AudioFrame ? fromFrame(audioLevelEvent(item, low, silence), item) : item,
    };
  },
});
