/**
 * `sampleMemory`: the peak (VmHWM-based) and mean resident memory of a process tree, for short-lived commands, so
 * that a child's peak is known even after it exits. Cheaper questions than the resource sampler's: no CPU, no
 * series. Linux only.
 */
import { readFile } from 'node:fs/promises';
import { processTree } from './proc-files.js';

/** Peak and mean resident memory seen while sampling. */
export interface MemorySample {
  /** Highest sum over the process tree of each process's VmHWM, in KiB. */
  readonly peakRssKb: number;
  /** Mean of the summed VmRSS over the samples, in KiB. */
  readonly meanRssKb: number;
  readonly samples: number;
}

async function statusKb(pid: number): Promise<{ rss: number; hwm: number } | null> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(text);
    const hwm = /VmHWM:\s+(\d+)/.exec(text);
    if (!rss || !hwm) return null;
    return { rss: Number(rss[1]), hwm: Number(hwm[1]) };
  } catch {
    return null;
  }
}

/** Samples a process tree every `intervalMs` until `stop()`; returns the peak and mean. */
export function sampleMemory(pid: number, intervalMs = 50): { stop: () => Promise<MemorySample> } {
  let peak = 0;
  let sum = 0;
  let count = 0;
  let running = true;
  const tick = async (): Promise<void> => {
    const pids = await processTree(pid);
    let hwm = 0;
    let rss = 0;
    for (const p of pids) {
      const s = await statusKb(p);
      if (s) {
        hwm += s.hwm;
        rss += s.rss;
      }
    }
    if (rss > 0) {
      peak = Math.max(peak, hwm);
      sum += rss;
      count++;
    }
  };
  let pending: Promise<void> = tick();
  const timer = setInterval(() => {
    if (running) pending = pending.then(tick);
  }, intervalMs);
  return {
    stop: async () => {
      running = false;
      clearInterval(timer);
      await pending;
      return { peakRssKb: peak, meanRssKb: count ? sum / count : 0, samples: count };
    },
  };
}
