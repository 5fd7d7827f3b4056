/**
 * Every process `sampleResources` saw in the tree of a contestant, remembered by root pid (pid and start time), so
 * that when a contestant is stopped, a descendant that left its process group (setsid, a daemon's double fork),
 * which the group's SIGKILL misses, can still be found, killed and reported (lab/run/process-group.ts).
 */
import type { ProcessIdentity } from './proc-files.js';

/** Every process `sampleResources` saw in the tree of a root pid, by root: pid → start time. */
const seenByRoot = new Map<number, Map<number, number>>();

/** Remembers that `pid` (started at `startTicks`) was seen in the tree of `root`. */
export function noteSeen(root: number, pid: number, startTicks: number): void {
  let seen = seenByRoot.get(root);
  if (seen === undefined) {
    seen = new Map();
    seenByRoot.set(root, seen);
  }
  seen.set(pid, startTicks);
}

/** Every process seen in the tree of `root` by `sampleResources` since the last `forgetDescendants(root)`. */
export function descendantsSeen(root: number): ProcessIdentity[] {
  return [...(seenByRoot.get(root) ?? [])].map(([pid, startTicks]) => ({ pid, startTicks }));
}

/** Drops what was remembered of `root`'s tree (once it was stopped: its pid may be reused). */
export function forgetDescendants(root: number): void {
  seenByRoot.delete(root);
}
