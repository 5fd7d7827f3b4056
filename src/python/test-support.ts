/** Assertion helpers shared by the tests of both Python runtimes. */
import assert from 'node:assert/strict';
import type { PythonCallResult, PythonException } from './runtime.js';

/** The outputs of each result, failing the test on the first error. */
export function outputs(results: readonly PythonCallResult[]): unknown[][] {
  return results.map((r) => {
    assert.ok(r.ok, r.ok ? '' : `${r.error.type}: ${r.error.message}`);
    return [...r.outputs];
  });
}

/** The error of a result that must have failed. */
export function failure(result: PythonCallResult | undefined): PythonException {
  assert.ok(result !== undefined && !result.ok, `expected an error, got ${JSON.stringify(result)}`);
  return result.error;
}
