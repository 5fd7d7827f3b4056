/**
 * `sampleResources`: resource use of a running process tree, read from /proc (BENCHMARKING.md rule 11: memory and
 * CPU of the whole tree of a contestant, workers and child processes included), as RSS and CPU time series of a
 * service during a measurement window, cheap enough to run at 20 Hz beside the load generator. Linux only.
 * Written here rather than taken from npm: pidusage reads one pid per call and pidtree finds descendants by
 * running `ps`, so a 20 Hz tree sampler built on them would shell out on every tick.
 *
 * Every process it sees in a tree is remembered (seen-descendants.ts), so that a descendant that left the
 * contestant's process group can still be found when the contestant is stopped.
 */
import { open, readFile, readdir, type FileHandle } from 'node:fs/promises';
import { toError } from '../../core/errors.js';
import {
  clockTicksPerSecond,
  closeQuietly,
  getconf,
  parseStat,
  readAt0,
  type StatFields,
} from './proc-files.js';
import { noteSeen } from './seen-descendants.js';

/** One reading of a process tree. */
export interface ResourceSample {
  /** Milliseconds since sampling started (monotonic clock). */
  readonly tMs: number;
  /** Sum of VmRSS over the processes of the tree, in KiB. */
  readonly rssKb: number;
  /** CPU-seconds (user + system) the tree used since sampling started, cumulative. */
  readonly cpuSeconds: number;
  /** processes in the tree */
  readonly processes: number;
}

/** What sampling a process tree found, from start to `stop()`. */
export interface ResourceSummary {
  /** Highest summed VmRSS over the samples, in KiB (the peak of the tree's total, not a sum of peaks). */
  readonly peakRssKb: number;
  /** Mean summed VmRSS over the samples, in KiB; samples are evenly spaced, so this is a time average. */
  readonly meanRssKb: number;
  /** CPU-seconds used by the tree during the sampling window (sum over processes of utime+stime deltas; processes that appear count from their first sight) */
  readonly cpuSeconds: number;
  /** Samples taken while at least one process of the tree was alive. */
  readonly samples: number;
  /** Every sample, oldest first. */
  readonly series: readonly ResourceSample[];
}

/** A process of the tree being sampled, with its /proc files held open (re-read at offset 0 each tick). */
interface TrackedProcess {
  readonly pid: number;
  /** `/proc/<pid>/stat`: state, CPU ticks, thread count. */
  readonly stat: FileHandle;
  /** `/proc/<pid>/statm`: resident pages, the same exact count as VmRSS in `status`, which costs more to generate. */
  readonly statm: FileHandle;
  /** `/proc/<pid>/task/<tid>/children` of each thread, by tid: a child belongs to the thread that forked it. */
  readonly tasks: Map<number, FileHandle>;
  /** num_threads at the last stat read. */
  threads: number;
  /** num_threads when the task list was last read; -1 before the first read. */
  tasksThreads: number;
  /** When the task list was last read, ms since sampling started. */
  tasksReadAtMs: number;
  /** utime+stime (clock ticks) that the window does not count: the value at first sight, or 0 if born in it. */
  readonly baseTicks: number;
  /** utime+stime at the last successful read. */
  lastTicks: number;
  /** VmRSS at the last read, KiB. */
  rssKb: number;
}

/** How often the tree is walked for new processes (one read per thread of every process: the costly part). */
const DISCOVERY_MS = 250;
/** How often a process's task list is re-read even if its thread count did not change (a thread replaced). */
const TASK_RELIST_MS = 1000;

/**
 * Samples RSS (VmRSS, summed over the tree) and CPU (utime+stime from /proc/<pid>/stat, clock ticks converted with
 * the real CLK_TCK: read it once via `getconf CLK_TCK`, default 100) of a process and all its descendants, every
 * intervalMs (default 50 = 20 Hz), until stop().
 *
 * The tree is the pid and its descendants, found through each thread's `children` file, recursively, every 250 ms
 * (every tick if intervalMs is longer); the processes found are read every tick. CPU: the processes alive at the
 * first sample (the root among them) count from that sample, so CPU spent before sampling is excluded; a process
 * found later counts from its birth if it was born during the window (so being found up to 250 ms late costs no
 * CPU), else from its first sight; a process that exits keeps what it used up to its last read. Not seen: a process
 * that lives between two walks of the tree, and descendants that left it (daemonised, reparented to init). Once
 * the root exits, sampling ends.
 *
 * Cost: per tick and process, one positional read each of the held stat and statm files (no open/close, no
 * shelling out); per walk, one read per thread; task lists are re-read only when the thread count changes, or
 * every second. Call `stop()`: it takes a final sample and closes the held files.
 */
export function sampleResources(pid: number, intervalMs = 50): { stop(): Promise<ResourceSummary> } {
  const startNs = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - startNs) / 1e6;
  const buf = Buffer.alloc(8192);
  const tracked = new Map<number, TrackedProcess>();
  const series: ResourceSample[] = [];
  let ticksPerSecond = 100;
  let pageKb = 4;
  /** Boot time of the window start, in clock ticks (processes with a later starttime were born in the window). */
  let windowStartTicks = Number.POSITIVE_INFINITY;
  /** CPU ticks counted for processes that left the tree. */
  let retiredTicks = 0;
  let tickNo = 0;
  let lastWalkMs = Number.NEGATIVE_INFINITY;
  let rootGone = false;
  let running = true;
  let failure: unknown = null;

  const retire = async (p: TrackedProcess): Promise<void> => {
    tracked.delete(p.pid);
    retiredTicks += p.lastTicks - p.baseTicks;
    await Promise.all([p.stat, p.statm, ...p.tasks.values()].map(closeQuietly));
  };

  const cpuTicks = (): number => {
    let total = retiredTicks;
    for (const p of tracked.values()) total += p.lastTicks - p.baseTicks;
    return total;
  };

  /** Reads a tracked process's CPU and memory; retires it and returns false if it exited. */
  const refresh = async (p: TrackedProcess): Promise<boolean> => {
    let fields: StatFields | null;
    try {
      fields = parseStat(await readAt0(p.stat, buf));
    } catch {
      fields = null; // ESRCH: the process exited (or its pid now names another process).
    }
    if (fields !== null) p.lastTicks = fields.ticks; // a zombie's times are final
    if (fields === null || fields.state === 'Z' || fields.state === 'X') {
      await retire(p);
      return false;
    }
    p.threads = fields.threads;
    try {
      p.rssKb = Number((await readAt0(p.statm, buf)).split(' ')[1]) * pageKb || 0;
    } catch {
      p.rssKb = 0;
    }
    return true;
  };

  /** Starts tracking a process found in the tree; null if it is gone or a zombie. */
  const track = async (child: number): Promise<TrackedProcess | null> => {
    let stat: FileHandle | null = null;
    let statm: FileHandle | null = null;
    try {
      stat = await open(`/proc/${child}/stat`, 'r');
      statm = await open(`/proc/${child}/statm`, 'r');
      const fields = parseStat(await readAt0(stat, buf));
      if (fields === null || fields.state === 'Z' || fields.state === 'X') throw new Error('not running');
      const bornInWindow = tickNo > 0 && fields.startTicks >= windowStartTicks;
      const p: TrackedProcess = {
        pid: child,
        stat,
        statm,
        tasks: new Map(),
        threads: fields.threads,
        tasksThreads: -1,
        tasksReadAtMs: 0,
        baseTicks: bornInWindow ? 0 : fields.ticks,
        lastTicks: fields.ticks,
        rssKb: 0,
      };
      tracked.set(child, p);
      noteSeen(pid, child, fields.startTicks);
      return (await refresh(p)) ? p : null;
    } catch {
      await Promise.all([stat, statm].filter((h) => h !== null).map(closeQuietly));
      return null;
    }
  };

  const refreshTasks = async (p: TrackedProcess): Promise<void> => {
    let tids: number[];
    try {
      tids = (await readdir(`/proc/${p.pid}/task`)).map(Number);
    } catch {
      return;
    }
    const keep = new Set(tids);
    for (const [tid, h] of p.tasks) {
      if (!keep.has(tid)) {
        p.tasks.delete(tid);
        await closeQuietly(h);
      }
    }
    for (const tid of tids) {
      if (p.tasks.has(tid)) continue;
      try {
        p.tasks.set(tid, await open(`/proc/${p.pid}/task/${tid}/children`, 'r'));
      } catch {
        // The thread exited meanwhile, or the kernel lacks CONFIG_PROC_CHILDREN.
      }
    }
    p.tasksThreads = p.threads;
    p.tasksReadAtMs = elapsedMs();
  };

  const childrenOf = async (p: TrackedProcess): Promise<number[]> => {
    if (p.threads !== p.tasksThreads || elapsedMs() - p.tasksReadAtMs >= TASK_RELIST_MS)
      await refreshTasks(p);
    const out: number[] = [];
    for (const h of p.tasks.values()) {
      let text: string;
      try {
        text = await readAt0(h, buf);
      } catch {
        continue;
      }
      for (const c of text.split(' ')) if (c.trim() !== '') out.push(Number(c));
    }
    return out;
  };

  /** Walks the tree from the root: refreshes the processes still in it, tracks new ones, retires the rest. */
  const walk = async (): Promise<void> => {
    lastWalkMs = elapsedMs();
    const seen = new Set<number>();
    const queue = [pid];
    for (let i = 0; i < queue.length && !rootGone; i++) {
      const current = queue[i] as number;
      if (seen.has(current)) continue;
      seen.add(current);
      let p = tracked.get(current) ?? null;
      if (p !== null && !(await refresh(p))) p = null;
      if (p === null) {
        // An exited root is not looked up again: its pid may now name a stranger.
        if (current === pid && tickNo > 0) rootGone = true;
        else p = await track(current); // new, or a child reusing the pid of one that exited
      }
      if (p !== null) queue.push(...(await childrenOf(p)));
    }
    for (const p of [...tracked.values()]) {
      if (rootGone || !seen.has(p.pid)) {
        // Left the tree (or the root is gone): count its CPU up to now, then stop following it.
        if (await refresh(p)) await retire(p);
      }
    }
  };

  const tick = async (): Promise<void> => {
    if (tickNo === 0) {
      [ticksPerSecond, pageKb] = await Promise.all([clockTicksPerSecond(), getconf('PAGESIZE', 4096)]);
      pageKb /= 1024;
      const uptime = Number((await readFile('/proc/uptime', 'utf8').catch(() => '')).split(' ')[0]);
      if (uptime > 0) windowStartTicks = Math.floor(uptime * ticksPerSecond);
    }
    if (rootGone) return;
    if (tickNo === 0 || elapsedMs() - lastWalkMs >= DISCOVERY_MS - intervalMs / 2) {
      await walk();
    } else {
      for (const p of [...tracked.values()]) {
        if (!(await refresh(p)) && p.pid === pid) rootGone = true;
      }
      if (rootGone) await walk(); // retires what is left
    }
    tickNo++;
    if (tracked.size > 0) {
      let rssKb = 0;
      for (const p of tracked.values()) rssKb += p.rssKb;
      series.push({
        tMs: elapsedMs(),
        rssKb,
        cpuSeconds: cpuTicks() / ticksPerSecond,
        processes: tracked.size,
      });
    }
  };

  const safeTick = (): Promise<void> =>
    tick().catch((e: unknown) => {
      failure ??= e;
    });

  // Fixed-rate schedule: sample n is due at n * intervalMs; a slow tick skips the slots it overran.
  let timer: NodeJS.Timeout | undefined;
  let slot = 0;
  const schedule = (): void => {
    if (!running) return;
    const now = elapsedMs();
    slot = Math.max(slot + 1, Math.ceil(now / intervalMs));
    timer = setTimeout(
      () => {
        pending = safeTick().then(schedule);
      },
      slot * intervalMs - now,
    );
    timer.unref();
  };
  let pending: Promise<void> = safeTick().then(schedule);

  return {
    stop: async () => {
      running = false;
      clearTimeout(timer);
      await pending;
      await safeTick();
      const cpuSeconds = cpuTicks() / ticksPerSecond;
      await Promise.all([...tracked.values()].map(retire));
      if (failure !== null) throw toError(failure);
      let peak = 0;
      let sum = 0;
      for (const s of series) {
        peak = Math.max(peak, s.rssKb);
        sum += s.rssKb;
      }
      return {
        peakRssKb: peak,
        meanRssKb: series.length > 0 ? sum / series.length : 0,
        cpuSeconds,
        samples: series.length,
        series,
      };
    },
  };
}
