/**
 * `sampleMemory`: the peak (VmHWM-based) and mean resident memory of a process tree, for short-lived commands, so
 * that a child's peak is known even after it exits. Cheaper questions than the resource sampler's: no CPU, no
 * series. Linux only.
 */
import { readFileSync } from 'node:fs';
import { processTree } from './proc-files.js';

/** Peak and mean resident memory seen while sampling. */
export interface MemorySample {
  /** Highest sum over the process tree of each process's VmHWM, in KiB. */
  readonly peakRssKb: number;
  /** Mean of the summed VmRSS over the samples, in KiB. */
  readonly meanRssKb: number;
  readonly samples: number;
}

function statusKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(text);
    const hwm = /VmHWM:\s+(\d+)/.exec(text);
    if (!rss || !hwm) return null;
    return { rss: Number(rss[1]), hwm: Number(hwm[1]) };
  } catch {
    return null;
  }
}

/**
 * The tree is listed again every this many ticks (and when a process of it is gone); statuses every tick. A child
 * that starts and ends between two listings is not seen.
 */
const TREE_EVERY = 10;

/**
 * Samples a process tree every `intervalMs` until `stop()`; returns the peak and mean. The sampler shares the
 * machine with what it measures, so a tick is cheap: a few synchronous reads of `/proc/<pid>/status` (tens of µs),
 * and the tree (a `children` file per thread of every process) listed every TREE_EVERY ticks only.
 */
export function sampleMemory(pid: number, intervalMs = 50): { stop: () => Promise<MemorySample> } {
  let peak = 0;
  let sum = 0;
  let count = 0;
  let running = true;
  let ticks = 0;
  let pids: number[] = [pid];
  let listing: Promise<void> | null = null;
  const relist = (): void => {
    listing ??= processTree(pid).then((tree) => {
      pids = tree;
      listing = null;
    });
  };
  const tick = (): void => {
    if (ticks++ % TREE_EVERY === 0) relist();
    let hwm = 0;
    let rss = 0;
    let gone = false;
    for (const p of pids) {
      const s = statusKb(p);
      if (s) {
        hwm += s.hwm;
        rss += s.rss;
      } else gone = true;
    }
    if (gone) relist();
    if (rss > 0) {
      peak = Math.max(peak, hwm);
      sum += rss;
      count++;
    }
  };
  tick();
  const timer = setInterval(() => {
    if (running) tick();
  }, intervalMs);
  return {
    stop: async () => {
      running = false;
      clearInterval(timer);
      await listing;
      return { peakRssKb: peak, meanRssKb: count ? sum / count : 0, samples: count };
    },
  };
}
