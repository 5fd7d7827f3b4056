/**
 * The contestants of a suite file, as every kind reads them: unique names, at most one baseline (default: the
 * first), and a contestant entry turned into the ContestantSpec that run/contestant.ts starts (durations parsed,
 * the folder resolved against the suite file's).
 */
import type { ManifestProblem } from '../core/errors.js';
import type { ContestantSpec } from './run/contestant.js';
import { durationMs, type ContestantDocument } from './suite-schema.js';

/** The health check of an entry, as ContestantSpec takes it. */
export function healthSpec(h: ContestantDocument['health']): ContestantSpec['health'] {
  if (h === undefined) return undefined;
  return {
    ...(h.url !== undefined ? { url: h.url } : {}),
    ...(h.status !== undefined ? { status: h.status } : {}),
    ...(h.timeout !== undefined ? { timeoutMs: durationMs(h.timeout) } : {}),
    ...(h.interval !== undefined ? { intervalMs: durationMs(h.interval) } : {}),
  };
}

/** A contestant (or shared service) entry as the spec run/contestant.ts starts. */
export function contestantSpec(
  c: Pick<ContestantDocument, 'name' | 'command' | 'url' | 'env' | 'port' | 'health' | 'stop_grace'>,
  cwd: string,
): ContestantSpec {
  const health = healthSpec(c.health);
  return {
    name: c.name,
    ...(c.command !== undefined ? { command: c.command } : {}),
    ...(c.url !== undefined ? { url: c.url } : {}),
    ...(c.env !== undefined ? { env: c.env } : {}),
    cwd,
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(health !== undefined ? { health } : {}),
    ...(c.stop_grace !== undefined ? { stopGraceMs: durationMs(c.stop_grace) } : {}),
  };
}

/**
 * Checks the names (unique) and the baseline (at most one marked) of a suite's contestants, pushing every
 * problem with its path; returns the baseline's name (the marked one, else the first).
 */
export function checkContestants(
  contestants: readonly Pick<ContestantDocument, 'name' | 'baseline'>[],
  problems: ManifestProblem[],
): string {
  const names = new Set<string>();
  contestants.forEach((c, i) => {
    if (names.has(c.name))
      problems.push({ path: `$.contestants[${i}].name`, message: `duplicate contestant name '${c.name}'` });
    names.add(c.name);
  });
  const marked = contestants.filter((c) => c.baseline === true);
  if (marked.length > 1)
    problems.push({
      path: '$.contestants',
      message: `only one contestant can be the baseline (${marked.map((c) => c.name).join(', ')})`,
    });
  return marked[0]?.name ?? contestants[0]?.name ?? '';
}
