// The pitlane CLI as a user runs it: real processes, real files, real signals.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PITLANE, ROOT, pitlane, pitlaneListing } from './helpers.mjs';

const example = (name) => join(ROOT, 'examples', 'pipelines', name);

describe('pitlane validate', () => {
  test('a valid manifest: exit 0', async () => {
    const r = await pitlane(['validate', example('simple.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok: .*simple\.yaml \(3 nodes, 2 connections\)/);
  });

  test('a broken manifest: every problem with file:line:column and path, exit 2', async () => {
    const r = await pitlane(['validate', example('broken.yaml')]);
    assert.equal(r.code, 2);
    const file = example('broken.yaml');
    for (const line of [
      `${file}:8:34  $.nodes[0].params.range.step  must not be 0`,
      `${file}:10:5  $.nodes[1].node_type  unknown node_type 'Calculater' (did you mean 'Calculator'?)`,
      `${file}:14:15  $.nodes[2].params.operation  must be one of "add", "subtract", "multiply", "divide", "power", "modulo"; got "sqrt"`,
      `${file}:14:32  $.nodes[2].params.operand  expected number; got "2"`,
      `${file}:17:5  $.nodes[3].colour  unknown field`,
      `${file}:21:7  $.connections[2].from  'sink' is a DataSink: sinks have no outputs`,
    ]) {
      assert.ok(r.stderr.includes(line), `missing:\n${line}\nin:\n${r.stderr}`);
    }
    assert.match(r.stderr, /error PL_ERR_MANIFEST_INVALID: .*6 problems/);
  });

  test('--json prints the problems for scripts', async () => {
    const r = await pitlane(['validate', '--json', example('broken.yaml')]);
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout);
    assert.equal(out.valid, false);
    assert.ok(out.problems.some((p) => p.path === '$.nodes[0].params.range.step' && p.line === 8));
  });

  test('a missing file and a syntax error: clear messages, exit 2', async () => {
    const missing = await pitlane(['validate', 'nope.yaml']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /PL_ERR_FILE: nope\.yaml: no such file/);
    const dir = mkdtempSync(join(tmpdir(), 'pl-cli-'));
    writeFileSync(join(dir, 'bad.json'), '{"version": "v1",');
    const bad = await pitlane(['validate', join(dir, 'bad.json')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PL_ERR_MANIFEST_PARSE: .*bad\.json: not valid JSON/);
  });
});

describe('pitlane run', () => {
  test('files in and out, --stats on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-cli-'));
    writeFileSync(join(dir, 'in.jsonl'), '"the quick fox"\n"a dog"\n"FOX tail"\n');
    const r = await pitlane([
      'run',
      example('text-stdin.yaml'),
      '--input',
      join(dir, 'in.jsonl'),
      '--output',
      join(dir, 'out.jsonl'),
      '--stats',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(readFileSync(join(dir, 'out.jsonl'), 'utf8'), '"The Quick Fox"\n');
    assert.match(r.stderr, /only-fox\s+Filter\s+3\s+1\s+0\s+0/);
    assert.match(r.stderr, /1 outputs in/);
  });

  test('usage errors: unknown flag, bad --on-error, missing input file', async () => {
    const flag = await pitlane(['run', example('simple.yaml'), '--frobnicate']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown option '--frobnicate'/);
    const policy = await pitlane(['run', example('simple.yaml'), '--on-error', 'ignore']);
    assert.equal(policy.code, 2);
    assert.match(policy.stderr, /Allowed choices are fail, skip/);
    const input = await pitlane(['run', example('simple.yaml'), '--input', 'missing.jsonl']);
    assert.equal(input.code, 2);
    assert.match(input.stderr, /PL_ERR_FILE: missing\.jsonl: no such file/);
  });

  test('--help explains every flag', async () => {
    await pitlaneListing(['run', '--help'], ['--input', '--output', '--on-error', '--stats', '--json-stats']);
  });

  test('streams: outputs come out while the input is still open', async () => {
    const child = spawn(process.execPath, [PITLANE, 'run', example('text-stdin.yaml')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const first = new Promise((resolve) => child.stdout.once('data', (b) => resolve(b.toString())));
    // More than one output batch, so the writer must flush while stdin stays open.
    child.stdin.write('"fox 1"\n'.repeat(20_000));
    assert.match(await first, /^"Fox 1"\n/);
    child.stdin.end();
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
  });

  test('Ctrl-C: stops cleanly, flushes what is done, exits 130', async () => {
    const child = spawn(process.execPath, [PITLANE, 'run', example('batch-stdin.yaml')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.stdin.write('1\n2\n3\n');
    // Long enough for the process to have installed its SIGINT handler even on a loaded machine.
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    assert.equal(stdout, '[1,2,3]\n');
    assert.match(stderr, /interrupted/);
  });
});

test('pitlane nodes lists every built-in type with its RemoteMedia alias', async () => {
  const basic = ['DataSource', 'DataSink', 'PassThrough', 'Calculator', 'TextTransform'];
  const types = [...basic, 'Buffer', 'Filter', 'Accumulator'];
  const r = await pitlaneListing(
    ['nodes'],
    types.map((t) => `${t}Node`),
  );
  for (const t of types) assert.match(r.stdout, new RegExp(`^${t}\\s`, 'm'));
});

test('a Python node: auto picks Pyodide for standard-library code, --stats says so, logging stays off stdout', async () => {
  const r = await pitlane(['run', example('python-words.yaml'), '--stats'], {
    input: '"the quick brown fox"\n"a b"\n"jumps over"\n',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '{"line":"the quick brown fox","words":4,"total":4}\n{"line":"jumps over","words":2,"total":6}\n',
  );
  assert.match(r.stderr, /words: python on pyodide \(auto: standard library only\)/);
  assert.match(r.stderr, /\[python:words\] INFO no words in 'a b'/);
});

test('a Python node whose runtime_hint cannot work is a validation error before anything runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-cli-'));
  const manifest = join(dir, 'bad-hint.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      version: 'v1',
      metadata: { name: 'bad-hint' },
      nodes: [
        {
          id: 'np',
          node_type: 'python',
          runtime_hint: 'pyodide',
          params: { code: 'import numpy\nclass A:\n    def process(self, x):\n        return x\n' },
        },
      ],
    }),
  );
  const r = await pitlane(['validate', manifest]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /\$\.nodes\[0\]\.runtime_hint +pyodide cannot run this code: it imports numpy \(not in the standard library/,
  );
});
