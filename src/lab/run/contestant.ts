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
 * measurements (proc/seen-descendants.ts) and those in the tree when the stop begins. Any of them still
 * running once the group is gone is SIGKILLed (its own group too, if it leads one) and reported in the stop
 * result (`escaped`), which the suites turn into a warning. A process that left the tree before anything
 * looked is not found: that is the one case left uncovered, and a lab killed with SIGKILL does not look.
 * Linux only: telling a running group member from a zombie reads /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { ContestantError } from '../../core/errors.js';
import { guardGroup } from '../../process/lifeline.js';
import { freePort, pollHealth, portInUse, seconds } from './health.js';
import {
  installExitHandler,
  ManagedGroup,
  type ContestantExit,
  type ContestantStopResult,
} from './process-group.js';

export {
  killAllContestants,
  stopAllContestants,
  type ContestantExit,
  type ContestantStopResult,
  type EscapedProcess,
} from './process-group.js';

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
  stopGraceMs: 5_000,
  /** Lines of log put into an error. */
  errorLogLines: 20,
} as const;

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
