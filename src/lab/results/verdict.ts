/**
 * The verdict of a suite run, the same rule for every kind: interrupted, failed (a contestant failed or gave
 * incorrect answers), thresholds failed, or ok, with the lines that explain it. The CLI turns the outcome into an
 * exit code (cli/exit-codes.ts); nothing here knows exit codes.
 */
import type { LabReport } from '../report/model.js';

/** What the kind knows about its run beyond the report. */
export interface VerdictFacts {
  /** The run was interrupted (Ctrl-C): results are partial. */
  readonly interrupted: boolean;
  /** A contestant failed to start, died, or a run of it failed. */
  readonly failed: boolean;
  /** The line to print for a failed or incorrect run, when the kind says it better than the default. */
  readonly problem?: string;
}

/** How a suite run ended. */
export type SuiteOutcome = 'ok' | 'interrupted' | 'failed' | 'thresholds_failed';

export interface SuiteVerdict {
  readonly outcome: SuiteOutcome;
  /** Lines for stderr explaining a non-ok outcome. */
  readonly problems: readonly string[];
}

/**
 * Interrupted wins (its partial results still say what failed); then failed or incorrect rows; then thresholds
 * that failed (the report's rows carry them); otherwise ok.
 */
export function suiteVerdict(report: LabReport, facts: VerdictFacts): SuiteVerdict {
  const incorrect = report.scenarios.some((s) => s.rows.some((r) => r.correct === false));
  const problems: string[] = [];
  if (facts.failed || incorrect) {
    problems.push(
      facts.problem ??
        `error PL_ERR_BENCH: ${facts.failed ? 'a contestant failed' : 'a contestant gave different answers'} (see the warnings in the report)`,
    );
  }
  if (facts.interrupted) return { outcome: 'interrupted', problems };
  if (problems.length > 0) return { outcome: 'failed', problems };
  const thresholds = report.scenarios.flatMap((s) =>
    s.rows.flatMap((r) =>
      r.thresholds
        .filter((t) => !t.ok)
        .map((t) => `${s.name} · ${r.contestant}: ${t.expression} (was ${t.actual})`),
    ),
  );
  if (thresholds.length > 0) {
    return {
      outcome: 'thresholds_failed',
      problems: [`error PL_ERR_THRESHOLDS: ${thresholds.length} threshold(s) failed:\n  ${thresholds.join('\n  ')}`],
    };
  }
  return { outcome: 'ok', problems: [] };
}
