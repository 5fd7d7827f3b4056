// The CPython reference executor's own unit tests (baselines/python/test_pitlane_ref.py), run under npm test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PYTHON, run } from './helpers.mjs';

test('baselines/python unittest suite passes', async () => {
  const r = await run(PYTHON, ['-m', 'unittest', 'discover', '-s', 'baselines/python', '-p', 'test_*.py']);
  assert.equal(r.code, 0, r.stderr.split('\n').slice(-40).join('\n'));
  assert.match(r.stderr, /Ran \d+ tests?/);
  assert.doesNotMatch(r.stderr, /Ran 0 tests/);
});
