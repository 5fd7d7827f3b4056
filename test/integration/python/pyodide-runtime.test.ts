// The Pyodide runtime against the real Pyodide of node_modules: one instance for the whole file (loaded by the
// first start()), restored from a snapshot that the first test makes in a temporary cache folder. What only this
// runtime does (the snapshot cache, one VM for every node, interrupting an item in place); what both runtimes do
// alike is in ./runtime-conformance.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PythonNodeInstance, PythonNodeSource } from '../../../dist/python/runtime.js';
import {
  failure,
  nodeHarness,
  observed,
  outputs,
  source,
  type Observed,
} from '../../../dist/python/test-support.js';
import {
  createPyodideNode,
  pyodideLoadInfo,
  type PyodideLoadInfo,
} from '../../../dist/python/pyodide/node.js';
import { observing, stubbornLoop, talkingNode } from './python-support.js';

const CACHE = mkdtempSync(join(tmpdir(), 'pitlane-pyodide-test-'));
after(() => {
  rmSync(CACHE, { recursive: true, force: true });
});

function create(src: PythonNodeSource, seen: Observed): PythonNodeInstance {
  return createPyodideNode(src, observing(seen));
}

const { withNode, startError } = nodeHarness((src, seen) => create(src, seen), undefined);

const IDENTITY = 'class Identity:\n    def process(self, x):\n        return x\n';

/** Runs one node in a fresh process (its own Pyodide) with the test's cache folder; returns load info and output. */
function freshProcess(): Promise<{ info: PyodideLoadInfo; random: number }> {
  const runtime = fileURLToPath(new URL('../../../dist/python/pyodide/node.js', import.meta.url));
  const script = [
    `import { createPyodideNode, pyodideLoadInfo } from ${JSON.stringify(runtime)};`,
    // print() and a raw write to fd 1 must not reach stdout, where the result goes.
    `const code = 'import os, random\\nclass R:\\n    def process(self, x):\\n        print("noise")\\n        os.write(1, b"raw\\\\n")\\n        return random.random()\\n';`,
    `const node = createPyodideNode({ nodeId: 'r', code, fileName: '<node r>', className: null, init: {} }, {});`,
    'await node.start();',
    'const [result] = await node.processBatch([0]);',
    'await node.close();',
    'console.log(JSON.stringify({ info: await pyodideLoadInfo(), random: result.outputs[0] }));',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, PITLANE_CACHE_DIR: CACHE, PITLANE_PYODIDE_SNAPSHOT: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`exit ${String(code)}: ${err}`));
      else resolve(JSON.parse(out) as { info: PyodideLoadInfo; random: number });
    });
  });
}

test('a cold load makes a memory snapshot; later processes restore it, with random reseeded', async () => {
  const cold = await freshProcess();
  assert.equal(cold.info.source, 'cold');
  // The snapshot is written in the background: the first process waits for its write before exiting.
  assert.ok(readdirSync(CACHE).some((f) => f.endsWith('.snapshot')));
  const [a, b] = [await freshProcess(), await freshProcess()];
  assert.equal(a.info.source, 'snapshot');
  assert.equal(b.info.source, 'snapshot');
  assert.notEqual(a.random, b.random);
  // A snapshot that cannot be restored: cold load, and a marker so that it is never tried again.
  const file = readdirSync(CACHE).find((f) => f.endsWith('.snapshot'));
  assert.ok(file !== undefined);
  const good = readFileSync(join(CACHE, file));
  writeFileSync(join(CACHE, file), 'not a snapshot');
  const broken = await freshProcess();
  assert.equal(broken.info.source, 'cold');
  assert.ok(existsSync(join(CACHE, `${file}.bad`)));
  // Back to the good snapshot, which this process restores in the next tests.
  rmSync(join(CACHE, `${file}.bad`));
  writeFileSync(join(CACHE, file), good);
});

test('this process: loads once, on the first start()', async () => {
  process.env.PITLANE_CACHE_DIR = CACHE;
  assert.equal(await pyodideLoadInfo(), null);
  await withNode(IDENTITY, async () => {
    const info = await pyodideLoadInfo();
    assert.ok(info !== null);
    assert.equal(info.source, 'snapshot');
    assert.match(info.version, /^314\./);
    assert.ok(info.loadMs > 0);
  });
});

test('numbers: NaN and the infinities cross as floats (and cannot come back), integral numbers beyond 2^53 as floats', async () => {
  await withNode(
    'class Types:\n    def process(self, x):\n        return [type(x).__name__, x]\n',
    async (node) => {
      const odd = await node.processBatch([Number.NaN, -Infinity, 2 ** 60]);
      assert.deepEqual(
        odd.map((r) => (r.ok ? r.outputs : failure(r).message)),
        [
          'cannot send a float out of a Python node',
          'cannot send a float out of a Python node',
          [['float', 2 ** 60]],
        ],
      );
    },
  );
});

test('print(), sys.stderr and logging become log records of the node, with levels', async () => {
  const code = talkingNode('import logging, os, sys, warnings', [
    '        sys.stderr.write("to stderr\\n")',
    '        print("two\\nlines")',
  ]);
  await withNode(source(code, { nodeId: 'talk' }), async (node, seen) => {
    assert.deepEqual(outputs(await node.processBatch([1, 2])), [[1], [2]]);
    assert.deepEqual(
      seen.logs.map((r) => `${r.nodeId} ${r.level} ${r.message}`),
      [
        'talk info item 1',
        'talk warning careful 1',
        'talk error bad',
        'talk error to stderr',
        'talk info partialtwo\nlines',
        'talk info item 2',
        'talk warning careful 2',
        'talk error bad',
        'talk error to stderr',
        'talk info partialtwo\nlines',
      ],
    );
  });
});

test('two nodes: separate namespaces, each one its own log', async () => {
  const a =
    'counter = 0\nclass A:\n    def process(self, x):\n        global counter\n        counter += x\n        print("a", counter)\n        return counter\n';
  const b =
    'import asyncio\nclass B:\n    async def process(self, x):\n        await asyncio.sleep(0.001)\n        print("b", "counter" in globals())\n        return "counter" in globals()\n';
  const seenA: Observed = observed();
  const seenB: Observed = observed();
  const nodeA = create(source(a, { nodeId: 'a' }), seenA);
  const nodeB = create(source(b, { nodeId: 'b' }), seenB);
  await Promise.all([nodeA.start(), nodeB.start()]);
  try {
    const [ra, rb] = await Promise.all([nodeB.processBatch([1, 2]), nodeA.processBatch([5, 6])]);
    assert.deepEqual(outputs(ra), [[false], [false]]);
    assert.deepEqual(outputs(rb), [[5], [11]]);
    assert.deepEqual(
      seenA.logs.map((r) => `${r.nodeId} ${r.message}`),
      ['a a 5', 'a a 11'],
    );
    assert.deepEqual(
      seenB.logs.map((r) => `${r.nodeId} ${r.message}`),
      ['b b False', 'b b False'],
    );
  } finally {
    await Promise.all([nodeA.close(), nodeB.close()]);
  }
});

test('what cannot cross fails its item and leaves the runtime working', async () => {
  const code = [
    'class Odd:',
    '    def process(self, x):',
    '        if x == "cycle":',
    '            v = []',
    '            v.append(v)',
    '            return v',
    '        if x == "deep":',
    '            v = []',
    '            for _ in range(3000):',
    '                v = [v]',
    '            return v',
    '        return x',
  ].join('\n');
  await withNode(code, async (node) => {
    const [cycle, deep, fine] = await node.processBatch(['cycle', 'deep', 'fine']);
    assert.equal(failure(cycle).message, 'Circular reference detected');
    assert.equal(failure(deep).type, 'RecursionError');
    assert.deepEqual(fine, { ok: true, outputs: ['fine'] });
  });
});

test(
  'import numpy fails at start with ModuleNotFoundError (nothing is fetched)',
  { timeout: 20_000 },
  async () => {
    const err = await startError(
      source('import numpy\nclass N:\n    def process(self, x):\n        return x\n', { nodeId: 'np' }),
    );
    assert.equal(err.exception.type, 'ModuleNotFoundError');
    assert.equal(err.exception.message, "No module named 'numpy'");
    assert.match(
      err.exception.traceback,
      /^Traceback \(most recent call last\):\n {2}File "<node np>", line 1, in <module>\nModuleNotFoundError: No module named 'numpy'\n.*standard library only/,
    );
  },
);

// Timeouts and cancellation. Deadlines below are for failure detection only; nothing asserts how long a step took.

const TIMEOUT_ERROR = { type: 'WorkerTimeout', message: 'timed out after 0.3 s', traceback: '' };

/** Starts a node with a per-item timeout (and an abort signal), runs `body`, always closes it. */
async function withTimedNode(
  code: string,
  options: { timeoutMs?: number; signal?: AbortSignal; nodeId?: string; graceMs?: number },
  body: (node: PythonNodeInstance, seen: Observed) => Promise<void>,
): Promise<void> {
  const seen: Observed = observed();
  const node = createPyodideNode(source(code, { nodeId: options.nodeId ?? 't' }), {
    ...observing(seen),
    itemTimeoutMs: options.timeoutMs ?? 300,
    // Long, so that an item that does stop is never taken for stuck on a loaded machine (CI ran the full suite on
    // 2 cores and a 1 s grace ran out once); the tests of a stuck item set a short one.
    interruptGraceMs: options.graceMs ?? 10_000,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  await node.start();
  try {
    await body(node, seen);
  } finally {
    await node.close();
  }
}

const LOOPS = [
  'import time',
  'class Loop:',
  '    def __init__(self):',
  '        self.seen = []',
  '    def process(self, x):',
  '        if x == "spin":',
  '            while True:',
  '                pass',
  '        if x == "sleep":',
  '            time.sleep(1e9)',
  '        if x == "stubborn":',
  ...stubbornLoop(12),
  '        self.seen.append(x)',
  '        return self.seen[:]',
].join('\n');

test('a timed-out item (while True: pass) is interrupted; the batch goes on; state is kept', async () => {
  await withTimedNode(LOOPS, {}, async (node, seen) => {
    const results = await node.processBatch(['a', 'spin', 'b']);
    assert.deepEqual(results[0], { ok: true, outputs: [['a']] });
    assert.deepEqual(failure(results[1]), TIMEOUT_ERROR);
    // Interrupted, not restarted: the instance (and its state) is the same.
    assert.deepEqual(results[2], { ok: true, outputs: [['a', 'b']] });
    assert.deepEqual(outputs(await node.processBatch(['c'])), [[['a', 'b', 'c']]]);
    assert.deepEqual(seen.warnings, []);
  });
});

test('an item that catches KeyboardInterrupt forever: the VM is replaced, the state lost, a warning says so', async () => {
  const other =
    'class Count:\n    def __init__(self):\n        self.n = 0\n    def process(self, x):\n        self.n += 1\n        return self.n\n';
  const seenOther: Observed = observed();
  const bystander = create(source(other, { nodeId: 'other' }), seenOther);
  await bystander.start();
  try {
    assert.deepEqual(outputs(await bystander.processBatch([0, 0])), [[1], [2]]);
    await withTimedNode(LOOPS, { nodeId: 'stub', graceMs: 1_000 }, async (node, seen) => {
      const results = await node.processBatch(['a', 'stubborn', 'b']);
      assert.deepEqual(results[0], { ok: true, outputs: [['a']] });
      assert.deepEqual(failure(results[1]), TIMEOUT_ERROR);
      // The other items went to the new VM, where the node started again from scratch ('a' had no result yet:
      // it runs again, as on a restarted CPython worker).
      assert.deepEqual(results[2], { ok: true, outputs: [['a', 'b']] });
      assert.deepEqual(seen.warnings, [
        "node stub: an item timed out after 0.3 s and did not stop when interrupted; a new Pyodide VM takes over and the node's state is lost",
      ]);
      assert.deepEqual(outputs(await node.processBatch(['c'])), [[['a', 'b', 'c']]]);
    });
    // Another node of the same VM starts again in the new one, and says that its state was lost.
    assert.deepEqual(outputs(await bystander.processBatch([0])), [[1]]);
    assert.equal(seenOther.warnings.length, 1);
    assert.match(seenOther.warnings[0] ?? '', /^node stub: an item timed out .*the node's state is lost$/);
  } finally {
    await bystander.close();
  }
});

test('time.sleep(1e9) times out and is interrupted like a loop (the runtime sleeps in slices)', async () => {
  await withTimedNode(LOOPS, {}, async (node, seen) => {
    const results = await node.processBatch(['sleep', 'a']);
    assert.deepEqual(failure(results[0]), TIMEOUT_ERROR);
    assert.deepEqual(results[1], { ok: true, outputs: [['a']] });
    assert.deepEqual(seen.warnings, []);
  });
});

test('an async item that never resolves times out; the batch goes on', async () => {
  const code = [
    'import asyncio',
    'class Wait:',
    '    async def process(self, x):',
    '        if x == "hang":',
    '            await asyncio.sleep(1e9)',
    '        if x == "spin":',
    '            while True:',
    '                pass',
    '        return x',
  ].join('\n');
  await withTimedNode(code, {}, async (node, seen) => {
    const results = await node.processBatch(['a', 'hang', 'spin', 'b']);
    assert.deepEqual(results[0], { ok: true, outputs: ['a'] });
    assert.deepEqual(failure(results[1]), TIMEOUT_ERROR);
    assert.deepEqual(failure(results[2]), TIMEOUT_ERROR);
    assert.deepEqual(results[3], { ok: true, outputs: ['b'] });
    // Open defect (issue 14's note): in about one full-suite run in five under load, the async item waiting in
    // asyncio is not seen to stop within the grace after its timeout (its Task is not cancelled), and the documented
    // fallback runs (a new VM, the items without a result again, a warning). The answers are the same either way.
    const fallback =
      "node t: an item timed out after 0.3 s and did not stop when interrupted; a new Pyodide VM takes over and the node's state is lost";
    assert.ok(
      seen.warnings.length === 0 || (seen.warnings.length === 1 && seen.warnings[0] === fallback),
      seen.warnings.join('\n'),
    );
  });
});

test('flush() has the timeout too; a timed-out node keeps working', async () => {
  const code =
    'class F:\n    def process(self, x):\n        return x\n    def flush(self):\n        while True:\n            pass\n';
  await withTimedNode(code, {}, async (node) => {
    assert.deepEqual(failure(await node.flush()), TIMEOUT_ERROR);
    assert.deepEqual(outputs(await node.processBatch([1])), [[1]]);
  });
});

test('aborting the signal interrupts the item in flight; it and the rest of its batch fail as cancelled', async () => {
  const controller = new AbortController();
  // The spin item says when it starts, so the abort lands while it runs (not before the batch began, on a slow machine).
  const talking = LOOPS.replace(
    '        if x == "spin":\n',
    '        if x == "spin":\n            print("spinning", flush=True)\n',
  );
  await withTimedNode(talking, { timeoutMs: 60_000, signal: controller.signal }, async (node, seen) => {
    const pending = node.processBatch(['a', 'spin', 'b']);
    for (
      let waited = 0;
      !seen.logs.some((r) => r.message.includes('spinning')) && waited < 30_000;
      waited += 10
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    controller.abort();
    const results = await pending;
    const cancelled = { type: 'Cancelled', message: 'cancelled: the run was interrupted', traceback: '' };
    assert.deepEqual(failure(results[1]), cancelled);
    assert.deepEqual(failure(results[2]), cancelled);
    const after = outputs(await node.processBatch(['c']));
    if (results[0]?.ok === true) {
      // Interrupted in place: 'a' kept its result and the node its state; it still works after the cancellation
      // (flush and cleanup run at the end of a cancelled run).
      assert.deepEqual(results[0], { ok: true, outputs: [['a']] });
      assert.deepEqual(after, [[['a', 'c']]]);
    } else {
      // The documented fallback, seen under heavy load in the full suite: the item did not stop within the grace
      // period, the VM was replaced (the batch's answers with it), the node started again and says its state is lost.
      assert.deepEqual(failure(results[0]), cancelled);
      assert.deepEqual(after, [[['c']]]);
      assert.ok(
        seen.warnings.some(
          (w) => w.includes('did not stop when the run was cancelled') && w.includes('state is lost'),
        ),
        seen.warnings.join('\n'),
      );
    }
  });
});
