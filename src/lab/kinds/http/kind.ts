/**
 * The http kind: HTTP services under the load engine (closed and open loop), with cold starts, correctness
 * against the baseline's answers, thresholds and ceilings. A suite file without a `kind` field is one of these.
 */
import { BenchError } from '../../../core/errors.js';
import { defineKind } from '../kind.js';
import { SuiteSchema } from './schema.js';
import { httpLabReport } from './report.js';
import { httpResultsFiles, isHttpResults, readHttpResults } from './results.js';
import { runHttpSuite } from './runner.js';
import { seedResultsFiles } from './seed-results.js';
import { loadSuite, quickSuite } from './suite.js';

export const httpKind = defineKind({
  name: 'http',
  description: 'HTTP services under load: latency, throughput, memory, CPU, cold start, correctness',
  schema: SuiteSchema,
  takesScenariosFile: true,
  async load(file, { quick, scenariosFile, seedSizes }) {
    if (file === null) throw new BenchError('the http kind has no built-in suite: give a suite file');
    const suite = await loadSuite(file, {
      ...(scenariosFile !== undefined && { scenariosFile }),
      ...(seedSizes === true && { seedSizes }),
    });
    return quick ? quickSuite(suite) : suite;
  },
  suiteName: (suite) => suite.name,
  scenarioNames: (suite) => suite.scenarios.map((s) => s.name),
  run(suite, options) {
    const { only } = options;
    return runHttpSuite(
      {
        ...suite,
        scenarios:
          only === undefined ? suite.scenarios : suite.scenarios.filter((s) => only.includes(s.name)),
        repeats: options.repeats ?? suite.repeats,
        coldStartRuns: options.coldStarts ?? suite.coldStartRuns,
        ceilings: options.ceilings ? suite.ceilings : [],
      },
      {
        signal: options.signal,
        onProgress: options.onProgress,
        ...(options.onLog !== undefined ? { onLog: options.onLog } : {}),
      },
    );
  },
  toReport: httpLabReport,
  resultsFiles: httpResultsFiles,
  plainFiles: seedResultsFiles,
  verdictFacts: (result) => ({
    interrupted: result.interrupted,
    // The measurement cut short by Ctrl-C says 'interrupted': that is the interruption, not a failure.
    failed:
      Object.keys(result.startFailures).length > 0 ||
      result.runs.some((r) => r.failure !== null && r.failure !== 'interrupted'),
  }),
  recognises: isHttpResults,
  readResults: readHttpResults,
});
