/**
 * A suite's ceiling: a command measured once (typically the engine itself in a raw loop, no server) whose
 * figures are shown beside the contestants' as the limit they approach. It is never a contestant: it is not
 * loaded over HTTP, not compared for correctness, and its output is its own claim, read from the JSON it prints
 * (the last JSON object on stdout) at the JSON paths the suite names.
 *
 * The command runs in a process group of its own, under the lifeline (src/process/lifeline.ts): its timeout and
 * an abort end the whole group, whatever the command left behind is SIGKILLed when it exits, and nothing of it
 * outlives the lab, even a lab killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { guardGroup, releaseGroup } from '../../../process/lifeline.js';
import { parseJsonPath, selectPath } from '../../json-path.js';
import type { SuiteCeiling } from './suite.js';

export interface CeilingResult {
  readonly name: string;
  readonly description: string;
  /** The command line, for reports. */
  readonly how: string;
  /** Figures by scenario name (null: not given or not found). */
  readonly scenarios: Readonly<
    Record<string, { readonly throughput_per_s: number | null; readonly p50_ms: number | null }>
  >;
  /** Everything it printed as JSON, kept in the results. */
  readonly output: unknown;
  /** Why it gave no figures (null: it ran). */
  readonly failure: string | null;
}

/** Runs the ceiling command to completion (or its timeout) and reads its figures. Never throws. */
export async function runCeiling(ceiling: SuiteCeiling, signal?: AbortSignal): Promise<CeilingResult> {
  const how = ceiling.command.join(' ');
  const base = { name: ceiling.name, description: ceiling.description, how };
  const run = await runJsonCommand(ceiling.command, {
    cwd: ceiling.cwd,
    env: ceiling.env,
    timeoutMs: ceiling.timeoutMs,
    ...(signal !== undefined ? { signal } : {}),
  });
  if (!run.ok) return { ...base, scenarios: {}, output: null, failure: run.failure };
  const scenarios: Record<string, { throughput_per_s: number | null; p50_ms: number | null }> = {};
  for (const [name, m] of ceiling.scenarios) {
    scenarios[name] = {
      throughput_per_s: numberAt(run.output, m.throughput),
      p50_ms: numberAt(run.output, m.p50Ms),
    };
  }
  return { ...base, scenarios, output: run.output, failure: null };
}

/**
 * Runs a command that prints one JSON object on stdout (the last JSON object is taken; log lines around it are
 * fine) to completion or its timeout. Never throws: a failure names the exit code and the last stderr lines.
 */
export async function runJsonCommand(
  command: readonly string[],
  options: {
    readonly cwd: string;
    readonly env?: Readonly<Record<string, string>>;
    readonly timeoutMs: number;
    readonly signal?: AbortSignal;
  },
): Promise<{ ok: true; output: unknown } | { ok: false; failure: string }> {
  const [cmd, ...args] = command as [string, ...string[]];
  const { signal } = options;
  const { code, stdout, stderr, timedOut } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
  }>((resolve) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pgid = child.pid;
    if (pgid !== undefined) guardGroup(pgid);
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (pgid === undefined) return;
      try {
        process.kill(-pgid, signal);
      } catch {
        // ESRCH: the group is gone.
      }
      if (signal === 'SIGKILL') releaseGroup(pgid);
    };
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGKILL');
    }, options.timeoutMs);
    const onAbort = (): void => {
      signalGroup('SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: '', stderr: e.message, timedOut: false });
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      signalGroup('SIGKILL'); // whatever it left running
      resolve({
        code: exitCode,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
  });
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  if (timedOut) return { ok: false, failure: `timed out after ${options.timeoutMs / 1000} s` };
  if (code !== 0)
    return { ok: false, failure: `exited with code ${String(code)}${tail !== '' ? `: ${tail}` : ''}` };
  const output = lastJsonObject(stdout);
  if (output === undefined) return { ok: false, failure: 'printed no JSON object on stdout' };
  return { ok: true, output };
}

function lastJsonObject(stdout: string): unknown {
  const whole = stdout.trim();
  try {
    return JSON.parse(whole) as unknown;
  } catch {
    for (const line of whole.split('\n').reverse()) {
      try {
        const v = JSON.parse(line) as unknown;
        if (typeof v === 'object' && v !== null) return v;
      } catch {
        // Not JSON: a log line.
      }
    }
  }
  return undefined;
}

function numberAt(output: unknown, path: string | undefined): number | null {
  if (path === undefined) return null;
  const parsed = parseJsonPath(path);
  if (typeof parsed === 'string') return null;
  const [v] = selectPath(output, parsed);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
