/**
 * ClippingDetectorNode: RemoteMedia's clipping detector (crates/core/src/nodes/clipping_detector.rs). For each
 * audio frame it emits one `clipping_event` in place of the audio; other items pass through unchanged. Over all
 * samples of the frame: the saturation ratio (percent of samples whose magnitude reaches
 * `saturation_threshold`) and the crest factor (peak / RMS in dB; 20 dB for silence). The frame clips when the
 * ratio reaches `saturation_ratio_threshold` (a percentage) or the crest factor is at or below
 * `crest_factor_threshold_db` (a clean sine's crest factor is 3.01 dB, a square wave's 0). Stateless; one pass.
 *
 * As in RemoteMedia, a sine sampled so that no sample lands on its peak reads a crest factor a little under
 * 3.01 dB and so counts as clipping with the default 3 dB threshold. Unlike RemoteMedia, a param left out takes
 * its own default (RemoteMedia falls back to every default when any param is missing).
 */
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, fromFrame } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { countAtOrAbove, frameLevels, ignoredParam, numberParam } from './signal.js';

/** The JSON event of one frame; keys in RemoteMedia's (alphabetical) order. */
export interface ClippingEvent {
  readonly _schema: 'clipping_event';
  /** 20·log10(peak / RMS); 20 when the frame is silent. */
  readonly crest_factor_db: number;
  /** 1 - saturation_ratio / saturation_ratio_threshold, clamped to [0, 1]. */
  readonly health: number;
  /** The ratio or the crest factor crossed its threshold. */
  readonly is_clipping: boolean;
  /** Percent (0-100) of samples at or above `saturation_threshold` in magnitude. */
  readonly saturation_ratio: number;
  /** The frame's stream id, null for the default stream. */
  readonly stream_id: string | null;
  /** The frame's timestamp in µs, null when it has none. */
  readonly timestamp_us: number | null;
}

const DEFAULTS = {
  saturation_threshold: 0.99,
  saturation_ratio_threshold: 1,
  crest_factor_threshold_db: 3,
};

/** RemoteMedia's crest factor of a silent frame. */
const SILENT_CREST_DB = 20;

const Params = Type.Object(
  {
    saturation_threshold: numberParam(
      DEFAULTS.saturation_threshold,
      'Sample magnitude (0-1) counted as saturated.',
    ),
    saturation_ratio_threshold: numberParam(
      DEFAULTS.saturation_ratio_threshold,
      'Percent of saturated samples (0-100) from which the frame clips.',
      { exclusiveMinimum: 0 },
    ),
    crest_factor_threshold_db: numberParam(
      DEFAULTS.crest_factor_threshold_db,
      'Crest factor (dB) at or below which the frame clips.',
    ),
    clipping_threshold: ignoredParam('A name some RemoteMedia manifests use for saturation_threshold.'),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** The clipping event of one frame (exported for the benchmark and tests). */
export function clippingEvent(
  frame: AudioFrame,
  saturation: number,
  ratioThreshold: number,
  crestThresholdDb: number,
): ClippingEvent {
  const n = frame.samples.length;
  const { sumSquares, peak } = frameLevels(frame);
  const saturated = countAtOrAbove(frame.samples, saturation, peak);
  const ratio = n > 0 ? (saturated / n) * 100 : 0;
  const rms = n > 0 ? Math.sqrt(sumSquares / n) : 0;
  const crestDb = n === 0 ? 0 : rms > 0 ? 20 * Math.log10(peak / rms) : SILENT_CREST_DB;
  return {
    _schema: 'clipping_event',
    crest_factor_db: crestDb,
    health: Math.max(0, 1 - Math.min(1, ratio / ratioThreshold)),
    is_clipping: ratio >= ratioThreshold || crestDb <= crestThresholdDb,
    saturation_ratio: ratio,
    stream_id: frame.streamId ?? null,
    timestamp_us: frame.timestampUs ?? null,
  };
}

export const ClippingDetector = defineNodeType<Params>({
  name: 'ClippingDetector',
  aliases: ['ClippingDetectorNode'],
  role: 'transform',
  description:
    'Per audio frame, a clipping_event: saturation_ratio (%), crest_factor_db, is_clipping, health (RemoteMedia). Other items pass through.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const saturation = params.saturation_threshold ?? DEFAULTS.saturation_threshold;
    const ratio = params.saturation_ratio_threshold ?? DEFAULTS.saturation_ratio_threshold;
    const crest = params.crest_factor_threshold_db ?? DEFAULTS.crest_factor_threshold_db;
    return {
      process: (item) =>
        item instanceof AudioFrame ? fromFrame(clippingEvent(item, saturation, ratio, crest), item) : item,
    };
  },
});
