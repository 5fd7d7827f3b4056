/**
 * A suite's ceiling: a command measured once (typically the engine itself in a raw loop, no server) whose
 * figures are shown beside the contestants' as the limit they approach. It is never a contestant: it is not
 * loaded over HTTP, not compared for correctness, and its output is its own claim, read from the JSON it prints
 * (the last JSON object on stdout) at the JSON paths the suite names.
 */
import { spawn } from 'node:child_process';
import { parseJsonPath, selectPath } from './json-path.js';
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
  const failed = (failure: string): CeilingResult => ({ ...base, scenarios: {}, output: null, failure });
  const [cmd, ...args] = ceiling.command as [string, ...string[]];
  const { code, stdout, stderr, timedOut } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
  }>((resolve) => {
    const child = spawn(cmd, args, {
      cwd: ceiling.cwd,
      env: { ...process.env, ...ceiling.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ceiling.timeoutMs);
    const onAbort = (): void => {
      child.kill('SIGTERM');
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
      resolve({
        code: exitCode,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
  });
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  if (timedOut) return failed(`timed out after ${ceiling.timeoutMs / 1000} s`);
  if (code !== 0) return failed(`exited with code ${String(code)}${tail !== '' ? `: ${tail}` : ''}`);
  const output = lastJsonObject(stdout);
  if (output === undefined) return failed('printed no JSON object on stdout');
  const scenarios: Record<string, { throughput_per_s: number | null; p50_ms: number | null }> = {};
  for (const [name, m] of ceiling.scenarios) {
    scenarios[name] = { throughput_per_s: numberAt(output, m.throughput), p50_ms: numberAt(output, m.p50Ms) };
  }
  return { ...base, scenarios, output, failure: null };
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
