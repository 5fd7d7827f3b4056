// Expected values follow from RemoteMedia's health_emitter.rs and drift_metrics.rs. Frames on time (arrival =
// media time + a constant) have lead 0, slope 0 and steady cadence: score 1, one health event. Frames arriving
// 2 % slow gain 400 µs of lead per 20 400 µs of arrival time, an instant slope of 19.6 ms/s; its EMA (α 0.1)
// passes 5 ms/s at the 4th frame, alerts start after 50 warm-up frames and raise after 5 more, so DRIFT_SLOPE
// raises at frame 55 (1-based), with lead 0.02 · 54 · 20 ms = 21.6 ms (21 truncated). Meanwhile the score
// (1 - 0.3 · min(1, slope/5)) falls 1 → 0.88 → 0.78 → 0.7, a health event each time (change ≥ 0.05).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipeline } from '../../pipeline/executor.js';
import { asyncFrom, chain, manifestOf } from '../test-support.js';
import { HealthAggregator, type HealthEvent } from './health-emitter.js';
import { silenceFrame, sineFrame } from './test-signals.js';

const FRAME_US = 20_000;

/** The events of one input as a list. */
function list(out: object | object[] | undefined): Record<string, unknown>[] {
  return (out === undefined ? [] : Array.isArray(out) ? out : [out]) as Record<string, unknown>[];
}

describe('HealthEmitterNode', () => {
  test('frames on time: one health event, score 1, no alerts, RemoteMedia keys and ts', () => {
    const h = new HealthAggregator({});
    const all = [];
    for (let i = 0; i < 100; i++) {
      const media = i * FRAME_US;
      all.push(...list(h.events(sineFrame(0.5, { timestampUs: media, arrivalTsUs: 5e6 + media }))));
    }
    assert.equal(all.length, 1);
    const e = all[0] as unknown as HealthEvent;
    assert.deepEqual(Object.keys(e), ['alerts', 'score', 'ts', 'type']);
    assert.deepEqual([e.type, e.score, e.alerts], ['health', 1, []]);
    assert.match(e.ts, /^[0-9]+000000$/);
  });

  test('frames arriving 2 % slow raise DRIFT_SLOPE at frame 55 with a drift event', () => {
    const h = new HealthAggregator({});
    const byFrame: Record<string, unknown>[][] = [];
    for (let i = 0; i < 120; i++) {
      const media = i * FRAME_US;
      byFrame.push(list(h.events(silenceFrame({ timestampUs: media, arrivalTsUs: 1e6 + media * 1.02 }))));
    }
    const scores = byFrame.flatMap((es, i) => es.filter((e) => e.type === 'health').map((e) => [i, e.score]));
    assert.deepEqual(
      scores.slice(0, 4).map(([i]) => i),
      [0, 1, 2, 3],
    );
    assert.ok(Math.abs((scores[3]?.[1] as number) - 0.7) < 1e-12);
    const drift = byFrame.flatMap((es, i) => es.filter((e) => e.type === 'drift').map((e) => [i, e]));
    assert.equal(drift.length, 1);
    const [at, event] = drift[0] as [number, Record<string, unknown>];
    assert.equal(at, 54);
    assert.deepEqual(Object.keys(event), ['lead_ms', 'threshold_ms', 'ts', 'type']);
    assert.deepEqual([event.lead_ms, event.threshold_ms], [21, 50]);
    const at55 = byFrame[54] ?? [];
    assert.deepEqual(
      at55.map((e) => e.type),
      ['drift', 'health'],
    );
    assert.deepEqual(at55[1]?.alerts, ['DRIFT_SLOPE']);
  });

  test("the other nodes' events become issues; the score is their lowest health", () => {
    const h = new HealthAggregator({});
    const silent = { _schema: 'audio_level_event', health: 0, is_low_volume: false, is_silence: true };
    assert.deepEqual(
      list(h.events(silent)).map((e) => [e.score, e.alerts]),
      [[0, ['SILENCE']]],
    );
    const clean = { _schema: 'clipping_event', health: 1, is_clipping: false };
    assert.deepEqual(list(h.events(clean)), []);
    const loud = { _schema: 'audio_level_event', health: 1, is_low_volume: false, is_silence: false };
    assert.deepEqual(
      list(h.events(loud)).map((e) => [e.score, e.alerts]),
      [[1, []]],
    );
    const clip = { _schema: 'clipping_event', health: 0.4, is_clipping: true };
    const degraded = { event_type: 'session.health', state: 'degraded' };
    assert.deepEqual(
      list(h.events(clip)).map((e) => [e.score, e.alerts]),
      [[0.4, ['CLIPPING']]],
    );
    assert.deepEqual(
      list(h.events(degraded)).map((e) => [e.score, e.alerts]),
      [[0.4, ['CLIPPING', 'SESSION_DEGRADED']]],
    );
    assert.deepEqual(list(h.events('text')), []);
  });

  test('streams are separate and their events carry stream_id', () => {
    const h = new HealthAggregator({});
    const a = list(h.events(sineFrame(0.5, { streamId: 'a', timestampUs: 0, arrivalTsUs: 0 })));
    const b = list(h.events(sineFrame(0.5, { streamId: 'b', timestampUs: 0, arrivalTsUs: 0 })));
    assert.deepEqual(Object.keys(a[0] ?? {}), ['alerts', 'score', 'stream_id', 'ts', 'type']);
    assert.deepEqual([a[0]?.stream_id, b[0]?.stream_id], ['a', 'b']);
  });

  test('in a pipeline, several events of one frame are separate outputs', async () => {
    const frames = [];
    for (let i = 0; i < 60; i++) {
      const media = i * FRAME_US;
      frames.push(silenceFrame({ timestampUs: media, arrivalTsUs: 1e6 + media * 1.02 }));
    }
    const m = manifestOf(chain([['health', 'HealthEmitterNode', { health_emit_interval_ms: 1000 }]]));
    const r = await runPipeline(m, { input: asyncFrom(frames) });
    assert.equal(r.state, 'completed');
    const types = r.outputs.map((o) => (o as { type: string }).type);
    assert.deepEqual(types, ['health', 'health', 'health', 'health', 'drift', 'health']);
  });
});
