// What the lab's integration tests share (test/lab, bench-pipelines, echo-suite, ...; lifeline's bench tests can
// use it too): a suite file written from an object, a contestant running the raw echo fixture, and the check that
// a run's folder holds the files a run writes.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.mjs';

/** test/fixtures/lab/echo-raw.mjs: a Node echo server on `--port`, with no framework. */
export const ECHO_RAW = join(ROOT, 'test', 'fixtures', 'lab', 'echo-raw.mjs');

/**
 * Writes `suite` as <dir>/<suite.name>.json and returns its path. A suite that does not say otherwise runs once,
 * with no cold starts (`repeats: 1`, `cold_start: { runs: 0 }`): what a short test run wants.
 */
export function writeSuiteFile(dir, suite) {
  const file = join(dir, `${suite.name}.json`);
  writeFileSync(file, JSON.stringify({ repeats: 1, cold_start: { runs: 0 }, ...suite }));
  return file;
}

/** A contestant that runs the raw echo server on an automatic port; `args` follow `--port {port}` (e.g. a tag). */
export function echoRawContestant(name, ...args) {
  return { name, command: [process.execPath, ECHO_RAW, '--port', '{port}', ...args], port: 'auto' };
}

/** The files a suite run writes in its folder beside its results files. */
export const RUN_REPORT_FILES = ['comparison.json', 'report.json', 'report.md', 'report.html'];

/** Asserts that a run's folder `dir` holds `resultsFiles` (paths relative to it) and every file of RUN_REPORT_FILES. */
export function assertRunFiles(dir, resultsFiles) {
  for (const f of [...resultsFiles, ...RUN_REPORT_FILES]) assert.ok(existsSync(join(dir, f)), f);
}
