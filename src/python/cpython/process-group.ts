/**
 * The process group a CPython worker leads: whether the node's code left a subprocess running in it, read from
 * /proc (a worker with one is not kept idle for reuse: it is killed with its group).
 */
import { readdirSync } from 'node:fs';
import { readProcStat } from '../../process/proc-stat.js';

/** Whether anything besides the process `leader` lives in its process group (zombies do not count). */
export function groupHasOthers(leader: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === leader) continue;
    const stat = readProcStat(entry); // null: the process ended meanwhile
    if (stat !== null && stat.pgid === leader && stat.state !== 'Z') return true;
  }
  return false;
}
