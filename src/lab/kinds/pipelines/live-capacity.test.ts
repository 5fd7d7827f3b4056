import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProcessOutcome } from '../../run/command.js';
import { searchLiveCapacity } from './live-capacity.js';

/** A run that sustains up to `limit` streams: latency grows with the streams, frames drop past the limit. */
function executor(limit: number, drops: (streams: number) => number = () => 0) {
  const tried: number[] = [];
  const run = (streams: number): Promise<ProcessOutcome> => {
    tried.push(streams);
    const stats = {
      frame_latency: {
        count: 50 * streams,
        p50_us: 10 * streams,
        p99_us: streams <= limit ? 100 * streams : 25_000,
      },
      frames_dropped_behind: streams <= limit ? drops(streams) : 50 * streams,
    };
    return Promise.resolve({
      code: 0,
      stdout: '',
      stderr: `pitlane: warning: something\n${JSON.stringify(stats)}\n`,
      totalNs: 1,
      firstLineNs: null,
      peakRssKb: streams,
    } as ProcessOutcome);
  };
  return { run, tried };
}

/** The search bounds of most tests: 100 frames per stream, so 1% of a trial's frames is one per stream. */
const SEARCH = { maxStreams: 4096, framePeriodUs: 20_000, framesPerStream: 100 };

describe('live capacity search', () => {
  test('doubles until a trial fails, then bisects to within 1/16 of the last pass', async () => {
    const e = executor(37);
    const c = await searchLiveCapacity(e.run, SEARCH);
    assert.deepEqual(e.tried.slice(0, 7), [1, 2, 4, 8, 16, 32, 64]);
    assert.ok(c.streams <= 37 && c.streams >= 35, `capacity ${c.streams}`);
    assert.equal(c.p50_us_at_1, 10);
    assert.equal(c.p99_us_at_1, 100);
    assert.ok(c.trials.every((t) => t.passed === t.streams <= 37));
  });

  test('stops at the bound, and reports 0 when one stream is already too many', async () => {
    assert.equal((await searchLiveCapacity(executor(1e9).run, { ...SEARCH, maxStreams: 100 })).streams, 100);
    const none = await searchLiveCapacity(executor(0).run, { ...SEARCH, maxStreams: 100 });
    assert.deepEqual([none.streams, none.trials.length], [0, 1]);
  });

  test('a trial passes with at most 1% of its frames dropped (a stall), not more', async () => {
    // 100 frames per stream: 1% is one frame per stream.
    const within = await searchLiveCapacity(executor(1e9, (n) => n).run, { ...SEARCH, maxStreams: 64 });
    assert.equal(within.streams, 64);
    const beyond = await searchLiveCapacity(executor(1e9, (n) => n + 1).run, { ...SEARCH, maxStreams: 64 });
    assert.equal(beyond.streams, 0);
  });

  test('a hint from an earlier repeat starts the doubling at half of it', async () => {
    const e = executor(150);
    const c = await searchLiveCapacity(e.run, { ...SEARCH, hint: 140 });
    assert.deepEqual(e.tried.slice(0, 4), [1, 70, 140, 280]);
    assert.ok(c.streams <= 150 && c.streams >= 141, `capacity ${c.streams}`);
    const wrong = executor(20);
    const d = await searchLiveCapacity(wrong.run, { ...SEARCH, hint: 280 });
    assert.ok(d.streams <= 20 && d.streams >= 18, `capacity ${d.streams} after a wrong hint`);
  });

  test('a trial whose process fails stops the search with its message', async () => {
    const failing = (): Promise<ProcessOutcome> =>
      Promise.resolve({
        code: 2,
        stdout: '',
        stderr: 'error PL_ERR_USAGE: unknown option --streams',
        totalNs: 1,
        firstLineNs: null,
        peakRssKb: 0,
      } as ProcessOutcome);
    await assert.rejects(
      searchLiveCapacity(failing, { ...SEARCH, maxStreams: 8 }),
      /1 stream\(s\) failed \(exit 2\): error PL_ERR_USAGE: unknown option --streams/,
    );
  });
});
