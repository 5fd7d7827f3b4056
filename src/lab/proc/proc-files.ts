/**
 * What /proc says of one process, and how the lab's samplers read it: the process tree below a pid (through each
 * thread's `children` file), a process's lifetime status and command line, the fields of `stat` the resource
 * sampler uses (parsed by process/proc-stat.ts), positional re-reads of held /proc files, and system settings
 * from `getconf` (CLK_TCK, PAGESIZE). Linux only.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, type FileHandle } from 'node:fs/promises';
import { parseProcStat, type ProcStat } from '../../process/proc-stat.js';

/** Pids of a process and all its descendants. */
export async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    try {
      for (const task of await readdir(`/proc/${p}/task`)) {
        const children = await readFile(`/proc/${p}/task/${task}/children`, 'utf8').catch(() => '');
        for (const c of children.split(' ')) if (c.trim() !== '') out.push(Number(c));
      }
    } catch {
      // The process exited meanwhile.
    }
  }
  return out;
}

/** A process as identified in /proc: its pid, and its start time, which tells it from a later process that reuses the pid. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Start time after boot, clock ticks (field 22 of /proc/<pid>/stat). */
  readonly startTicks: number;
}

/** What /proc/<pid>/stat says of a process that concerns its lifetime: state, group, start time. */
export interface ProcessStatus extends ProcessIdentity {
  /** State letter: R, S, D, Z (zombie), ... */
  readonly state: string;
  /** Process group id. */
  readonly pgid: number;
}

/** The status of a process, or null if it is gone. */
export async function processStatus(pid: number): Promise<ProcessStatus | null> {
  const stat = parseProcStat(await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => ''));
  if (stat === null || !Number.isInteger(stat.pgid) || !Number.isInteger(stat.startTicks)) return null;
  return { pid, state: stat.state, pgid: stat.pgid, startTicks: stat.startTicks };
}

/** The command line of a process, arguments joined by spaces ('' if gone or a kernel thread). */
export async function processCommand(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return raw.replace(/\0+$/, '').replaceAll('\0', ' ');
}

const confValues = new Map<string, Promise<number>>();

/** A positive integer system setting from `getconf`, run once per name; `fallback` if that fails. */
export function getconf(name: string, fallback: number): Promise<number> {
  let value = confValues.get(name);
  if (value === undefined) {
    value = new Promise((resolve) => {
      execFile('getconf', [name], { timeout: 5000 }, (error, stdout) => {
        const n = Number(stdout.trim());
        resolve(error === null && Number.isInteger(n) && n > 0 ? n : fallback);
      });
    });
    confValues.set(name, value);
  }
  return value;
}

/** Clock ticks per second that /proc reports CPU times in (USER_HZ): `getconf CLK_TCK`, run once; 100 if it fails. */
export function clockTicksPerSecond(): Promise<number> {
  return getconf('CLK_TCK', 100);
}

/** The fields of /proc/<pid>/stat the sampler uses. */
export type StatFields = Pick<ProcStat, 'state' | 'ticks' | 'threads' | 'startTicks'>;

/** The sampler's fields of a /proc/<pid>/stat text; null if it is not one or a field is not a number. */
export function parseStat(text: string): StatFields | null {
  const stat = parseProcStat(text);
  if (stat === null) return null;
  const { state, ticks, threads, startTicks } = stat;
  if (!Number.isFinite(ticks) || !Number.isFinite(threads) || !Number.isFinite(startTicks)) return null;
  return { state, ticks, threads, startTicks };
}

/** Reads a held /proc file from the start (the kernel regenerates it on each read at offset 0). */
export async function readAt0(handle: FileHandle, buf: Buffer): Promise<string> {
  let text = '';
  let pos = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
    text += buf.toString('latin1', 0, bytesRead);
    pos += bytesRead;
    if (bytesRead < buf.length) return text;
  }
}

export async function closeQuietly(handle: FileHandle): Promise<void> {
  try {
    await handle.close();
  } catch {
    // Already closed: nothing to release.
  }
}
