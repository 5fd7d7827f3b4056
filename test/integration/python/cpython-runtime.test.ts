// The CPython runtime against real python3 worker processes ($PITLANE_PYTHON, else python3 on the PATH): what
// only this runtime does (worker processes, their crashes and timeouts, pools, reuse). What both runtimes do alike
// is in ./runtime-conformance.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AudioFrame } from '../../../dist/core/audio.js';
import { isRunning } from '../../../dist/process/proc-stat.js';
import {
  failure,
  nodeHarness,
  observed,
  outputs,
  source,
  type Observed,
} from '../../../dist/python/test-support.js';
import { createCPythonNode, type CPythonRuntimeOptions } from '../../../dist/python/cpython/node.js';
import { observing, talkingNode, withModuleFiles } from './python-support.js';

function observedOptions(seen: Observed, options: Partial<CPythonRuntimeOptions>): CPythonRuntimeOptions {
  return { ...observing(seen), ...options };
}

const { withNode } = nodeHarness<Partial<CPythonRuntimeOptions>>(
  (src, seen, options) => createCPythonNode(src, observedOptions(seen, options)),
  {},
);

test('numbers: an item JSON cannot carry (a BigInt, a cycle) fails alone; the other items of the batch run', async () => {
  await withNode(
    'class Types:\n    def process(self, x):\n        return [type(x).__name__, x]\n',
    async (node) => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const unsendable = await node.processBatch([1, 10n, cyclic, 2]);
      assert.deepEqual(unsendable[0], { ok: true, outputs: [['int', 1]] });
      assert.match(failure(unsendable[1]).message, /^cannot send this item to a Python node: .*BigInt/);
      assert.match(failure(unsendable[2]).message, /^cannot send this item to a Python node: .*circular/);
      assert.deepEqual(unsendable[3], { ok: true, outputs: [['int', 2]] });
    },
  );
});

test('a module file: its relative name in tracebacks, sibling imports work', async () => {
  const files = {
    'helper.py': 'def double(x):\n    return 2 * x\n',
    'node.py':
      'from helper import double\n\nclass Mod:\n    def process(self, x):\n        return double(10 // x)\n',
  };
  await withModuleFiles(files, async (dir) => {
    const modulePath = join(dir, 'node.py');
    await withNode(
      { nodeId: 'm', modulePath, fileName: 'nodes/node.py', className: 'Mod', init: {} },
      async (node) => {
        const [ok, bad] = await node.processBatch([2, 0]);
        assert.deepEqual(ok, { ok: true, outputs: [10] });
        assert.equal(
          failure(bad).traceback,
          'Traceback (most recent call last):\n  File "nodes/node.py", line 5, in process\nZeroDivisionError: integer division or modulo by zero\n',
        );
      },
    );
  });
});

test('print() and logging become log records with node id and level; fd 1 and subprocesses cannot corrupt the channel', async () => {
  const code = talkingNode('import logging, os, subprocess, sys', [
    '        os.write(1, b"raw fd 1\\n")',
    '        subprocess.run(["echo", "from a subprocess"], check=True)',
    '        sys.stderr.write("to stderr\\n")',
  ]);
  await withNode(source(code, { nodeId: 'talk' }), async (node, seen) => {
    assert.deepEqual(outputs(await node.processBatch([1, 2])), [[1], [2]]);
    const mine = seen.logs.map((r) => `${r.nodeId} ${r.level} ${r.message}`);
    assert.deepEqual(mine, [
      'talk info item 1',
      'talk warning careful 1',
      'talk error bad',
      'talk info partialitem 2',
      'talk warning careful 2',
      'talk error bad',
      'talk info partial',
    ]);
    // stderr is a pipe of its own: its bytes may arrive after the batch's answer on the channel.
    for (let waited = 0; !/to stderr\n[^]*to stderr\n/.test(seen.stderr) && waited < 10_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.match(seen.stderr, /raw fd 1\n/);
    assert.match(seen.stderr, /from a subprocess\n/);
    assert.match(seen.stderr, /to stderr\n/);
    assert.deepEqual(seen.warnings, []);
  });
});

test('garbage on the channel is a protocol error for the item; the next items work', async () => {
  const code = [
    'import os, sys',
    'class Junk:',
    '    def process(self, x):',
    '        if x == "junk":',
    '            os.write(sys.modules["__main__"].CHANNEL._write_fd, b"junk")',
    '        return x',
  ].join('\n');
  await withNode(code, async (node, seen) => {
    const results = await node.processBatch(['junk', 'after']);
    assert.equal(failure(results[0]).type, 'WorkerProtocolError');
    assert.match(
      failure(results[0]).message,
      /^worker protocol error: unexpected data on the channel: "junk/,
    );
    assert.deepEqual(results[1], { ok: true, outputs: ['after'] });
    assert.deepEqual(outputs(await node.processBatch(['next'])), [['next']]);
    assert.equal(seen.warnings.length, 1);
  });
});

test('a worker that exits fails the item it was running; the rest of the batch runs on a new worker', async () => {
  const code = [
    'import os, sys',
    'class Crash:',
    '    def process(self, x):',
    '        if x == "die":',
    '            sys.stderr.write("about to die\\n")',
    '            sys.stderr.flush()',
    '            os._exit(3)',
    '        return [x, os.getpid()]',
  ].join('\n');
  await withNode(code, async (node, seen) => {
    const [[[, pid0]]] = outputs(await node.processBatch(['first'])) as [[[string, number]]];
    const results = await node.processBatch(['a', 'b', 'die', 'c']);
    const crash = failure(results[2]);
    assert.deepEqual(crash, {
      type: 'WorkerCrashed',
      message: 'worker crashed (exit code 3): about to die',
      traceback: '',
    });
    // a and b finished on the old worker, but their results were still in its buffer: they ran again on the new one.
    const [a, b, c] = outputs([results[0]!, results[1]!, results[3]!]) as [[string, number]][];
    assert.deepEqual([a?.[0]?.[0], b?.[0]?.[0], c?.[0]?.[0]], ['a', 'b', 'c']);
    const pid1 = c?.[0]?.[1];
    assert.notEqual(pid1, pid0);
    assert.deepEqual(outputs(await node.processBatch(['d'])), [[['d', pid1]]]);
    assert.equal(seen.warnings.length, 1);
    assert.match(seen.warnings[0] ?? '', /^worker crashed \(exit code 3\); .*state is lost/);
  });
});

test('a native crash (SIGSEGV) reports the signal and the Python stack; a worker gone between batches is replaced', async () => {
  const code = [
    'import ctypes, os, threading',
    'class Native:',
    '    def process(self, x):',
    '        if x == "segv":',
    '            ctypes.string_at(0)',
    '        if x == "later":',
    '            threading.Timer(0.05, os._exit, (4,)).start()',
    '        return x',
  ].join('\n');
  await withNode(source(code, { nodeId: 'nat' }), async (node, seen) => {
    const [segv, after] = await node.processBatch(['segv', 'ok']);
    assert.equal(failure(segv).type, 'WorkerCrashed');
    assert.match(
      failure(segv).message,
      /^worker crashed \(signal SIGSEGV\): Fatal Python error: Segmentation fault/,
    );
    assert.match(failure(segv).message, /File "<node nat>", line 5 in process/);
    assert.deepEqual(after, { ok: true, outputs: ['ok'] });
    assert.deepEqual(outputs(await node.processBatch(['later'])), [['later']]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(outputs(await node.processBatch(['again'])), [['again']]);
    assert.equal(seen.warnings.length, 2);
    assert.match(seen.warnings[1] ?? '', /^the worker exited between batches \(exit code 4\)/);
  });
});

test('an item over its timeout is killed and fails; the next item works', async () => {
  const code =
    'class Slow:\n    def process(self, x):\n        while x == "hang":\n            pass\n        return x\n';
  await withNode(
    code,
    async (node, seen) => {
      const results = await node.processBatch(['before', 'hang', 'after']);
      assert.deepEqual(results[0], { ok: true, outputs: ['before'] });
      assert.deepEqual(failure(results[1]), {
        type: 'WorkerTimeout',
        message: 'timed out after 0.5 s',
        traceback: '',
      });
      assert.deepEqual(results[2], { ok: true, outputs: ['after'] });
      assert.deepEqual(outputs(await node.processBatch(['next'])), [['next']]);
      // The hung worker was killed and replaced: one warning says so (the batch did not wait for the item).
      assert.deepEqual(seen.warnings, [
        "an item timed out after 0.5 s (the worker was killed); a new worker takes over and the node's state is lost",
      ]);
    },
    { itemTimeoutMs: 500 },
  );
});

test('close() runs cleanup() and leaves no process behind, even one the node started', async () => {
  const code = [
    'import os, subprocess',
    'class Owner:',
    '    def __init__(self):',
    '        self.child = subprocess.Popen(["sleep", "60"])',
    '    def process(self, x):',
    '        return [os.getpid(), self.child.pid]',
    '    def cleanup(self):',
    '        print("cleaning up")',
  ].join('\n');
  const seen: Observed = observed();
  const node = createCPythonNode(source(code), observedOptions(seen, {}));
  await node.start();
  const [pids] = outputs(await node.processBatch([0]));
  const [worker, child] = pids?.[0] as [number, number];
  assert.ok(isRunning(worker) && isRunning(child));
  await node.close();
  assert.ok(!isRunning(worker), 'worker gone');
  const deadline = Date.now() + 2000;
  while (isRunning(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!isRunning(child), 'its subprocess gone');
  assert.deepEqual(
    seen.logs.map((r) => r.message),
    ['cleaning up'],
  );
  await assert.rejects(node.processBatch([1]), /closed/);
});

test('a cleanup() that fails is a warning, one that hangs is killed; close() never rejects', async () => {
  const seen: Observed = observed();
  const code =
    'class C:\n    def process(self, x):\n        return x\n    def cleanup(self):\n        raise RuntimeError("cannot clean")\n';
  const node = createCPythonNode(source(code), observedOptions(seen, {}));
  await node.start();
  await node.close();
  assert.deepEqual(seen.warnings, ['cleanup() failed: RuntimeError: cannot clean']);

  const hang =
    'import os\nclass H:\n    def process(self, x):\n        return os.getpid()\n    def cleanup(self):\n        while True:\n            pass\n';
  const stuck = createCPythonNode(source(hang), observedOptions(seen, { itemTimeoutMs: 300 }));
  await stuck.start();
  const [[pid]] = outputs(await stuck.processBatch([0])) as [[number]];
  // cleanup() never returns: close() kills the worker once it overruns the item timeout, and resolves.
  await stuck.close();
  assert.ok(!isRunning(pid), 'the worker was killed');
  assert.deepEqual(
    seen.warnings,
    ['cleanup() failed: RuntimeError: cannot clean'],
    'no warning for the kill',
  );
});

test('a pool of workers for a stateless node keeps the order of outputs', async () => {
  const code = 'import os\nclass P:\n    def process(self, x):\n        return [x, os.getpid()]\n';
  await withNode(
    code,
    async (node) => {
      const items = Array.from({ length: 50 }, (_, i) => i);
      const got = outputs(await node.processBatch(items)).map((o) => o[0] as [number, number]);
      assert.deepEqual(
        got.map(([x]) => x),
        items,
      );
      assert.equal(new Set(got.map(([, pid]) => pid)).size, 2);
      const [[single]] = outputs(await node.processBatch([7])) as [[[number, number]]];
      assert.equal(single[0], 7);
    },
    { poolSize: 2 },
  );
});

test('a second run of the same node reuses the idle worker with a fresh instance; another node gets its own', async () => {
  const COUNTER =
    'import os\n\nclass Counter:\n    def __init__(self):\n        self.seen = 0\n\n    def process(self, x):\n        self.seen += 1\n        return [os.getpid(), self.seen]\n';
  const run = async (code: string, id = 'reuse'): Promise<[number, number]> => {
    const node = createCPythonNode(source(code, { nodeId: id, fileName: `<node ${id}>` }), {});
    await node.start();
    const [r] = await node.processBatch([1]);
    await node.close();
    assert.ok(r?.ok);
    return r.outputs[0] as [number, number];
  };
  const [pidA, seenA] = await run(COUNTER);
  const [pidB, seenB] = await run(COUNTER);
  assert.equal(pidB, pidA, 'the same worker process served the second run');
  assert.equal(seenA, 1);
  assert.equal(seenB, 1, 'state did not carry over: a fresh instance');
  const [pidC] = await run(COUNTER.replace('self.seen += 1', 'self.seen += 2'));
  assert.notEqual(pidC, pidA, 'a different node definition never gets that worker');
});

test('audio: numpy is imported when the first frame arrives, not before; without numpy, samples are a memoryview', async () => {
  const code = [
    'import sys',
    'class Probe:',
    '    def process(self, x):',
    '        if not hasattr(x, "samples"):',
    '            return "numpy" in sys.modules',
    '        return [type(x.samples).__name__, x.samples.tolist(), "numpy" in sys.modules, x.derive(x.samples)]',
    '',
  ].join('\n');
  const frame = new AudioFrame(new Float32Array([0.5, -0.25]), { sampleRate: 8000, channels: 1 });
  await withNode(code, async (node) => {
    const [before] = outputs(await node.processBatch([0])); // (a batch is decoded whole before it runs)
    const [after] = outputs(await node.processBatch([frame]));
    assert.deepEqual(before, [false]);
    assert.deepEqual((after as [unknown[]])[0].slice(0, 3), ['ndarray', [0.5, -0.25], true]);
  });
  // Numbers numpy computed (numpy scalars) are fine as a frame's rate and timestamp.
  const scalars = [
    'import numpy as np',
    'from pitlane import AudioFrame',
    'class Scalars:',
    '    def process(self, f):',
    '        return AudioFrame(f.samples * np.float32(2), np.int64(f.sample_rate) * 2, 1, None, np.float64(1500.0))',
    '',
  ].join('\n');
  await withNode(scalars, async (node) => {
    const [[out]] = outputs(await node.processBatch([frame])) as [[AudioFrame]];
    assert.deepEqual([[...out.samples], out.sampleRate, out.timestampUs], [[1, -0.5], 16_000, 1500]);
  });
  // An interpreter whose numpy import fails: a numpy.py that raises ImportError, first on its path.
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-py-nonumpy-'));
  writeFileSync(join(dir, 'numpy.py'), 'raise ImportError("no numpy here")\n');
  const python = join(dir, 'python');
  writeFileSync(
    python,
    `#!/bin/sh\nPYTHONPATH=${dir} exec ${process.env.PITLANE_PYTHON ?? 'python3'} "$@"\n`,
    {
      mode: 0o755,
    },
  );
  await withNode(
    code,
    async (node) => {
      const [[[type, samples, , back]]] = outputs(await node.processBatch([frame])) as [
        [[string, number[], boolean, AudioFrame]],
      ];
      assert.deepEqual([type, samples], ['memoryview', [0.5, -0.25]]);
      assert.deepEqual([...back.samples], [0.5, -0.25]);
    },
    { python },
  );
});
