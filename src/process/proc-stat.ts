/**
 * A process's state and process group from /proc/<pid>/stat (Linux). The fields are read after the last `)`,
 * since the command name before it may itself hold spaces and parentheses. Used to tell whether a process still
 * runs (a zombie waiting to be reaped does not) and which group it is in.
 */
import { readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat that pitlane reads. */
export interface ProcStat {
  /** One letter: R running, S sleeping, ..., Z zombie, X dead. */
  readonly state: string;
  /** The process group id. */
  readonly pgid: number;
}

/** The state and process group of a process, or null when it is gone (or /proc cannot be read). */
export function readProcStat(pid: number | string): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // After the command name: state, ppid, pgrp, ... (fields 3, 4, 5 of proc(5)).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgid: Number(fields[2]) };
}

/** Whether a process is running: it exists and is neither a zombie nor dead. */
export function isRunning(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}
