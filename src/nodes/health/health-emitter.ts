/**
 * HealthEmitterNode: RemoteMedia's stream health aggregator (crates/core/src/nodes/health_emitter.rs). It takes
 * two kinds of input and emits JSON events only (never the audio):
 *   - audio frames: their timing feeds DriftMetrics (drift-metrics.ts: the frame's timestamp against its
 *     arrival time; without a timestamp, the frame's index times its duration; without an arrival time, the
 *     clock now). A newly raised drift alert emits a `drift` event ({lead_ms, threshold_ms}), a newly unstable
 *     cadence a `cadence` event ({cv, threshold}); then a `health` event ({score, alerts}) when the alerts
 *     (HEALTH_LOW aside), the active issues or the score (by `score_change_threshold` or more) changed since
 *     the last one, and always for the first frame.
 *   - the JSON events of the other stream-health nodes (by `_schema`): their flags become active issues
 *     (SILENCE, LOW_VOLUME, SUSTAINED_SILENCE, INTERMITTENT_DROPOUTS, CLIPPING, CHANNEL_IMBALANCE, DEAD_CHANNEL;
 *     SESSION_UNHEALTHY / SESSION_DEGRADED from `session.health` events) and their `health` values are kept per
 *     schema; a `health` event with the lowest of them as score is emitted when the issues or the score changed.
 * A health event's `alerts` are the raised drift alerts and the active issues, sorted. Several events from one
 * input are separate outputs. Text and binary items give nothing.
 *
 * Events keep RemoteMedia's fields and its key order (alphabetical), including its `ts`: the Unix time in
 * seconds followed by "000000". Differences, on purpose: state is per stream (the frame's stream id, or an
 * event's `stream_id`), where RemoteMedia keeps one per node; health and cadence events of a stream with an id
 * carry `stream_id` (drift events do in RemoteMedia too); a frame's index times its duration counts frames, not
 * interleaved samples. RemoteMedia's `freeze` and `av_skew` events need video and never occur for audio.
 * `health_emit_interval_ms` is accepted and ignored, as in RemoteMedia (events are emitted on change).
 */
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, carryArrival, monotonicUs } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import {
  CADENCE_UNSTABLE,
  DRIFT_ALERT_NAMES,
  DRIFT_SLOPE,
  DriftMetrics,
  HEALTH_LOW,
  LEAD_JUMP,
} from './drift-metrics.js';
import { ignoredParam, numberParam, PerStream } from './signal.js';

/** A `health` event. */
export interface HealthEvent {
  /** Raised drift alerts and active issues, sorted. */
  readonly alerts: readonly string[];
  /** 0-1: the drift health score (audio input) or the lowest upstream health (event input). */
  readonly score: number;
  /** Present when the stream has an id (pitlane's addition). */
  readonly stream_id?: string;
  /** Unix seconds followed by "000000" (RemoteMedia's format). */
  readonly ts: string;
  readonly type: 'health';
}

/** A `drift` event: a drift slope or lead jump alert was raised. */
export interface DriftEvent {
  /** The latest lead in ms (arrival ahead of media time since the baseline), truncated. */
  readonly lead_ms: number;
  readonly stream_id?: string;
  readonly threshold_ms: number;
  readonly ts: string;
  readonly type: 'drift';
}

/** A `cadence` event: the cadence-unstable alert was raised. */
export interface CadenceEvent {
  /** Coefficient of variation of the media intervals. */
  readonly cv: number;
  readonly stream_id?: string;
  readonly threshold: number;
  readonly ts: string;
  readonly type: 'cadence';
}

const DEFAULTS = {
  lead_threshold_ms: 50,
  freeze_threshold_ms: 500,
  av_skew_threshold_ms: 80,
  cadence_cv_threshold: 0.3,
  health_threshold: 0.7,
  score_change_threshold: 0.05,
};

const Params = Type.Object(
  {
    lead_threshold_ms: numberParam(
      DEFAULTS.lead_threshold_ms,
      'Lead jump between consecutive frames (ms) that raises LEAD_JUMP.',
      { minimum: 0 },
    ),
    freeze_threshold_ms: numberParam(
      DEFAULTS.freeze_threshold_ms,
      'Freeze threshold (ms); freezes need video, so it has no effect on audio.',
      { minimum: 0 },
    ),
    av_skew_threshold_ms: numberParam(
      DEFAULTS.av_skew_threshold_ms,
      'A/V skew threshold (ms); skew needs video, so it has no effect on audio.',
      { minimum: 0 },
    ),
    cadence_cv_threshold: numberParam(
      DEFAULTS.cadence_cv_threshold,
      'Coefficient of variation of frame intervals above which cadence is unstable.',
      { exclusiveMinimum: 0 },
    ),
    health_threshold: numberParam(DEFAULTS.health_threshold, 'Health score below which HEALTH_LOW raises.'),
    score_change_threshold: numberParam(
      DEFAULTS.score_change_threshold,
      'Score change that emits a new health event.',
      { minimum: 0 },
    ),
    health_emit_interval_ms: ignoredParam('Interval of periodic health events (they are emitted on change).'),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** Active issues as bits, in one table with their names. */
const ISSUES = [
  'SILENCE',
  'LOW_VOLUME',
  'SUSTAINED_SILENCE',
  'INTERMITTENT_DROPOUTS',
  'CLIPPING',
  'CHANNEL_IMBALANCE',
  'DEAD_CHANNEL',
  'SESSION_UNHEALTHY',
  'SESSION_DEGRADED',
] as const;
const bit = (name: (typeof ISSUES)[number]): number => 1 << ISSUES.indexOf(name);
const SILENCE = bit('SILENCE');
const LOW_VOLUME = bit('LOW_VOLUME');
const SUSTAINED_SILENCE = bit('SUSTAINED_SILENCE');
const INTERMITTENT_DROPOUTS = bit('INTERMITTENT_DROPOUTS');
const CLIPPING = bit('CLIPPING');
const CHANNEL_IMBALANCE = bit('CHANNEL_IMBALANCE');
const DEAD_CHANNEL = bit('DEAD_CHANNEL');
const SESSION_UNHEALTHY = bit('SESSION_UNHEALTHY');
const SESSION_DEGRADED = bit('SESSION_DEGRADED');

/** RemoteMedia's `ts`: Unix seconds followed by six zeros (the string is made once per second). */
let tsSecond = -1;
let tsText = '';
function eventTs(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== tsSecond) {
    tsSecond = second;
    tsText = `${String(second)}000000`;
  }
  return tsText;
}

// Event builders: keys in RemoteMedia's (alphabetical) order, `stream_id` only for a stream with an id.
function driftEvent(leadMs: number, thresholdMs: number, streamId: string | undefined): DriftEvent {
  const ts = eventTs();
  return streamId === undefined
    ? { lead_ms: leadMs, threshold_ms: thresholdMs, ts, type: 'drift' }
    : { lead_ms: leadMs, stream_id: streamId, threshold_ms: thresholdMs, ts, type: 'drift' };
}

function cadenceEvent(cv: number, threshold: number, streamId: string | undefined): CadenceEvent {
  const ts = eventTs();
  return streamId === undefined
    ? { cv, threshold, ts, type: 'cadence' }
    : { cv, stream_id: streamId, threshold, ts, type: 'cadence' };
}

/** One stream's aggregation state. */
class StreamHealth {
  readonly drift: DriftMetrics;
  frames = 0;
  lastScore: number | null = null;
  lastAlerts = 0;
  issues = 0;
  lastIssues = 0;
  /** Latest `health` of each upstream event schema, and the lowest of them (1 with none). */
  readonly upstream = new Map<string, number>();
  lowestUpstream = 1;

  constructor(thresholds: ConstructorParameters<typeof DriftMetrics>[0]) {
    this.drift = new DriftMetrics(thresholds);
  }
}

/** Sets or clears `flag` in `issues` by a boolean field of an event. */
function flagFrom(issues: number, value: unknown, flag: number): number {
  return value === true ? issues | flag : issues & ~flag;
}

/** The active issues after one upstream event (RemoteMedia's `update_from_upstream_json`). */
function issuesAfter(issues: number, schema: string, e: Record<string, unknown>): number {
  // Fields are read by name, not by a key in a variable: on the hot path (four events per frame) each read stays
  // a monomorphic property load.
  switch (schema) {
    case 'audio_level_event':
      return flagFrom(flagFrom(issues, e.is_silence, SILENCE), e.is_low_volume, LOW_VOLUME);
    case 'silence_event':
      return flagFrom(
        flagFrom(issues, e.is_sustained_silence, SUSTAINED_SILENCE),
        e.has_intermittent_dropouts,
        INTERMITTENT_DROPOUTS,
      );
    case 'clipping_event':
      return flagFrom(issues, e.is_clipping, CLIPPING);
    case 'channel_balance_event':
      return flagFrom(flagFrom(issues, e.is_imbalanced, CHANNEL_IMBALANCE), e.has_dead_channel, DEAD_CHANNEL);
    default: {
      if (e.event_type !== 'session.health' || typeof e.state !== 'string') return issues;
      const cleared = issues & ~(SESSION_UNHEALTHY | SESSION_DEGRADED);
      return e.state === 'unhealthy'
        ? cleared | SESSION_UNHEALTHY
        : e.state === 'degraded'
          ? cleared | SESSION_DEGRADED
          : cleared;
    }
  }
}

/** The health emitter's logic, per stream (exported for the benchmark and tests). */
export class HealthAggregator {
  private readonly streams: PerStream<StreamHealth>;
  private readonly leadThresholdMs: number;
  private readonly cadenceThreshold: number;
  private readonly scoreChange: number;

  constructor(params: Params) {
    this.leadThresholdMs = params.lead_threshold_ms ?? DEFAULTS.lead_threshold_ms;
    this.cadenceThreshold = params.cadence_cv_threshold ?? DEFAULTS.cadence_cv_threshold;
    this.scoreChange = params.score_change_threshold ?? DEFAULTS.score_change_threshold;
    const thresholds = {
      leadJumpUs: this.leadThresholdMs * 1000,
      cadenceCvThreshold: this.cadenceThreshold,
      healthThreshold: params.health_threshold ?? DEFAULTS.health_threshold,
    };
    this.streams = new PerStream(() => new StreamHealth(thresholds));
  }

  /** The events for one input, or undefined for none (most frames). */
  events(item: unknown): object | object[] | undefined {
    if (item instanceof AudioFrame) return this.onFrame(item);
    if (item === null || item === undefined || typeof item === 'string' || ArrayBuffer.isView(item)) {
      return undefined;
    }
    return this.onEvent(item);
  }

  private onFrame(frame: AudioFrame): object | object[] | undefined {
    const st = this.streams.get(frame.streamId);
    const mediaUs = frame.timestampUs ?? Math.floor((st.frames * frame.frames * 1e6) / frame.sampleRate);
    const arrivalUs = frame.arrivalTsUs ?? monotonicUs();
    st.frames++;
    const before = st.drift.alerts();
    const changed = st.drift.record(mediaUs, arrivalUs);
    const after = st.drift.alerts();
    let events: object[] | undefined;
    if (changed) {
      const raised = after & ~before;
      const lead = st.drift.leadUs();
      if ((raised & (DRIFT_SLOPE | LEAD_JUMP)) !== 0 && lead !== null) {
        events = [driftEvent(Math.trunc(lead / 1000), this.leadThresholdMs, frame.streamId)];
      }
      if ((raised & CADENCE_UNSTABLE) !== 0) {
        (events ??= []).push(cadenceEvent(st.drift.cadenceCv(), this.cadenceThreshold, frame.streamId));
      }
    }
    const score = st.drift.healthScore();
    const alertsChanged = (after & ~HEALTH_LOW) !== (st.lastAlerts & ~HEALTH_LOW);
    if (alertsChanged || this.scoreChanged(st, score) || st.issues !== st.lastIssues) {
      (events ??= []).push(this.healthEvent(st, score, after, frame.streamId));
    }
    return events === undefined ? undefined : events.length === 1 ? events[0] : events;
  }

  private onEvent(item: object): object | undefined {
    const e = item as Record<string, unknown>;
    const streamId = typeof e.stream_id === 'string' ? e.stream_id : undefined;
    const st = this.streams.get(streamId);
    const schema = typeof e._schema === 'string' ? e._schema : '';
    const health = e.health;
    if (schema !== '' && typeof health === 'number' && st.upstream.get(schema) !== health) {
      st.upstream.set(schema, health);
      let lowest = 1;
      for (const h of st.upstream.values()) if (h < lowest) lowest = h;
      st.lowestUpstream = lowest;
    }
    st.issues = issuesAfter(st.issues, schema, e);
    const score = st.lowestUpstream;
    if (st.issues === st.lastIssues && !this.scoreChanged(st, score)) return undefined;
    return this.healthEvent(st, score, st.drift.alerts(), streamId);
  }

  private scoreChanged(st: StreamHealth, score: number): boolean {
    return st.lastScore === null || Math.abs(score - st.lastScore) >= this.scoreChange;
  }

  private healthEvent(
    st: StreamHealth,
    score: number,
    alerts: number,
    streamId: string | undefined,
  ): HealthEvent {
    st.lastScore = score;
    st.lastAlerts = alerts;
    st.lastIssues = st.issues;
    const names: string[] = [];
    for (const [flag, name] of DRIFT_ALERT_NAMES) if ((alerts & flag) !== 0) names.push(name);
    ISSUES.forEach((name, i) => {
      if ((st.issues & (1 << i)) !== 0) names.push(name);
    });
    names.sort();
    return streamId === undefined
      ? { alerts: names, score, ts: eventTs(), type: 'health' }
      : { alerts: names, score, stream_id: streamId, ts: eventTs(), type: 'health' };
  }
}

export const HealthEmitter = defineNodeType<Params>({
  name: 'HealthEmitter',
  aliases: ['HealthEmitterNode'],
  role: 'transform',
  description:
    'Stream health events: drift and cadence alerts from audio frame timing, and health {score, alerts} from audio or from the other stream-health nodes\u2019 events (RemoteMedia).',
  params: Params,
  create: ({ params }): PipelineNode => {
    const aggregator = new HealthAggregator(params);
    return {
      process: (item) => {
        const out = aggregator.events(item);
        if (Array.isArray(out)) return out.map((e: unknown) => carryArrival(e, item)).values();
        return carryArrival(out, item);
      },
    };
  },
});
