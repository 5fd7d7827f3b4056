/**
 * The lifeline: every process group pitlane starts (contestants, shared services, CPython workers, ceilings,
 * the pipelines suite's commands) ends within seconds when pitlane dies, by any means, SIGKILL included.
 *
 * pitlane runs no code after SIGKILL, so something else must notice. The kernel offers PR_SET_PDEATHSIG, but Node
 * cannot set it on a spawned child, and it would reach only the direct child, not the group. So each pitlane
 * process (each thread that uses this module) starts one watchdog on first use: a POSIX `sh` script (about 1 MB
 * RSS), in a session and process group of its own, so a signal to pitlane's group or a contestant's group never
 * reaches it and it is in no contestant's process tree. It reads lines from a pipe on its stdin: `+PGID`
 * registers a group, `-PGID` forgets it (sent once pitlane has ended the group itself, so a pgid the kernel later
 * gives to a stranger is never signalled). The write end lives only in pitlane (libuv opens it close-on-exec and
 * no child is given it), so EOF on that pipe means pitlane is gone; the watchdog then sends SIGTERM to every
 * registered group, waits up to GRACE for them to end, SIGKILLs what is left, and exits. While pitlane runs,
 * the watchdog costs nothing: it sleeps in read(2).
 *
 * A pgid stays allocated while any process (zombies included) is in the group, so it cannot name another group
 * until the last member is reaped; pitlane forgets a group right after it SIGKILLed it or saw it end.
 *
 * Its own layer (`src/process/`), not `core/` (which has no side effects) nor `lab/` or `python/`: both the lab
 * (contestants, ceilings, suites) and the CPython runtime use it, and neither may import the other's layer.
 * Linux and other POSIX systems with `/bin/sh`; if the watchdog cannot start, pitlane runs as before (the
 * process groups are still killed on a normal exit), only without protection against SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Seconds between the watchdog's SIGTERM and its SIGKILL, in tenths (the script polls every 0.1 s). */
const GRACE_TENTHS = 20;

/**
 * The watchdog. $1: grace in tenths of a second. Only pgids > 1 that are not its own are accepted: `kill -TERM -1`
 * would signal every process the user may signal. `kill -0 -PGID` succeeds while the group has any member, zombies
 * included, so a group of zombies costs the whole grace period before the (harmless) SIGKILL.
 */
const WATCHDOG_SCRIPT = `
trap '' INT HUP QUIT PIPE
grace=$1
groups=' '
while IFS= read -r line; do
  n=\${line#?}
  case $n in ''|0*|*[!0-9]*) continue ;; esac
  if [ "$n" -le 1 ] || [ "$n" = "$$" ]; then continue; fi
  case $line in
    +*) case $groups in *" $n "*) ;; *) groups="$groups$n " ;; esac ;;
    -*) case $groups in *" $n "*) groups="\${groups%% $n *} \${groups#* $n }" ;; esac ;;
  esac
done
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
while [ "$grace" -gt 0 ]; do
  alive=
  for g in $groups; do kill -0 "-$g" 2>/dev/null && alive="$alive $g"; done
  [ -n "$alive" ] || exit 0
  groups=$alive
  sleep 0.1
  grace=$((grace - 1))
done
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
`;

/** The name the watchdog shows in `ps` ($0 of the script). */
export const WATCHDOG_NAME = 'pitlane-lifeline';

/** Groups under the lifeline, to hand to a new watchdog if the current one died. */
const guarded = new Set<number>();
let watchdog: ChildProcess | null = null;
/** Watchdogs that ended while pitlane ran (killed by someone): after a few, pitlane stops starting new ones. */
let restarts = 0;
const MAX_RESTARTS = 3;

function startWatchdog(): ChildProcess | null {
  if (restarts > MAX_RESTARTS) return null;
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, WATCHDOG_NAME, String(GRACE_TENTHS)], {
      cwd: '/',
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    restarts = MAX_RESTARTS + 1;
    return null;
  }
  // Neither the watchdog nor its pipe keeps pitlane's event loop alive.
  child.unref();
  (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  child.stdin?.on('error', () => undefined); // EPIPE: it died; 'exit' below starts another
  child.once('error', () => {
    // ENOENT (no /bin/sh): pitlane runs without the lifeline.
    if (watchdog === child) watchdog = null;
    restarts = MAX_RESTARTS + 1;
  });
  child.once('exit', () => {
    if (watchdog !== child) return;
    watchdog = null;
    restarts++;
    if (guarded.size > 0) watchdog = startWatchdog();
  });
  // The groups already guarded (none on first use) go to the new watchdog first.
  if (guarded.size > 0) child.stdin?.write([...guarded].map((g) => `+${g}\n`).join(''));
  return child;
}

function send(line: string): void {
  watchdog?.stdin?.write(line);
}

function checkPgid(pgid: number): void {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) {
    throw new RangeError(`lifeline: ${pgid} is not a process group id (an integer > 1)`);
  }
}

/**
 * Puts a process group under the lifeline: if pitlane dies before `releaseGroup(pgid)`, by any signal, the group
 * gets SIGTERM, then SIGKILL after 2 s. Call right after spawning the group's leader (`detached: true`, so its
 * pid is the pgid).
 */
export function guardGroup(pgid: number): void {
  checkPgid(pgid);
  if (guarded.has(pgid)) return;
  guarded.add(pgid);
  if (watchdog === null)
    watchdog = startWatchdog(); // sends every guarded group, this one included
  else send(`+${pgid}\n`);
}

/**
 * Takes a group off the lifeline: call once pitlane has ended the group itself (saw it empty, or sent it the
 * final SIGKILL), so that its pgid, once free, is never signalled. Synchronous: safe in `process.on('exit')`.
 */
export function releaseGroup(pgid: number): void {
  if (!guarded.delete(pgid)) return;
  send(`-${pgid}\n`);
}

/** The watchdog's pid (null before the first `guardGroup`, or if it could not start): for tests and diagnostics. */
export function watchdogPid(): number | null {
  return watchdog?.pid ?? null;
}
