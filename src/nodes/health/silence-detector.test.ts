// Expected values follow from RemoteMedia's silence_detector.rs: each silent 20 ms frame adds 20 ms of
// silence, sustained from 500 ms (the 25th frame), health 1 - duration/500 until then; a change to silence is
// a dropout, counted over the transitions of the window (pruned when a transition happens).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SilenceTracker, type SilenceEvent } from './silence-detector.js';
import { silenceFrame, sineFrame, stereoFrame } from './test-signals.js';

const FRAME_US = 20_000;

describe('SilenceDetectorNode', () => {
  test('silence lasts frame by frame and is sustained at 500 ms', () => {
    const d = new SilenceTracker({});
    const events: SilenceEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(d.event(silenceFrame({ timestampUs: i * FRAME_US })));
    const [first, at24, at25, last] = [0, 23, 24, 29].map((i) => events[i] as SilenceEvent);
    assert.ok(first && at24 && at25 && last);
    assert.equal(first.silence_duration_ms, 20);
    assert.ok(Math.abs(first.health - 0.96) < 1e-12);
    assert.equal(at24.is_sustained_silence, false);
    assert.deepEqual([at25.silence_duration_ms, at25.is_sustained_silence, at25.health], [500, true, 0]);
    assert.equal(last.rms_db, -120);
    const sound = d.event(sineFrame(0.5, { timestampUs: 30 * FRAME_US }));
    assert.deepEqual(
      [sound.is_silent, sound.silence_duration_ms, sound.health, sound.is_sustained_silence],
      [false, 0, 1, false],
    );
  });

  test('three changes to silence within the window are intermittent dropouts', () => {
    const d = new SilenceTracker({});
    const seq = [sineFrame, silenceFrame, sineFrame, silenceFrame, sineFrame, silenceFrame];
    const events = seq.map((make, i) =>
      d.event(
        make === sineFrame
          ? sineFrame(0.5, { timestampUs: i * FRAME_US })
          : silenceFrame({ timestampUs: i * FRAME_US }),
      ),
    );
    assert.deepEqual(
      events.map((e) => e.dropout_count),
      [0, 1, 1, 2, 2, 3],
    );
    assert.equal(events[4]?.has_intermittent_dropouts, false);
    assert.equal(events[5]?.has_intermittent_dropouts, true);
  });

  test('transitions older than the window are let go at the next transition', () => {
    const d = new SilenceTracker({ dropout_window_ms: 100 });
    d.event(silenceFrame({ timestampUs: 20_000 }));
    d.event(sineFrame(0.5, { timestampUs: 40_000 }));
    const e = d.event(silenceFrame({ timestampUs: 200_000 }));
    assert.equal(e.dropout_count, 1);
  });

  test('stereo silence counts frames, not interleaved samples; streams are separate', () => {
    const d = new SilenceTracker({});
    const a = d.event(stereoFrame(0, 0, { streamId: 'a' }));
    assert.equal(a.silence_duration_ms, 20);
    d.event(sineFrame(0.5, { streamId: 'b' }));
    const a2 = d.event(silenceFrame({ streamId: 'a' }));
    assert.equal(a2.silence_duration_ms, 40);
    assert.equal(a2.stream_id, 'a');
  });
});
