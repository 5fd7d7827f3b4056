/**
 * EventCorrelatorNode: RemoteMedia's alert grouping (crates/core/src/nodes/event_correlator.rs). Alert events
 * (the stream-health analysers' events that flag a problem — clipping, sustained silence, imbalance, a dead
 * channel — and `drift`, `freeze`, `cadence`, `av_skew`, `timing.*` events, `state` dead_air or unhealthy) are
 * grouped into incidents: an alert joins the first open incident whose last alert is less than
 * `correlation_window_ms` before it, else opens one. An incident closes when nothing joined it for the window;
 * if it holds `min_events_for_incident` alerts or more it is emitted as an `incident_v1` event (severity: the
 * highest of its alerts; pattern: silence_then_reconnect, clipping_with_imbalance, freeze_with_drift,
 * audio_quality_degradation or unknown). With `emit_raw_events` the alerts themselves are also passed on; other
 * JSON gives nothing, and items that are not JSON (audio, text, binary) pass through unchanged.
 *
 * Time: an event's `timestamp_us` (the stream time of its frame); for an event without one, the latest
 * `timestamp_us` of its stream, or the wall clock in a stream that has none. RemoteMedia tests whether an
 * incident is over against the wall clock even for events stamped with stream time, which closes every incident
 * at once; here the stream's own time closes incidents, so they form over stream time, and at end of stream the
 * open incidents are closed (RemoteMedia has no end of stream). State is per stream (the events' `stream_id`), where RemoteMedia keeps one per node.
 */
import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, carryArrival } from '../../core/audio.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';
import { PerStream } from './signal.js';

const DEFAULTS = { correlation_window_ms: 5000, min_events_for_incident: 2, emit_raw_events: true };

const Params = Type.Object(
  {
    correlation_window_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: DEFAULTS.correlation_window_ms,
        description:
          'Alerts less than this far apart (ms) join one incident; one this quiet is over. Default 5000.',
      }),
    ),
    min_events_for_incident: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: DEFAULTS.min_events_for_incident,
        description: 'Alerts an incident needs to be emitted. Default 2.',
      }),
    ),
    emit_raw_events: Type.Optional(
      Type.Boolean({
        default: DEFAULTS.emit_raw_events,
        description: 'Pass the alert events on too. Default true.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** An `incident_v1` event; keys in RemoteMedia's (alphabetical) order. */
export interface IncidentEvent {
  readonly _schema: 'incident_v1';
  /** From its first alert to its last, in ms (truncated). */
  readonly duration_ms: number;
  readonly event_count: number;
  readonly event_type: 'incident';
  /** Its alerts: their type (event_type, type or _schema) and time. */
  readonly events: readonly { readonly timestamp_us: number; readonly type: string }[];
  /** `inc_` and 8 hex digits. */
  readonly incident_id: string;
  readonly pattern: string;
  /** low, medium, high or critical: the highest of its alerts. */
  readonly severity: string;
  /** When it was closed (the time of the input that closed it). */
  readonly timestamp_us: number;
}

type Json = Record<string, unknown>;

interface Alert {
  readonly type: string;
  readonly timestampUs: number;
  readonly event: Json;
}

interface Incident {
  readonly alerts: Alert[];
  readonly startUs: number;
  lastUs: number;
}

/** One stream's open incidents (oldest first) and its clock: the latest `timestamp_us` seen, if any. */
interface StreamIncidents {
  readonly open: Incident[];
  clockUs: number | null;
}

const ALERT_TYPES = new Set([
  'timing.jitter_spike',
  'timing.clock_drift',
  'timing.lead_jump',
  'drift',
  'freeze',
  'cadence',
  'av_skew',
]);

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

const flag = (e: Json, field: string): boolean => e[field] === true;

function declaredType(e: Json): string | undefined {
  const t = typeof e.event_type === 'string' ? e.event_type : e.type;
  return typeof t === 'string' ? t : undefined;
}

function isAlert(e: Json): boolean {
  const t = declaredType(e) ?? '';
  return (
    ALERT_TYPES.has(t) ||
    flag(e, 'is_clipping') ||
    flag(e, 'is_sustained_silence') ||
    flag(e, 'is_imbalanced') ||
    flag(e, 'has_dead_channel') ||
    e.state === 'dead_air' ||
    e.state === 'unhealthy'
  );
}

/** 0 low … 3 critical. */
function severity(a: Alert): number {
  switch (a.type) {
    case 'freeze':
      return 3;
    case 'timing.clock_drift':
    case 'timing.lead_jump':
      return 2;
    case 'timing.jitter_spike':
    case 'drift':
    case 'cadence':
    case 'av_skew':
      return 1;
  }
  const e = a.event;
  if (flag(e, 'is_clipping') || flag(e, 'has_dead_channel')) return 2;
  if (flag(e, 'is_sustained_silence')) return 1;
  if (e.state === 'unhealthy') return 2;
  if (e.state === 'degraded') return 1;
  return 0;
}

function pattern(alerts: readonly Alert[]): string {
  const any = (f: (a: Alert) => boolean): boolean => alerts.some(f);
  const silence = any((a) => a.type.includes('silence') || flag(a.event, 'is_sustained_silence'));
  if (silence && any((a) => a.type.startsWith('timing.'))) return 'silence_then_reconnect';
  const clipping = any((a) => flag(a.event, 'is_clipping'));
  const imbalance = any((a) => flag(a.event, 'is_imbalanced') || flag(a.event, 'has_dead_channel'));
  if (clipping && imbalance) return 'clipping_with_imbalance';
  if (any((a) => a.type === 'freeze') && any((a) => a.type.includes('drift'))) return 'freeze_with_drift';
  const audioIssues = alerts.filter(
    (a) => flag(a.event, 'is_clipping') || flag(a.event, 'is_low_volume') || flag(a.event, 'is_imbalanced'),
  ).length;
  return audioIssues >= 2 ? 'audio_quality_degradation' : 'unknown';
}

function incidentEvent(inc: Incident, nowUs: number): IncidentEvent {
  let worst = 0;
  for (const a of inc.alerts) worst = Math.max(worst, severity(a));
  return {
    _schema: 'incident_v1',
    duration_ms: Math.trunc(Math.max(0, inc.lastUs - inc.startUs) / 1000),
    event_count: inc.alerts.length,
    event_type: 'incident',
    events: inc.alerts.map((a) => ({ timestamp_us: a.timestampUs, type: a.type })),
    incident_id: `inc_${randomUUID().slice(0, 8)}`,
    pattern: pattern(inc.alerts),
    severity: SEVERITIES[worst] ?? 'low',
    timestamp_us: nowUs,
  };
}

/** The correlator's logic, per stream (exported for tests). */
export class EventCorrelation {
  /** Every stream's state, for the end of stream. */
  private readonly all: StreamIncidents[] = [];
  private readonly streams = new PerStream<StreamIncidents>(() => {
    const st: StreamIncidents = { open: [], clockUs: null };
    this.all.push(st);
    return st;
  });
  private readonly windowUs: number;
  private readonly minEvents: number;
  private readonly emitRaw: boolean;

  constructor(params: Params) {
    this.windowUs = (params.correlation_window_ms ?? DEFAULTS.correlation_window_ms) * 1000;
    this.minEvents = params.min_events_for_incident ?? DEFAULTS.min_events_for_incident;
    this.emitRaw = params.emit_raw_events ?? DEFAULTS.emit_raw_events;
  }

  /** The outputs for one JSON event (raw alert, then closed incidents), in order. */
  events(e: Json): object[] {
    const out: object[] = [];
    const st = this.streams.get(typeof e.stream_id === 'string' ? e.stream_id : undefined);
    if (typeof e.timestamp_us === 'number') st.clockUs = e.timestamp_us;
    const nowUs = st.clockUs ?? Date.now() * 1000;
    const open = st.open;
    if (isAlert(e)) {
      const alert: Alert = {
        type: declaredType(e) ?? (typeof e._schema === 'string' ? e._schema : 'unknown'),
        timestampUs: nowUs,
        event: e,
      };
      const joined = open.find((inc) => Math.max(0, nowUs - inc.lastUs) < this.windowUs);
      if (joined !== undefined) {
        joined.alerts.push(alert);
        joined.lastUs = nowUs;
      } else open.push({ alerts: [alert], startUs: nowUs, lastUs: nowUs });
      if (this.emitRaw) out.push(e);
    }
    // Closed incidents leave in reverse order of opening, as in RemoteMedia.
    for (let i = open.length - 1; i >= 0; i--) {
      const inc = open[i] as Incident;
      if (Math.max(0, nowUs - inc.lastUs) < this.windowUs) continue;
      open.splice(i, 1);
      if (inc.alerts.length >= this.minEvents) out.push(incidentEvent(inc, nowUs));
    }
    return out;
  }

  /** At end of stream: every open incident with enough alerts, closed at its last alert. */
  closeAll(): object[] {
    const out: object[] = [];
    for (const { open } of this.all) {
      for (const inc of open) {
        if (inc.alerts.length >= this.minEvents) out.push(incidentEvent(inc, inc.lastUs));
      }
      open.length = 0;
    }
    return out;
  }
}

export const EventCorrelator = defineNodeType<Params>({
  name: 'EventCorrelator',
  aliases: ['EventCorrelatorNode'],
  role: 'transform',
  description:
    'Groups stream-health alerts close in time into incident_v1 events (severity, pattern); passes the alerts on (RemoteMedia). Non-JSON items pass through.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const correlation = new EventCorrelation(params);
    const many = (out: object[]): unknown =>
      out.length === 0 ? undefined : out.length === 1 ? out[0] : out.values();
    return {
      process: (item) => {
        // Text, audio and binary pass through; any other value is JSON (null gives nothing, as in RemoteMedia).
        if (typeof item === 'string' || item instanceof AudioFrame || ArrayBuffer.isView(item)) return item;
        if (item === null || item === undefined) return undefined;
        if (typeof item !== 'object') return undefined;
        return many(correlation.events(item as Json).map((e) => carryArrival(e, item)));
      },
      flush: () => many(correlation.closeAll()),
    };
  },
});
