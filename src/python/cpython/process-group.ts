/**
 * The process group a CPython worker leads: whether the node's code left a subprocess running in it, read from
 * /proc (a worker with one is not kept idle for reuse: it is killed with its group).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Whether anything besides the process `leader` lives in its process group (zombies do not count). */
export function groupHasOthers(leader: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === leader) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === leader && fields[0] !== 'Z') return true;
    } catch {
      // The process ended meanwhile.
    }
  }
  return false;
}
