/**
 * Live capacity: how many concurrent real-time streams of a pipeline an executor sustains on this machine. One
 * trial runs `run M -i AUDIO --realtime --warmup S --streams N --json-stats` (the audio replayed as N streams, each
 * frame released when its time comes, as from N microphones whose frames arrive staggered over the frame period in
 * groups, each group stamped with one arrival time; the first S seconds warm up and are not counted) and passes when the p99 latency from a frame's arrival to
 * the outputs made from it stays under one frame period — frames processed before the next ones arrive — and at
 * most 1% of the frames were dropped (at the source or from a full queue): a stall of the machine drops a slot
 * now and then, a pipeline that cannot keep up drops on and on. The search doubles N from 1 (or from half the
 * capacity an earlier repeat found) until a trial fails, then bisects between the last pass and the first failure.
 * Both executors are driven the same way, through their CLIs, and report the same `--json-stats` keys.
 */
import { BenchError } from '../../../core/errors.js';
import type { ProcessOutcome } from '../../run/command.js';

/** What one `--json-stats` line of a live run says. */
interface LiveStats {
  readonly frame_latency?: { readonly count: number; readonly p50_us: number; readonly p99_us: number };
  readonly frames_dropped_behind?: number;
}

/** One trial of the search. */
export interface LiveTrial {
  readonly streams: number;
  readonly passed: boolean;
  readonly p50_us: number | null;
  readonly p99_us: number | null;
  readonly dropped: number;
  readonly peak_rss_kb: number;
}

/** The search's result. */
export interface LiveCapacity {
  /** Most streams sustained (0: not even one). */
  readonly streams: number;
  /** Latency at one stream, µs. */
  readonly p50_us_at_1: number | null;
  readonly p99_us_at_1: number | null;
  readonly trials: readonly LiveTrial[];
}

/** Search bounds and the frame period the latency is held to. */
export interface LiveSearch {
  readonly maxStreams: number;
  readonly framePeriodUs: number;
  /** Frames of each stream in a trial after the warm-up (drops are held to 1% of streams × this). */
  readonly framesPerStream: number;
  /** The capacity an earlier repeat found: the search starts doubling from half of it. */
  readonly hint?: number;
}

/** Share of a trial's frames that may be dropped. */
export const DROP_ALLOWANCE = 0.01;

/** Runs one trial with `streams` streams; the caller spawns the process. */
export type RunTrial = (streams: number) => Promise<ProcessOutcome>;

/** Finds the capacity (see the module comment). */
export async function searchLiveCapacity(run: RunTrial, search: LiveSearch): Promise<LiveCapacity> {
  const trials: LiveTrial[] = [];
  const trial = async (streams: number): Promise<LiveTrial> => {
    const outcome = await run(streams);
    if (outcome.code !== 0) {
      throw new BenchError(
        `a live trial with ${streams} stream(s) failed (exit ${outcome.code}): ${outcome.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    const last =
      outcome.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop() ?? '{}';
    const stats = JSON.parse(last) as LiveStats;
    const latency = stats.frame_latency;
    const dropped = stats.frames_dropped_behind ?? 0;
    const t: LiveTrial = {
      streams,
      passed:
        latency !== undefined &&
        latency.count > 0 &&
        dropped <= DROP_ALLOWANCE * streams * search.framesPerStream &&
        latency.p99_us < search.framePeriodUs,
      p50_us: latency?.p50_us ?? null,
      p99_us: latency?.p99_us ?? null,
      dropped,
      peak_rss_kb: outcome.peakRssKb,
    };
    trials.push(t);
    return t;
  };
  const first = await trial(1);
  if (!first.passed) return { streams: 0, p50_us_at_1: first.p50_us, p99_us_at_1: first.p99_us, trials };
  let good = 1;
  let bad: number | null = null;
  const from = Math.floor((search.hint ?? 0) / 2);
  if (from > 1 && from < search.maxStreams) {
    if ((await trial(from)).passed) good = from;
    else bad = from;
  }
  while (bad === null && good < search.maxStreams) {
    const n = Math.min(good * 2, search.maxStreams);
    if ((await trial(n)).passed) good = n;
    else bad = n;
  }
  while (bad !== null && bad - good > Math.max(1, Math.floor(good / 16))) {
    const mid = Math.floor((good + bad) / 2);
    if ((await trial(mid)).passed) good = mid;
    else bad = mid;
  }
  return { streams: good, p50_us_at_1: first.p50_us, p99_us_at_1: first.p99_us, trials };
}
