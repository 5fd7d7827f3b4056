/**
 * The ingest kind (`kind: ingest`): photo-ingest services under the batch-ingest load tool, with one shared model
 * server, a fresh process and index per run, a preprocessing probe, correctness against the corpus manifest and
 * the baseline's detections, and hypotheses with verdicts.
 */
import { BenchError } from '../../../core/errors.js';
import { defineKind } from '../kind.js';
import { IngestSuiteSchema } from './schema.js';
import { ingestLabReport } from './report.js';
import { ingestResultsFiles, isIngestResults, readIngestResults } from './results.js';
import { runIngestSuite } from './runner.js';
import { loadIngestSuite } from './suite.js';

export const ingestKind = defineKind({
  name: 'ingest',
  description: 'photo-ingest services under the batch-ingest load tool, with a shared model server',
  schema: IngestSuiteSchema,
  async load(file, { quick }) {
    if (file === null) throw new BenchError('the ingest kind has no built-in suite: give a suite file');
    return loadIngestSuite(file, { quick });
  },
  suiteName: (suite) => suite.name,
  scenarioNames: (suite) => suite.scenarios.map((s) => s.name),
  run: (suite, options) =>
    runIngestSuite(
      { ...suite, repeats: options.repeats ?? suite.repeats },
      {
        signal: options.signal,
        onProgress: options.onProgress,
        ...(options.only !== undefined ? { only: options.only } : {}),
        ...(options.onLog !== undefined ? { onLog: options.onLog } : {}),
      },
    ),
  toReport: ingestLabReport,
  resultsFiles: ingestResultsFiles,
  verdictFacts: (result) => ({
    interrupted: result.interrupted,
    failed: result.runs.some((r) => r.failure !== null),
  }),
  recognises: isIngestResults,
  readResults: readIngestResults,
});
