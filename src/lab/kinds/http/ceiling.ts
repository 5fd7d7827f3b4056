/**
 * A suite's ceiling: a command measured once (typically the engine itself in a raw loop, no server) whose
 * figures are shown beside the contestants' as the limit they approach. It is never a contestant: it is not
 * loaded over HTTP, not compared for correctness, and its output is its own claim, read from the JSON it prints
 * (the last JSON object on stdout) at the JSON paths the suite names.
 *
 * The command runs as a one-shot command (run/command.ts): in a process group of its own, under the lifeline.
 */
import { runJsonCommand } from '../../run/command.js';
import { parseJsonPath, selectPath } from '../../json-path.js';
import type { SuiteCeiling } from './suite-sections.js';

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

function numberAt(output: unknown, path: string | undefined): number | null {
  if (path === undefined) return null;
  const parsed = parseJsonPath(path);
  if (typeof parsed === 'string') return null;
  const [v] = selectPath(output, parsed);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
