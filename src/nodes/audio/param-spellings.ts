/**
 * RemoteMedia accepts several spellings of one param (snake_case and camelCase through serde aliases, plus the
 * Python SDK's and the generated TypeScript schema's names: `target_rate`, `targetRate`, `target_sample_rate`).
 * The schemas here list every spelling; these helpers read the one given and report two that disagree.
 */
import type { ManifestProblem } from '../../core/errors.js';

/** The value of the first spelling present. */
export function spelled<P extends object, K extends keyof P>(
  params: P,
  spellings: readonly K[],
): P[K] | undefined {
  for (const k of spellings) {
    const v = params[k];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A problem for each group whose spellings are given with different values. */
export function spellingConflicts(
  params: Readonly<Record<string, unknown>>,
  groups: readonly (readonly string[])[],
): Omit<ManifestProblem, 'line' | 'column'>[] {
  const problems: Omit<ManifestProblem, 'line' | 'column'>[] = [];
  for (const group of groups) {
    const given = group.filter((k) => params[k] !== undefined);
    const first = given[0];
    if (first === undefined) continue;
    const other = given.find((k) => params[k] !== params[first]);
    if (other !== undefined) {
      problems.push({
        path: `.${other}`,
        message: `${other} and ${first} are two spellings of one param and disagree (${JSON.stringify(params[other])} vs ${JSON.stringify(params[first])}); give one`,
      });
    }
  }
  return problems;
}
