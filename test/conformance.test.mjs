// The conformance corpus (test/conformance/*/) on both runtimes: pitlane and the CPython reference executor
// must each give the expected output, exit code and error line for every case.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, pitlane, reference } from './helpers.mjs';

const CORPUS = join(ROOT, 'test', 'conformance');
const cases = readdirSync(CORPUS)
  .filter((d) => existsSync(join(CORPUS, d, 'case.json')))
  .sort();

const lines = (text) => text.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));

const usesPython = (name) =>
  /"node_type"\s*:\s*"(python|PythonNode)"/.test(readFileSync(join(CORPUS, name, 'manifest.json'), 'utf8'));
const explicitHint = (name) =>
  /"runtime_hint"/.test(readFileSync(join(CORPUS, name, 'manifest.json'), 'utf8'));

/** Runs one case on a runtime and checks exit code, output and stderr. */
async function check(name, exec, extraArgs = []) {
  const dir = join(CORPUS, name);
  const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  const inputPath = join(dir, 'input.jsonl');
  const input = existsSync(inputPath) ? readFileSync(inputPath, 'utf8') : '';
  const expected = readFileSync(join(dir, 'expected.jsonl'), 'utf8');
  const args = ['run', join(dir, 'manifest.json'), ...extraArgs];
  if (spec.on_error !== undefined) args.push('--on-error', spec.on_error);
  const r = await exec(args, { input });
  assert.equal(r.code, spec.exit_code ?? 0, `exit code; stderr:\n${r.stderr}`);
  if (spec.ordered === false) {
    assert.deepEqual(lines(r.stdout).sort(), lines(expected).sort(), spec.description);
  } else {
    assert.equal(r.stdout, expected, spec.description);
  }
  if (spec.stderr_contains !== undefined)
    assert.ok(r.stderr.includes(spec.stderr_contains), `stderr:\n${r.stderr}`);
}

const RUNS = [
  // [label, exec, extra args, which cases]
  ['pitlane', pitlane, [], (name) => !usesPython(name) || explicitHint(name)],
  [
    'pitlane, Python nodes on CPython workers',
    pitlane,
    ['--python-runtime', 'cpython'],
    (name) => usesPython(name) && !explicitHint(name),
  ],
  [
    'pitlane, Python nodes on Pyodide',
    pitlane,
    ['--python-runtime', 'pyodide'],
    (name) => usesPython(name) && !explicitHint(name),
  ],
  ['cpython reference', reference, [], () => true],
];

for (const [label, exec, extraArgs, applies] of RUNS) {
  describe(`conformance: ${label}`, { concurrency: 4 }, () => {
    test('the corpus has at least 25 cases', () => assert.ok(cases.length >= 25, `${cases.length} cases`));
    for (const name of cases.filter(applies)) test(name, () => check(name, exec, extraArgs));
  });
}
