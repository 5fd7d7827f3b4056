/**
 * The process group of a started contestant (or shared service): spawned as the leader of a group of its own, its
 * output captured in a ring buffer, its exit observed, stopped with SIGTERM, a grace period, then SIGKILL to the
 * whole group, and its descendants that left the group (setsid, daemonising) found and killed. Also the lab-wide
 * list of live groups behind `killAllContestants` and `stopAllContestants`. ContestantProcess (contestant.ts) is
 * the only user; see its header for how nothing outlives the lab.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { releaseGroup } from '../../process/lifeline.js';
import {
  processCommand,
  processStatus,
  processTree,
  type ProcessIdentity,
  type ProcessStatus,
} from '../proc/proc-files.js';
import { descendantsSeen, forgetDescendants } from '../proc/seen-descendants.js';

/** How a process ended: exit code, or the signal that ended it. */
export interface ContestantExit {
  /** Exit code, or null if a signal ended the process. */
  readonly code: number | null;
  /** Signal that ended the process, or null if it exited with a code. */
  readonly signal: NodeJS.Signals | null;
}

/** A descendant of a contestant that had left its process group and outlived it. */
export interface EscapedProcess {
  readonly pid: number;
  /** Its command line, for the report. */
  readonly command: string;
}

/** How `stop()` ended a contestant. */
export interface ContestantStopResult extends ContestantExit {
  /** True if something in the group outlived the grace period and was SIGKILLed. */
  readonly killed: boolean;
  /** Descendants that had left the group (setsid, daemonised) and still ran when it ended: they were SIGKILLed. */
  readonly escaped: readonly EscapedProcess[];
}

const GROUP_DEFAULTS = {
  /** Lines kept in the ring buffer. */
  logLines: 200,
  /** Longest line kept; longer output without a newline is split. */
  logLineChars: 4_096,
  /** How often `stop()` checks whether the group is gone. */
  groupPollMs: 20,
  /** How long `stop()` waits for the group to vanish after SIGKILL. */
  killWaitMs: 5_000,
  /** How long to wait for the output pipes to drain after the process died, for complete error messages. */
  drainMs: 1_000,
  /** How long descendants outside the group may take to end on their own once the group is gone. */
  escapeGraceMs: 3_000,
} as const;

/** Ring buffer of the contestant's output lines, stdout and stderr interleaved in arrival order. */
class LogRing {
  private readonly lines: string[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}

  push(line: string): void {
    if (this.lines.length < this.capacity) this.lines.push(line);
    else this.lines[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  last(n: number): string[] {
    const ordered =
      this.lines.length < this.capacity
        ? this.lines
        : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return n <= 0 ? [] : ordered.slice(-n);
  }
}

/** Whether a signal to a process group can reach anything: ESRCH means the group is empty. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Pids of the group's running processes, from /proc (all of /proc, or only the pids `among`). Zombies do not count:
 * an orphan that died stays a zombie until init reaps it, which some container inits do only every second or so.
 */
async function runningMembers(pgid: number, among?: readonly number[]): Promise<number[]> {
  if (!groupExists(pgid)) return [];
  const pids = among ?? (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const members = await Promise.all(
    pids.map(async (pid) => {
      const status = await processStatus(pid);
      return status !== null && status.pgid === pgid && status.state !== 'Z' && status.state !== 'X'
        ? pid
        : null;
    }),
  );
  return members.filter((pid) => pid !== null);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Every process group this module started and has not yet seen end. */
const liveGroups = new Set<ManagedGroup>();
let exitHandlerInstalled = false;

export function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', killAllContestants);
}

/** Kills (SIGKILL) every process group still running that this module started. Synchronous: safe in process.on('exit'). */
export function killAllContestants(): void {
  for (const group of liveGroups) group.killNow();
}

/**
 * Stops every contestant still running (SIGTERM, grace period, SIGKILL), in parallel. For the CLI's SIGINT and
 * SIGTERM handlers: `process.once('SIGINT', () => void stopAllContestants().finally(() => process.exit(130)))`.
 */
export async function stopAllContestants(): Promise<void> {
  await Promise.all([...liveGroups].map((group) => group.stop()));
}

/** A spawned command, leader of its own process group, with its output captured and its exit observed. */
export class ManagedGroup {
  readonly pid: number;
  readonly exited: Promise<ContestantExit>;
  /** Resolves when stdout and stderr have both ended (the whole group closed them). */
  readonly drained: Promise<void>;
  exit: ContestantExit | null = null;
  private readonly log = new LogRing(GROUP_DEFAULTS.logLines);
  private stopping: Promise<ContestantStopResult> | null = null;
  private gone = false;

  constructor(
    child: ChildProcess & { readonly pid: number },
    private readonly graceMs: number,
    onLog: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined,
  ) {
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
        // If nothing else of the group is left, forget it now (its pid may be reused later).
        if (!groupExists(this.pid)) this.forget();
      });
    });
    const streams = (['stdout', 'stderr'] as const).map(
      (name) =>
        new Promise<void>((resolve) => {
          const stream = child[name];
          if (stream === null) {
            resolve();
            return;
          }
          let partial = '';
          const emit = (line: string): void => {
            this.log.push(line);
            onLog?.(line, name);
          };
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => {
            const parts = (partial + chunk).split('\n');
            partial = parts.pop() ?? '';
            for (const part of parts) emit(part.endsWith('\r') ? part.slice(0, -1) : part);
            while (partial.length > GROUP_DEFAULTS.logLineChars) {
              emit(partial.slice(0, GROUP_DEFAULTS.logLineChars));
              partial = partial.slice(GROUP_DEFAULTS.logLineChars);
            }
          });
          stream.once('close', () => {
            if (partial !== '') emit(partial);
            partial = '';
            resolve();
          });
        }),
    );
    this.drained = Promise.all(streams).then(() => undefined);
    // Errors after a successful spawn (e.g. a failed kill) must not crash the lab.
    child.on('error', () => undefined);
    liveGroups.add(this);
  }

  logTail(n: number): string[] {
    return this.log.last(n);
  }

  /** SIGKILL to the group, synchronously, unless it is known to be gone. */
  killNow(): void {
    if (this.gone) return;
    signalGroup(this.pid, 'SIGKILL');
    releaseGroup(this.pid);
  }

  /** Kills the group and waits (bounded) until it is gone and its output drained: for failures during start. */
  async kill(): Promise<void> {
    this.killNow();
    await Promise.race([
      Promise.all([this.exited, this.drained, this.waitGone(GROUP_DEFAULTS.drainMs * 2)]),
      sleep(GROUP_DEFAULTS.drainMs * 2),
    ]);
    if ((await runningMembers(this.pid)).length === 0) this.forget();
    forgetDescendants(this.pid);
  }

  stop(): Promise<ContestantStopResult> {
    this.stopping ??= this.stopGroup();
    return this.stopping;
  }

  private async stopGroup(): Promise<ContestantStopResult> {
    let killed = false;
    const tree = await this.treeSnapshot();
    if (!this.gone && (await runningMembers(this.pid)).length > 0) {
      signalGroup(this.pid, 'SIGTERM');
      if (!(await this.waitGone(this.graceMs))) {
        signalGroup(this.pid, 'SIGKILL');
        killed = true;
        // Bounded: a process stuck in the kernel (state D) dies only when its system call returns.
        await this.waitGone(GROUP_DEFAULTS.killWaitMs);
      }
    }
    const exit = await this.exited;
    this.forget();
    const escaped = await endEscaped(this.pid, tree);
    forgetDescendants(this.pid);
    return { ...exit, killed, escaped };
  }

  /** The processes of the contestant's tree: those the sampler saw, and those in it now. */
  private async treeSnapshot(): Promise<ProcessIdentity[]> {
    const now = this.gone ? [] : await processTree(this.pid);
    const statuses = await Promise.all(now.map(processStatus));
    const seen = new Map(descendantsSeen(this.pid).map((p) => [p.pid, p.startTicks]));
    for (const s of statuses) if (s !== null) seen.set(s.pid, s.startTicks);
    seen.delete(this.pid);
    return [...seen].map(([pid, startTicks]) => ({ pid, startTicks }));
  }

  /** Polls until nothing of the group is running; false if `ms` passed first. */
  private async waitGone(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    let members = await runningMembers(this.pid);
    for (;;) {
      if (members.length === 0) {
        // The known members ended: a full scan confirms that nothing new joined the group meanwhile.
        members = await runningMembers(this.pid);
        if (members.length === 0) return true;
      }
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await sleep(Math.min(GROUP_DEFAULTS.groupPollMs, left));
      members = await runningMembers(this.pid, members);
    }
  }

  private forget(): void {
    this.gone = true;
    liveGroups.delete(this);
    releaseGroup(this.pid);
  }
}

/** The processes of `tree` that still run (the same processes: same start time) outside the group `pgid`. */
async function runningOutside(pgid: number, tree: readonly ProcessIdentity[]): Promise<ProcessStatus[]> {
  const statuses = await Promise.all(tree.map((p) => processStatus(p.pid)));
  return statuses.filter(
    (now, i): now is ProcessStatus =>
      now !== null &&
      now.startTicks === tree[i]?.startTicks &&
      now.state !== 'Z' &&
      now.state !== 'X' &&
      now.pgid !== pgid,
  );
}

/**
 * Once the group `pgid` is gone: the processes of `tree` still running outside it get `escapeGraceMs` to end on
 * their own (a descendant that is itself shutting down, such as another pitlane's lifeline watchdog), then are
 * SIGKILLed, with their own groups when they lead one. Returns those it killed.
 */
async function endEscaped(pgid: number, tree: readonly ProcessIdentity[]): Promise<EscapedProcess[]> {
  let left = await runningOutside(pgid, tree);
  const deadline = performance.now() + GROUP_DEFAULTS.escapeGraceMs;
  while (left.length > 0 && performance.now() < deadline) {
    await sleep(GROUP_DEFAULTS.groupPollMs);
    left = await runningOutside(pgid, left);
  }
  const escaped: EscapedProcess[] = [];
  for (const p of left) {
    const command = await processCommand(p.pid);
    if (p.pgid === p.pid) signalGroup(p.pid, 'SIGKILL');
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Ended meanwhile.
    }
    escaped.push({ pid: p.pid, command });
  }
  // Bounded, like the group's SIGKILL: a process stuck in the kernel dies only when its system call returns.
  const killDeadline = performance.now() + GROUP_DEFAULTS.killWaitMs;
  while (left.length > 0 && performance.now() < killDeadline) {
    await sleep(GROUP_DEFAULTS.groupPollMs);
    left = await runningOutside(pgid, left);
  }
  return escaped;
}
