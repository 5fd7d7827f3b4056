/**
 * ChannelBalanceNode: RemoteMedia's stereo balance check (crates/core/src/nodes/channel_balance.rs). For each
 * audio frame it emits one `channel_balance_event` in place of the audio; other items pass through unchanged.
 * On stereo frames: the RMS of each channel in dBFS, their ratio and difference, a dead channel (one at or
 * below `dead_channel_threshold_db` while the other is not), imbalance (a dead channel or a difference of
 * `imbalance_threshold_db` or more), health. Frames that are not stereo get RemoteMedia's fixed "balanced" event
 * (levels 0, ratio 1, health 1). Stateless; one pass, without splitting the channels into new arrays.
 *
 * `balance_ratio` is null when only the right channel is silent: RemoteMedia computes infinity, which its JSON
 * writes as null. Unlike RemoteMedia, a param left out takes its own default (RemoteMedia falls back to every
 * default when any param is missing).
 */
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, fromFrame } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { amplitudeDb, numberParam } from './signal.js';

/** The JSON event of one frame; keys in RemoteMedia's (alphabetical) order. */
export interface ChannelBalanceEvent {
  readonly _schema: 'channel_balance_event';
  /** Left RMS / right RMS; 1 when both are silent; null (infinite) when only the right one is. */
  readonly balance_ratio: number | null;
  /** `left`, `right` or `none`. */
  readonly dead_channel: 'left' | 'right' | 'none';
  /** Exactly one channel is at or below `dead_channel_threshold_db`. */
  readonly has_dead_channel: boolean;
  /** 0 with a dead channel, else 1 - |imbalance_db| / imbalance_threshold_db, clamped to [0, 1]. */
  readonly health: number;
  /** left_rms_db - right_rms_db. */
  readonly imbalance_db: number;
  /** A dead channel, or |imbalance_db| at or above `imbalance_threshold_db`. */
  readonly is_imbalanced: boolean;
  /** Left channel RMS in dBFS (-120 for all zeros; 0 on frames that are not stereo). */
  readonly left_rms_db: number;
  /** Right channel RMS in dBFS (-120 for all zeros; 0 on frames that are not stereo). */
  readonly right_rms_db: number;
  /** The frame's stream id, null for the default stream. */
  readonly stream_id: string | null;
  /** The frame's timestamp in µs, null when it has none. */
  readonly timestamp_us: number | null;
}

const DEFAULTS = { imbalance_threshold_db: 10, dead_channel_threshold_db: -60 };

const Params = Type.Object(
  {
    imbalance_threshold_db: numberParam(
      DEFAULTS.imbalance_threshold_db,
      'Level difference (dB) between the channels from which they are imbalanced.',
      { exclusiveMinimum: 0 },
    ),
    dead_channel_threshold_db: numberParam(
      DEFAULTS.dead_channel_threshold_db,
      'RMS level (dBFS) at or below which a channel is dead.',
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** The balance event of one frame (exported for the benchmark and tests). */
export function channelBalanceEvent(
  frame: AudioFrame,
  imbalanceDb: number,
  deadDb: number,
): ChannelBalanceEvent {
  const streamId = frame.streamId ?? null;
  const timestampUs = frame.timestampUs ?? null;
  if (frame.channels !== 2) {
    return {
      _schema: 'channel_balance_event',
      balance_ratio: 1,
      dead_channel: 'none',
      has_dead_channel: false,
      health: 1,
      imbalance_db: 0,
      is_imbalanced: false,
      left_rms_db: 0,
      right_rms_db: 0,
      stream_id: streamId,
      timestamp_us: timestampUs,
    };
  }
  const s = frame.samples;
  let left = 0;
  let right = 0;
  for (let i = 0; i + 1 < s.length; i += 2) {
    const l = s[i] as number;
    const r = s[i + 1] as number;
    left += l * l;
    right += r * r;
  }
  const n = s.length / 2;
  const leftRms = n > 0 ? Math.sqrt(left / n) : 0;
  const rightRms = n > 0 ? Math.sqrt(right / n) : 0;
  const leftDb = amplitudeDb(leftRms);
  const rightDb = amplitudeDb(rightRms);
  const leftDead = leftDb <= deadDb;
  const rightDead = rightDb <= deadDb;
  const hasDead = leftDead !== rightDead;
  const diffDb = leftDb - rightDb;
  return {
    _schema: 'channel_balance_event',
    balance_ratio: rightRms > 0 ? leftRms / rightRms : leftRms > 0 ? null : 1,
    dead_channel: hasDead ? (leftDead ? 'left' : 'right') : 'none',
    has_dead_channel: hasDead,
    health: hasDead ? 0 : Math.max(0, 1 - Math.min(1, Math.abs(diffDb) / imbalanceDb)),
    imbalance_db: diffDb,
    is_imbalanced: hasDead || Math.abs(diffDb) >= imbalanceDb,
    left_rms_db: leftDb,
    right_rms_db: rightDb,
    stream_id: streamId,
    timestamp_us: timestampUs,
  };
}

export const ChannelBalance = defineNodeType<Params>({
  name: 'ChannelBalance',
  aliases: ['ChannelBalanceNode'],
  role: 'transform',
  description:
    'Per audio frame, a channel_balance_event: left/right RMS dBFS, imbalance, dead channel, health (RemoteMedia; mono frames read as balanced). Other items pass through.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const imbalance = params.imbalance_threshold_db ?? DEFAULTS.imbalance_threshold_db;
    const dead = params.dead_channel_threshold_db ?? DEFAULTS.dead_channel_threshold_db;
    return {
      process: (item) =>
        item instanceof AudioFrame ? fromFrame(channelBalanceEvent(item, imbalance, dead), item) : item,
    };
  },
});
