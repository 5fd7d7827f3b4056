/**
 * One-shot commands the lab runs to completion, as opposed to the long-running contestants of contestant.ts: a
 * command that prints JSON (ceilings, preprocessing probes) and a timed process (the pipelines kind's runs). Each
 * runs in a process group of its own, under the lifeline (src/process/lifeline.ts): a timeout or an abort ends
 * the whole group, whatever the command left behind is SIGKILLed when it exits, and nothing of it outlives the
 * lab, even a lab killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { BenchError } from '../../core/errors.js';
import { guardGroup, releaseGroup } from '../../process/lifeline.js';
import { sampleMemory } from '../proc/memory-sampler.js';

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

export interface ProcessOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly firstLineNs: number | null;
  readonly totalNs: number;
  readonly peakRssKb: number;
}

/**
 * Spawns a command in a process group of its own, optionally feeding a file on stdin, and times its first stdout
 * line and its exit (the pipelines kind's cold starts and streams); what it left running is SIGKILLed at exit.
 */
export function runTimedProcess(
  cmd: string,
  args: readonly string[],
  opts: { cwd: string; stdinFile?: string; sampleMemory?: boolean },
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd, detached: true });
    const pgid = child.pid;
    if (pgid !== undefined) guardGroup(pgid);
    const memory = opts.sampleMemory === true && child.pid !== undefined ? sampleMemory(child.pid, 20) : null;
    let firstLineNs: number | null = null;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => {
      if (firstLineNs === null && b.includes(10)) firstLineNs = Number(process.hrtime.bigint() - started);
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new BenchError(`could not start ${cmd}: ${e.message}`, { cause: e })));
    if (opts.stdinFile !== undefined) {
      void readFile(opts.stdinFile).then((data) => child.stdin.end(data));
    } else {
      child.stdin.end();
    }
    child.on('close', (code) => {
      const totalNs = Number(process.hrtime.bigint() - started);
      if (pgid !== undefined) {
        try {
          process.kill(-pgid, 'SIGKILL'); // whatever it left running
        } catch {
          // ESRCH: nothing left.
        }
        releaseGroup(pgid);
      }
      void (async () => {
        const mem = memory ? await memory.stop() : null;
        resolve({
          code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          firstLineNs,
          totalNs,
          peakRssKb: mem?.peakRssKb ?? 0,
        });
      })();
    });
  });
}
