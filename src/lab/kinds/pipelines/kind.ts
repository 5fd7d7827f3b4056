/**
 * The pipelines kind: pitlane's pipeline runtime against the CPython reference executor on the same manifests,
 * outputs checked byte for byte. Its scenarios live in code (scenarios.ts): its built-in suite is the suite.
 */
import { BenchError } from '../../../core/errors.js';
import { defineKind } from '../kind.js';
import { comparisonJson, pipelineLabReport, resultsTable } from './report.js';
import { isPipelinesResults, pipelinesResultsFiles, readPipelinesResults } from './results.js';
import { runPipelineSuite } from './runner.js';
import { pipelineScenarios } from './scenarios.js';

export const pipelinesKind = defineKind({
  name: 'pipelines',
  description: 'the pipeline runtime against the CPython reference executor, built-in scenarios',
  schema: null,
  load(file, { quick }) {
    if (file !== null) {
      return Promise.reject(
        new BenchError('the pipelines kind has its scenarios built in: run pitlane bench pipelines'),
      );
    }
    return Promise.resolve({
      name: 'pipelines',
      quick,
      scenarios: pipelineScenarios(quick).map((s) => s.name),
    });
  },
  suiteName: (suite) => suite.name,
  scenarioNames: (suite) => suite.scenarios,
  run: (suite, options) =>
    runPipelineSuite({
      quick: suite.quick,
      python: options.python,
      ...(options.repeats !== undefined ? { repeats: options.repeats } : {}),
      ...(options.only !== undefined ? { only: options.only } : {}),
      onProgress: (step) => options.onProgress({ kind: 'step', ...step }),
    }),
  toReport: pipelineLabReport,
  resultsFiles: pipelinesResultsFiles,
  comparison: (result) => comparisonJson(result),
  verdictFacts: (result) => {
    const incorrect = result.scenarios.filter((r) => !r.correct);
    return {
      interrupted: false,
      failed: false,
      ...(incorrect.length > 0
        ? {
            problem: `error PL_ERR_BENCH: outputs differ between runtimes in: ${incorrect.map((r) => r.scenario.name).join(', ')}`,
          }
        : {}),
    };
  },
  terminal: (result) => {
    const h = result.headline;
    const headline =
      h.scenarios.length === 0
        ? ''
        : `Geometric-mean speed-up (${h.scenarios.join(', ')}): ${h.speedup.toFixed(1)}x ` +
          `[95% CI ${h.ci95[0].toFixed(1)}, ${h.ci95[1].toFixed(1)}]\n`;
    const e = result.environment;
    return (
      `${resultsTable(result)}\n\n${headline}` +
      `${e.cpu_model}, ${e.cores} cores; Node ${e.node_version}, Python ${e.python_version ?? '?'}\n`
    );
  },
  recognises: isPipelinesResults,
  readResults: readPipelinesResults,
});
