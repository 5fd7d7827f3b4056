/**
 * A process's /proc/<pid>/stat (Linux), parsed in one place: its state, parent, process group, CPU time, thread
 * count and start time. The fields are read after the last `)`, since the command name before it may itself hold
 * spaces and parentheses. Used to tell whether a process still runs (a zombie waiting to be reaped does not),
 * which group it is in, which process it is (pid and start time, as pids are reused) and, by the lab's resource
 * sampler, how much CPU it has used.
 */
import { readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat that pitlane reads (NaN where the text does not hold a number). */
export interface ProcStat {
  /** One letter (field 3): R running, S sleeping, D disk sleep, ..., Z zombie, X dead; '?' if missing. */
  readonly state: string;
  /** The parent's pid (field 4). */
  readonly ppid: number;
  /** The process group id (field 5). */
  readonly pgid: number;
  /** CPU time in user and kernel mode, utime + stime (fields 14 and 15), clock ticks. */
  readonly ticks: number;
  /** The number of threads (field 20). */
  readonly threads: number;
  /** Start time after boot (field 22), clock ticks: with the pid, it tells a process from a later one that
   * reuses the pid. */
  readonly startTicks: number;
}

/** The fields of the text of a /proc/<pid>/stat file; null if it is not one (no `)` after the command name). */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // f[0] is field 3 of proc(5), so field n is f[n - 3].
  const f = text.slice(close + 2).split(' ');
  return {
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    ticks: Number(f[11]) + Number(f[12]),
    threads: Number(f[17]),
    startTicks: Number(f[19]),
  };
}

/** The stat fields of a process, or null when it is gone (or /proc cannot be read). */
export function readProcStat(pid: number | string): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  return parseProcStat(text);
}

/** Whether a process is running: it exists and is neither a zombie nor dead. */
export function isRunning(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}
