// `pitlane run` and `pitlane validate` under faults caused for real: a full device (/dev/full, a full tmpfs), a
// reader that closes the pipe, hostile input lines, files that are not files, an alias bomb, control characters,
// usage errors. Each asserts the documented exit code and message, and that nothing else is lost.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PITLANE, ROOT, pitlane, tempDir } from './helpers.mjs';
import { jsonLines } from './helpers/jsonl.mjs';

const dir = tempDir('pitlane-faults-');

const SIMPLE = join(ROOT, 'examples', 'pipelines', 'simple.yaml');

/** A manifest file in `dir` from YAML text. */
function manifest(name, yaml) {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

/** A manifest file in `dir` of pipeline `p` with the `nodes:` (and what follows) of `yaml`. */
const nodesManifest = (name, yaml) => manifest(name, `version: v1\nmetadata: { name: p }\nnodes:\n${yaml}`);

/** `pitlane validate file` must fail with exit 2; resolves with its stderr. */
async function refused(file) {
  const r = await pitlane(['validate', file]);
  assert.equal(r.code, 2, `${file}: ${r.stderr}`);
  return r.stderr;
}

const rangeManifest = (stop) =>
  manifest(
    `range-${stop}.yaml`,
    `version: v1
metadata: { name: range }
nodes:
  - { id: source, node_type: DataSource, params: { range: { start: 0, stop: ${stop} } } }
  - { id: sink, node_type: DataSink }
connections:
  - { from: source, to: sink }
`,
  );

const PASS = manifest(
  'pass.yaml',
  `version: v1
metadata: { name: pass }
nodes:
  - { id: source, node_type: DataSource }
  - { id: sink, node_type: DataSink }
connections:
  - { from: source, to: sink }
`,
);

/** Runs pitlane with stdout going to the file descriptor of `path` (a device, or a file on a full disk). */
function runWithStdoutTo(path, args) {
  const fd = openSync(path, 'w');
  try {
    const r = spawnSync(process.execPath, [PITLANE, ...args], {
      cwd: ROOT,
      stdio: ['ignore', fd, 'pipe'],
      encoding: 'utf8',
    });
    return { code: r.status, stderr: r.stderr };
  } finally {
    closeSync(fd);
  }
}

describe('output write errors end the run with PL_ERR_OUTPUT (exit 74) naming the output', () => {
  test('stdout on /dev/full, small and large outputs', () => {
    for (const file of [SIMPLE, rangeManifest(1_000_000)]) {
      const r = runWithStdoutTo('/dev/full', ['run', file]);
      assert.equal(r.code, 74, r.stderr);
      assert.match(
        r.stderr,
        /error PL_ERR_OUTPUT: stdout: write failed: no space left on the device \(ENOSPC\)/,
      );
      assert.doesNotMatch(r.stderr, /\n {4}at /, 'no stack trace');
    }
  });

  test('-o /dev/full', async () => {
    const r = await pitlane(['run', SIMPLE, '-o', '/dev/full']);
    assert.equal(r.code, 74, r.stderr);
    assert.match(r.stderr, /error PL_ERR_OUTPUT: \/dev\/full: write failed: .*ENOSPC/);
  });

  describe('a full tmpfs', () => {
    const mnt = join(dir, 'small-disk');
    let mounted = false;
    before(() => {
      spawnSync('mkdir', ['-p', mnt]);
      mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
    });
    after(() => {
      if (mounted) spawnSync('umount', [mnt]);
    });

    test('-o FILE: the file never appears cut; what was written is kept as FILE.partial and named', async (t) => {
      if (!mounted) return t.skip('cannot mount a tmpfs here (needs root)');
      const out = join(mnt, 'out.jsonl');
      const r = await pitlane(['run', rangeManifest(1_000_000), '-o', out]);
      assert.equal(r.code, 74, r.stderr);
      assert.match(
        r.stderr,
        /PL_ERR_OUTPUT: .*out\.jsonl: write failed: no space left on the device \(ENOSPC\)/,
      );
      assert.match(r.stderr, /are in .*out\.jsonl\.partial, .*out\.jsonl was not written/);
      assert.equal(existsSync(out), false, 'the output file is published only when complete');
      assert.ok(readFileSync(`${out}.partial`).length > 0);
      rmSync(`${out}.partial`);
    });

    test('stdout redirected to a file on it: exit 74, the message says the output is cut', (t) => {
      if (!mounted) return t.skip('cannot mount a tmpfs here (needs root)');
      const out = join(mnt, 'stdout.jsonl');
      const r = runWithStdoutTo(out, ['run', rangeManifest(1_000_000)]);
      assert.equal(r.code, 74, r.stderr);
      assert.match(
        r.stderr,
        /PL_ERR_OUTPUT: stdout: write failed: .*ENOSPC.*the output is cut after \d+ bytes/,
      );
      rmSync(out);
    });

    test('a run that fits is published under its name, with nothing left beside it', async (t) => {
      if (!mounted) return t.skip('cannot mount a tmpfs here (needs root)');
      const out = join(mnt, 'small.jsonl');
      const r = await pitlane(['run', SIMPLE, '-o', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(out, 'utf8').split('\n').length, 101);
      assert.equal(existsSync(`${out}.partial`), false);
      rmSync(out);
    });
  });
});

test('a reader that closes the pipe (| head): the run stops quietly with exit 141', async () => {
  const child = spawn(process.execPath, [PITLANE, 'run', rangeManifest(100_000_000)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const first = await new Promise((resolve) => child.stdout.once('data', (b) => resolve(String(b))));
  child.stdout.destroy();
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  assert.match(first, /^0\n1\n/);
  assert.equal(code, 141);
  assert.equal(stderr, '', 'no message for a closed pipe');
});

describe('hostile input lines fail alone; the run goes on', () => {
  test('a line nested 10^4 deep is one error record with its line number; --stats counts what was output', async () => {
    const input = `1\n${'['.repeat(10_000)}${']'.repeat(10_000)}\n2\n3\n`;
    const r = await pitlane(['run', PASS, '--on-error', 'skip', '--json-stats'], { input });
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.equal(lines.length, 4);
    assert.deepEqual([lines[0], lines[2], lines[3]], [1, 2, 3]);
    assert.equal(lines[1].$error.message, 'invalid JSON on input line 2: nested deeper than 256 levels');
    const stats = JSON.parse(r.stderr.trim().split('\n').at(-1));
    const source = stats.nodes.find((n) => n.id === 'source');
    assert.deepEqual(
      [source.emitted, source.errors],
      [3, 1],
      'three values and one error record, nothing lost',
    );
  });

  test('under fail, the deep line stops the run naming the line', async () => {
    const input = `1\n${'['.repeat(10_000)}${']'.repeat(10_000)}\n2\n`;
    const r = await pitlane(['run', PASS], { input });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /PL_ERR_NODE_FAILED: .*invalid JSON on input line 2: nested deeper than 256 levels/,
    );
  });

  test('a line over --max-line-mb is one error record with the start of the line; memory is not spent on it', async () => {
    const long = JSON.stringify('z'.repeat(3 * 1024 * 1024));
    const input = `"a"\n${long}\n"b"\n`;
    const r = await pitlane(['run', PASS, '--on-error', 'skip', '--max-line-mb', '1'], { input });
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.equal(lines.length, 3);
    assert.equal(lines[0], 'a');
    assert.equal(lines[2], 'b');
    assert.match(
      lines[1].$error.message,
      /^invalid JSON on input line 2: the line is 3\.0 MiB, longer than the limit of 1\.0 MiB \(--max-line-mb\)$/,
    );
    assert.ok(lines[1].$error.item.length < 300);
  });

  test('a long line under the limit passes through whole', async () => {
    const value = { s: 'q'.repeat(8 * 1024 * 1024) };
    const r = await pitlane(['run', PASS], { input: `${JSON.stringify(value)}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), value);
  });
});

test('a chain of 5,000 nodes runs (no recursion proportional to the depth)', async () => {
  const nodes = [{ id: 's', node_type: 'DataSource', params: { range: { start: 0, stop: 10 } } }];
  for (let i = 0; i < 5000; i++) nodes.push({ id: `p${i}`, node_type: 'PassThrough' });
  nodes.push({ id: 'k', node_type: 'DataSink' });
  const connections = nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id }));
  const file = join(dir, 'chain.json');
  writeFileSync(file, JSON.stringify({ version: 'v1', metadata: { name: 'chain' }, nodes, connections }));
  const r = await pitlane(['run', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n');
});

describe('files that are not regular files are refused at once (exit 2, PL_ERR_FILE)', () => {
  test('validate /dev/zero, a directory, a FIFO, a symlink loop', async () => {
    const fifo = join(dir, 'fifo.yaml');
    spawnSync('mkfifo', [fifo]);
    const loop = join(dir, 'loop-a.yaml');
    symlinkSync(join(dir, 'loop-b.yaml'), loop);
    symlinkSync(loop, join(dir, 'loop-b.yaml'));
    for (const [file, message] of [
      ['/dev/zero', 'the manifest is a character device, not a regular file'],
      [dir, 'the manifest is a directory, not a regular file'],
      [fifo, 'the manifest is a FIFO (named pipe), not a regular file'],
      [loop, 'a loop of symbolic links'],
    ]) {
      const stderr = await refused(file);
      assert.ok(stderr.includes(`error PL_ERR_FILE: ${file}: ${message}`), stderr);
    }
  });

  test('a Python node whose module is /dev/zero is a manifest problem at its path', async () => {
    const file = nodesManifest(
      'py-zero.yaml',
      '  - { id: py, node_type: python, params: { module: /dev/zero, class: X } }\n',
    );
    assert.match(
      await refused(file),
      /\$\.nodes\[0\]\.params\.module {2}\/dev\/zero: the Python module is a character device/,
    );
  });
});

test('a YAML alias bomb is a parse error naming the file (exit 2), not an internal error', async () => {
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const stderr = await refused(manifest('bomb.yaml', levels.join('\n') + '\n'));
  assert.match(stderr, /^error PL_ERR_MANIFEST_PARSE: .*bomb\.yaml: not valid YAML: .*alias/);
  assert.doesNotMatch(stderr, /PL_ERR_INTERNAL|\n {4}at /);
});

describe('messages', () => {
  test("commander's usage errors carry PL_ERR_USAGE; an unknown command is an error even with --help", async () => {
    for (const [args, message] of [
      [['run', '--bogus', SIMPLE], "error PL_ERR_USAGE: unknown option '--bogus'"],
      [['run'], "error PL_ERR_USAGE: missing required argument 'manifest'"],
      [['frobnicate', '--help'], "error PL_ERR_USAGE: unknown command 'frobnicate'"],
      [['rnu', SIMPLE], "unknown command 'rnu' (did you mean 'run'?)"],
    ]) {
      const r = await pitlane(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(r.stderr.includes(message), r.stderr);
      assert.equal(r.stdout, '', 'no help on stdout');
    }
  });

  test('NaN and Infinity in params are named as such', async () => {
    const file = nodesManifest(
      'nan.yaml',
      `  - { id: c, node_type: Calculator, params: { operation: add, operand: .nan } }
  - { id: d, node_type: Calculator, params: { operation: add, operand: -.inf } }
connections:
  - { from: c, to: d }
`,
    );
    const stderr = await refused(file);
    assert.match(stderr, /\$\.nodes\[0\]\.params\.operand {2}expected number; got NaN/);
    assert.match(stderr, /\$\.nodes\[1\]\.params\.operand {2}expected number; got -Infinity/);
  });

  test('control characters in node ids are escaped on the terminal', async () => {
    const file = nodesManifest(
      'ctrl.yaml',
      `  - { id: "a\\x1b[31mRED\\r\\u202e", node_type: Calculator, params: { operation: add, operand: 1 } }\n`,
    );
    const r = await pitlane(['run', file], { input: '"x"\n' });
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes("node 'a\\x1b[31mRED\\r\\u202e' (Calculator)"), r.stderr);
    for (const c of ['\u001b', '\r', '\u202e']) assert.ok(!r.stderr.includes(c), 'no raw control character');
  });
});
