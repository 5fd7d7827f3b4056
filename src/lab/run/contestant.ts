/**
 * ContestantProcess: a service under test (an HTTP server) as the lab starts, waits for, measures and stops it.
 * Owns the contestant's process group from spawn to the last SIGKILL: it spawns the command in a group of its own
 * (so workers and children are signalled with it), captures its output into a ring buffer for error messages,
 * polls its health URL and times spawn → first healthy answer (BENCHMARKING.md rule 6), and stops it with SIGTERM,
 * a grace period, then SIGKILL to the whole group. No contestant outlives the lab:
 *
 * - on any failure during `start`, the group is killed before the error is thrown;
 * - on the lab's normal exit or a crash (`process.on('exit')`, installed once on the first start), every group
 *   still running gets SIGKILL (`killAllContestants`);
 * - on SIGINT/SIGTERM the lab dies without an 'exit' event, and the contestants, in their own process groups, do
 *   not get the terminal's Ctrl-C: the CLI must handle those signals by awaiting `stopAllContestants()` and then
 *   exiting. This module installs no signal handlers itself, since that would change how the whole CLI exits;
 * - when the lab dies without running any code (SIGKILL, or a signal the CLI does not handle), the lifeline
 *   (src/process/lifeline.ts) sends the group SIGTERM, then SIGKILL 2 s later: each group is guarded from spawn
 *   until this module saw it end or sent it SIGKILL.
 *
 * Descendants that leave the process group (setsid, a daemon's double fork) escape the group's signals. `stop()`
 * looks for them among the processes of the contestant's tree: those seen by the resource sampler during the
 * measurements (proc-sampler.ts `descendantsSeen`) and those in the tree when the stop begins. Any of them still
 * running once the group is gone is SIGKILLed (its own group too, if it leads one) and reported in the stop
 * result (`escaped`), which the suites turn into a warning. A process that left the tree before anything
 * looked is not found: that is the one case left uncovered, and a lab killed with SIGKILL does not look.
 * Linux only: telling a running group member from a zombie reads /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ContestantError, toError } from '../../core/errors.js';
import { guardGroup, releaseGroup } from '../../process/lifeline.js';
import {
  descendantsSeen,
  forgetDescendants,
  processCommand,
  processStatus,
  processTree,
  type ProcessIdentity,
  type ProcessStatus,
} from '../proc-sampler.js';

/** How a contestant is started and checked, as a benchmark spec gives it. */
export interface ContestantSpec {
  /** Name in reports and error messages. */
  readonly name: string;
  /** argv, no shell (command[0] is looked up in PATH); absent when `url` is given (already running, managed elsewhere). */
  readonly command?: readonly string[];
  /** Environment variables merged over process.env; `{port}` in a value is replaced by the port. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory of the command (default: the lab's). */
  readonly cwd?: string;
  /** Port the service listens on; 'auto' picks a free port. The token {port} in command, env values and health URL is replaced by it. */
  readonly port?: number | 'auto';
  /** Base URL of an already-running service (no command): e.g. http://127.0.0.1:8080 */
  readonly url?: string;
  /**
   * Health check: URL (may contain {port}; default http://127.0.0.1:{port}/health), expected status (default 200),
   * timeout (default 30 s), poll interval (default 50 ms). For a `url` contestant, health is checked only when this
   * is given (default URL: `<url>/health`).
   */
  readonly health?: {
    readonly url?: string;
    readonly status?: number;
    readonly timeoutMs?: number;
    readonly intervalMs?: number;
  };
  /** Grace period between SIGTERM and SIGKILL (default 5000 ms). */
  readonly stopGraceMs?: number;
}

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

/** The warning for a stop that found escaped descendants, or null if there were none. */
export function escapeWarning(name: string, result: ContestantStopResult): string | null {
  if (result.escaped.length === 0) return null;
  const list = result.escaped.map((p) => `${p.pid} '${p.command.slice(0, 80)}'`).join(', ');
  return `${name} left ${result.escaped.length} process(es) running outside its process group after it stopped (${list}): they were killed. A contestant should not detach processes (setsid, daemonising); its figures may not cover them.`;
}

/** Options of `ContestantProcess.start`. */
export interface ContestantStartOptions {
  /** Called with each line the contestant writes (without the newline). Must not throw. */
  readonly onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
}

const DEFAULTS = {
  healthPath: '/health',
  healthStatus: 200,
  healthTimeoutMs: 30_000,
  healthIntervalMs: 50,
  /** Upper bound of one health request, so a server that accepts but never answers is retried. */
  healthAttemptMs: 2_000,
  stopGraceMs: 5_000,
  /** Lines kept in the ring buffer. */
  logLines: 200,
  /** Longest line kept; longer output without a newline is split. */
  logLineChars: 4_096,
  /** Lines of log put into an error. */
  errorLogLines: 20,
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
      try {
        const text = await readFile(`/proc/${pid}/stat`, 'latin1');
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
        // f[0] is the state, f[2] the process group (fields 3 and 5).
        return Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X' ? pid : null;
      } catch {
        return null;
      }
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

function installExitHandler(): void {
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
class ManagedGroup {
  readonly pid: number;
  readonly exited: Promise<ContestantExit>;
  /** Resolves when stdout and stderr have both ended (the whole group closed them). */
  readonly drained: Promise<void>;
  exit: ContestantExit | null = null;
  private readonly log = new LogRing(DEFAULTS.logLines);
  private stopping: Promise<ContestantStopResult> | null = null;
  private gone = false;

  constructor(
    child: ChildProcess & { readonly pid: number },
    private readonly graceMs: number,
    onLog: ContestantStartOptions['onLog'],
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
            while (partial.length > DEFAULTS.logLineChars) {
              emit(partial.slice(0, DEFAULTS.logLineChars));
              partial = partial.slice(DEFAULTS.logLineChars);
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
      Promise.all([this.exited, this.drained, this.waitGone(DEFAULTS.drainMs * 2)]),
      sleep(DEFAULTS.drainMs * 2),
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
        await this.waitGone(DEFAULTS.killWaitMs);
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
      await sleep(Math.min(DEFAULTS.groupPollMs, left));
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
  const deadline = performance.now() + DEFAULTS.escapeGraceMs;
  while (left.length > 0 && performance.now() < deadline) {
    await sleep(DEFAULTS.groupPollMs);
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
  const killDeadline = performance.now() + DEFAULTS.killWaitMs;
  while (left.length > 0 && performance.now() < killDeadline) {
    await sleep(DEFAULTS.groupPollMs);
    left = await runningOutside(pgid, left);
  }
  return escaped;
}

/** One health request's outcome: healthy (with the time the answer came), or why not. */
type HealthAttempt =
  | { readonly ok: true; readonly atNs: bigint }
  | { readonly ok: false; readonly why: string; readonly timedOut: boolean };

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

async function probeHealth(url: string, expected: number, timeoutMs: number): Promise<HealthAttempt> {
  const noAnswer = { ok: false, why: `no answer within ${seconds(timeoutMs)}`, timedOut: true } as const;
  try {
    const res = await request(url, {
      method: 'GET',
      reset: true,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const atNs = process.hrtime.bigint();
    await res.body.dump();
    return res.statusCode === expected
      ? { ok: true, atNs }
      : { ok: false, why: `status ${res.statusCode} (expected ${expected})`, timedOut: false };
  } catch (e) {
    const err = toError(e) as NodeJS.ErrnoException;
    switch (err.code) {
      case 'ECONNREFUSED':
        return { ok: false, why: 'connection refused', timedOut: false };
      case 'ECONNRESET':
      case 'UND_ERR_SOCKET':
        return { ok: false, why: 'connection closed without an answer', timedOut: false };
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return noAnswer;
      default:
        if (err.name === 'TimeoutError' || err.name === 'AbortError') return noAnswer;
        return { ok: false, why: err.message, timedOut: false };
    }
  }
}

/** A port nothing listens on now (the kernel's choice for port 0, on every address). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Whether binding the port on every address fails because something already uses it. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      // EACCES (a privileged port) is not "in use": the contestant may be allowed to bind it.
      resolve(e.code === 'EADDRINUSE');
    });
    server.listen({ port }, () => {
      server.close(() => {
        resolve(false);
      });
    });
  });
}

const NEVER = new Promise<never>(() => undefined);

/** A contestant that was started (or found running) and answered its health check. */
export class ContestantProcess {
  readonly name: string;
  /** http://127.0.0.1:<port> (or the spec url). */
  readonly baseUrl: string;
  /** Port the contestant listens on; null if unknown (a url contestant without a port in its URL). */
  readonly port: number | null;
  /** null for url contestants. */
  readonly pid: number | null;
  /** Spawn → first healthy answer, ms (hrtime-based). 0 for url contestants. */
  readonly spawnToHealthyMs: number;
  /** hrtime (bigint ns) at spawn, so callers can compute spawn → first correct response. */
  readonly spawnedAtNs: bigint;
  /** Resolves when the process exits (never for url contestants). */
  readonly exited: Promise<ContestantExit>;
  private readonly group: ManagedGroup | null;

  private constructor(fields: {
    name: string;
    baseUrl: string;
    port: number | null;
    spawnToHealthyMs: number;
    spawnedAtNs: bigint;
    group: ManagedGroup | null;
  }) {
    this.name = fields.name;
    this.baseUrl = fields.baseUrl;
    this.port = fields.port;
    this.pid = fields.group?.pid ?? null;
    this.spawnToHealthyMs = fields.spawnToHealthyMs;
    this.spawnedAtNs = fields.spawnedAtNs;
    this.group = fields.group;
    this.exited = fields.group?.exited ?? NEVER;
  }

  /**
   * Spawns (own process group: detached: true) and waits until healthy. Throws ContestantError (with the last log
   * lines) when: the command does not exist, the process exits before becoming healthy, a fixed port is already
   * taken before start, or health does not answer the expected status within the timeout. On any failure, the
   * process group is killed before throwing (no orphan). A `url` contestant is not spawned; its health is checked
   * only if `spec.health` is given.
   */
  static async start(spec: ContestantSpec, options: ContestantStartOptions = {}): Promise<ContestantProcess> {
    const fail = (detail: string, cause?: unknown): ContestantError =>
      new ContestantError(spec.name, detail, cause === undefined ? {} : { cause });
    const health = spec.health ?? {};
    const expected = health.status ?? DEFAULTS.healthStatus;
    const timeoutMs = health.timeoutMs ?? DEFAULTS.healthTimeoutMs;
    const intervalMs = health.intervalMs ?? DEFAULTS.healthIntervalMs;

    if (spec.url !== undefined) {
      if (spec.command !== undefined) throw fail('give either `command` or `url`, not both');
      let parsed: URL;
      try {
        parsed = new URL(spec.url);
      } catch (e) {
        throw fail(`url '${spec.url}' is not a valid URL`, e);
      }
      const baseUrl = spec.url.replace(/\/+$/, '');
      const port =
        parsed.port !== ''
          ? Number(parsed.port)
          : parsed.protocol === 'https:'
            ? 443
            : parsed.protocol === 'http:'
              ? 80
              : null;
      const startNs = process.hrtime.bigint();
      if (spec.health !== undefined) {
        const url = (health.url ?? `${baseUrl}${DEFAULTS.healthPath}`).replaceAll(
          '{port}',
          String(port ?? ''),
        );
        const outcome = await pollHealth(url, expected, timeoutMs, intervalMs, null);
        if (!outcome.ok) {
          throw fail(
            `did not become healthy within ${seconds(timeoutMs)}: last attempt: ${outcome.why} (GET ${url})`,
          );
        }
      }
      return new ContestantProcess({
        name: spec.name,
        baseUrl,
        port,
        spawnToHealthyMs: 0,
        spawnedAtNs: startNs,
        group: null,
      });
    }

    const command = spec.command;
    if (command === undefined || command.length === 0 || command[0] === '') {
      throw fail('no command to start: give `command` (argv) or the `url` of a running service');
    }

    let port: number | null = null;
    if (spec.port === 'auto') {
      port = await freePort();
    } else if (spec.port !== undefined) {
      if (!Number.isInteger(spec.port) || spec.port <= 0 || spec.port > 65535) {
        throw fail(`port ${spec.port} is not a valid TCP port: give 1-65535 or 'auto'`);
      }
      port = spec.port;
      if (await portInUse(port)) {
        throw fail(`port ${port} is already in use: stop what listens there or use port: 'auto'`);
      }
    }
    const usesPort = [...command, ...Object.values(spec.env ?? {}), health.url ?? ''].some((s) =>
      s.includes('{port}'),
    );
    if (port === null && (usesPort || health.url === undefined)) {
      throw fail(
        `no port: set \`port\` (a number or 'auto')${health.url === undefined ? ' or `health.url`' : ''}`,
      );
    }
    const fill = (s: string): string => (port === null ? s : s.replaceAll('{port}', String(port)));
    const argv = command.map(fill);
    const env: Record<string, string | undefined> = { ...process.env };
    for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = fill(v);
    const healthUrl = fill(health.url ?? `http://127.0.0.1:{port}${DEFAULTS.healthPath}`);
    const baseUrl = port !== null ? `http://127.0.0.1:${port}` : new URL(healthUrl).origin;
    const [file, ...args] = argv as [string, ...string[]];

    if (spec.cwd !== undefined) {
      const dir = await stat(spec.cwd).catch(() => null);
      if (dir === null || !dir.isDirectory()) throw fail(`working directory '${spec.cwd}' does not exist`);
    }

    installExitHandler();
    const spawnedAtNs = process.hrtime.bigint();
    const child = spawn(file, args, {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const spawned = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      child.once('spawn', () => {
        resolve(null);
      });
      child.once('error', (e: NodeJS.ErrnoException) => {
        resolve(e);
      });
    });
    if (spawned !== null || child.pid === undefined) {
      const code = spawned?.code ?? 'unknown error';
      const why =
        code === 'ENOENT'
          ? `command '${file}' not found (ENOENT): install it, give its full path, or fix PATH`
          : code === 'EACCES'
            ? `command '${file}' is not executable (EACCES)`
            : `could not start command '${file}' (${code}): ${spawned?.message ?? ''}`;
      throw fail(why, spawned ?? undefined);
    }
    guardGroup(child.pid);
    const group = new ManagedGroup(
      child as ChildProcess & { pid: number },
      spec.stopGraceMs ?? DEFAULTS.stopGraceMs,
      options.onLog,
    );

    let outcome: Awaited<ReturnType<typeof pollHealth>>;
    try {
      outcome = await pollHealth(healthUrl, expected, timeoutMs, intervalMs, group);
    } catch (e) {
      await group.kill();
      throw e;
    }
    if (!outcome.ok) {
      await group.kill();
      const exit = group.exit;
      const context = {
        exitCode: outcome.exited ? (exit?.code ?? null) : null,
        signal: outcome.exited ? (exit?.signal ?? null) : null,
        logTail: group.logTail(DEFAULTS.errorLogLines),
      };
      if (outcome.exited && exit !== null) {
        const how = exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
        throw new ContestantError(
          spec.name,
          `exited before becoming healthy (${how}): see its last log lines`,
          context,
        );
      }
      throw new ContestantError(
        spec.name,
        `did not become healthy within ${seconds(timeoutMs)}: last attempt: ${outcome.why} (GET ${healthUrl})`,
        context,
      );
    }
    return new ContestantProcess({
      name: spec.name,
      baseUrl,
      port,
      spawnToHealthyMs: Number(outcome.atNs - spawnedAtNs) / 1e6,
      spawnedAtNs,
      group,
    });
  }

  /** False once the process exited (or for url contestants: always true). */
  get alive(): boolean {
    return this.group === null || this.group.exit === null;
  }

  /** Set when the process has exited: code and signal. */
  get exit(): ContestantExit | null {
    return this.group?.exit ?? null;
  }

  /** The last n lines (default 20) of stdout and stderr interleaved, oldest first; from a ring of 200 lines. */
  logTail(n: number = DEFAULTS.errorLogLines): string[] {
    return this.group?.logTail(n) ?? [];
  }

  /**
   * SIGTERM to the whole process group, wait up to stopGraceMs for every process of it to end, then SIGKILL the
   * group; resolves with how the main process ended. Idempotent. For url contestants: no-op.
   */
  async stop(): Promise<ContestantStopResult> {
    if (this.group === null) return { code: null, signal: null, killed: false, escaped: [] };
    return this.group.stop();
  }
}

/**
 * Polls a health URL until it answers `expected`, the timeout passes, or the group's main process exits (checked
 * between and during attempts).
 */
async function pollHealth(
  url: string,
  expected: number,
  timeoutMs: number,
  intervalMs: number,
  group: ManagedGroup | null,
): Promise<{ ok: true; atNs: bigint } | { ok: false; exited: boolean; why: string }> {
  const deadline = performance.now() + timeoutMs;
  const exited = group?.exited.then(() => 'exited' as const) ?? NEVER;
  let why = 'no attempt made';
  for (;;) {
    if (group !== null && group.exit !== null) return { ok: false, exited: true, why };
    const left = deadline - performance.now();
    if (left <= 0) return { ok: false, exited: false, why };
    // Whole milliseconds (timers want integers), at least a few, at most one attempt's bound.
    const attemptMs = Math.min(Math.max(Math.ceil(left), 10), DEFAULTS.healthAttemptMs);
    const attempt = await Promise.race([probeHealth(url, expected, attemptMs), exited]);
    if (attempt === 'exited') return { ok: false, exited: true, why };
    if (attempt.ok) return attempt;
    // An attempt cut short by the deadline says less than the full answer before it ("status 503").
    const cutShort = attempt.timedOut && attemptMs < DEFAULTS.healthAttemptMs && why !== 'no attempt made';
    if (!cutShort) why = attempt.why;
    const wait = Math.min(intervalMs, deadline - performance.now());
    if (wait > 0) await Promise.race([sleep(wait), exited]);
  }
}
