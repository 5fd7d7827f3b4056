/**
 * The verdict on each of an ingest suite's hypotheses ("pitlane ingests at least 1.5× the images per second"):
 * supported when the whole 95% interval of the ratio clears the target, rejected when it stays below, otherwise
 * inconclusive; with one repeat the point estimate decides, and the note says so.
 */
import type { ReportHypothesis, ReportScenario } from '../../report/model.js';
import type { IngestSuite } from './suite.js';

/** The verdicts of the suite's hypotheses, one per hypothesis and contestant it names (default: all but the baseline). */
export function hypothesisVerdicts(
  suite: Pick<IngestSuite, 'hypotheses' | 'contestants' | 'baseline'>,
  scenarios: readonly ReportScenario[],
): ReportHypothesis[] {
  const names = suite.contestants.map((c) => c.name);
  return suite.hypotheses.flatMap((h) => {
    const contestants =
      h.contestant !== undefined ? [h.contestant] : names.filter((n) => n !== suite.baseline);
    return contestants.map((contestant): ReportHypothesis => {
      const scenario = scenarios.find((s) => s.name === h.scenario);
      const ratio = scenario?.ratios.find((r) => r.contestant === contestant && r.metric === h.metric);
      const base = {
        statement: h.statement,
        scenario: h.scenario,
        metric: h.metric,
        contestant,
        baseline: suite.baseline,
        target: h.at_least,
      };
      if (ratio === undefined) {
        const row = scenario?.rows.find((r) => r.contestant === contestant);
        const baseRow = scenario?.rows.find((r) => r.contestant === suite.baseline);
        const why =
          row === undefined || baseRow === undefined
            ? 'the scenario did not run'
            : (baseRow.failure ??
              row.failure ??
              (row.correct === false ? `${contestant}'s answers are incorrect` : 'no comparable figures'));
        return { ...base, measured: null, verdict: 'not_measured', note: why };
      }
      const measured = { factor: ratio.factor, ci95: ratio.ci95, repeats: ratio.repeats };
      if (ratio.repeats < 2) {
        return {
          ...base,
          measured,
          verdict: ratio.factor >= h.at_least ? 'supported' : 'rejected',
          note: 'one repeat: no interval, the point estimate decides; run the full suite to quote it',
        };
      }
      const verdict =
        ratio.ci95[0] >= h.at_least ? 'supported' : ratio.ci95[1] < h.at_least ? 'rejected' : 'inconclusive';
      return { ...base, measured, verdict, note: `${ratio.repeats} paired repeats` };
    });
  });
}
