// Expected incidents follow RemoteMedia's event_correlator.rs: alerts less than the window apart share an
// incident; it is emitted once the window passes without alerts, with the highest severity (clipping: high,
// sustained silence: medium) and the first matching pattern.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipeline } from '../../pipeline/executor.js';
import { asyncFrom, chain, manifestOf } from '../test-support.js';
import { EventCorrelation, type IncidentEvent } from './event-correlator.js';
import { sineFrame } from './test-signals.js';

const clip = (t: number): Record<string, unknown> => ({
  _schema: 'clipping_event',
  is_clipping: true,
  health: 0,
  timestamp_us: t,
});
const quiet = (t: number): Record<string, unknown> => ({
  _schema: 'clipping_event',
  is_clipping: false,
  timestamp_us: t,
});

describe('EventCorrelatorNode', () => {
  test('two alerts within the window make an incident once the window has passed', () => {
    const c = new EventCorrelation({});
    assert.deepEqual(c.events(clip(0)), [clip(0)]);
    assert.deepEqual(c.events(clip(1_000_000)), [clip(1_000_000)]);
    assert.deepEqual(c.events(quiet(5_900_000)), []);
    const [incident] = c.events(quiet(6_000_000)) as IncidentEvent[];
    assert.ok(incident);
    assert.match(incident.incident_id, /^inc_[0-9a-f]{8}$/);
    assert.deepEqual(
      { ...incident, incident_id: '' },
      {
        _schema: 'incident_v1',
        duration_ms: 1000,
        event_count: 2,
        event_type: 'incident',
        events: [
          { timestamp_us: 0, type: 'clipping_event' },
          { timestamp_us: 1_000_000, type: 'clipping_event' },
        ],
        incident_id: '',
        pattern: 'audio_quality_degradation',
        severity: 'high',
        timestamp_us: 6_000_000,
      },
    );
  });

  test('a lone alert is no incident; patterns and severities', () => {
    const c = new EventCorrelation({ emit_raw_events: false });
    assert.deepEqual(c.events(clip(0)), []);
    assert.deepEqual(c.events(quiet(10_000_000)), []);
    c.events({ _schema: 'silence_event', is_sustained_silence: true, timestamp_us: 20_000_000 });
    c.events({ type: 'timing.lead_jump', timestamp_us: 21_000_000 });
    const [a] = c.events(quiet(30_000_000)) as IncidentEvent[];
    assert.deepEqual([a?.pattern, a?.severity], ['silence_then_reconnect', 'high']);
    c.events(clip(40_000_000));
    c.events({
      _schema: 'channel_balance_event',
      is_imbalanced: true,
      has_dead_channel: true,
      timestamp_us: 40_000_000,
    });
    const [b] = c.events(quiet(50_000_000)) as IncidentEvent[];
    assert.deepEqual([b?.pattern, b?.severity, b?.duration_ms], ['clipping_with_imbalance', 'high', 0]);
  });

  test('in a pipeline: audio passes through, other JSON gives nothing, open incidents close at end of stream', async () => {
    const m = manifestOf(
      chain([['corr', 'EventCorrelatorNode', { correlation_window_ms: 5000, min_events_for_incident: 2 }]]),
    );
    const frame = sineFrame(0.5);
    const r = await runPipeline(m, { input: asyncFrom([frame, quiet(0), clip(1), clip(2)]) });
    assert.equal(r.state, 'completed');
    assert.equal(r.outputs[0], frame);
    assert.deepEqual(r.outputs.slice(1, 3), [clip(1), clip(2)]);
    assert.equal((r.outputs[3] as IncidentEvent).event_count, 2);
    assert.equal(r.outputs.length, 4);
  });
});
