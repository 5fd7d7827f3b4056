// The CPython runtime against real python3 worker processes ($PITLANE_PYTHON, else python3 on the PATH).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCPythonNode, type CPythonRuntimeOptions } from './node.js';
import {
  PythonNodeInitError,
  type PythonLogRecord,
  type PythonNodeInstance,
  type PythonNodeSource,
} from '../runtime.js';
import { failure, outputs } from '../test-support.js';

/** What a test node reported besides its results. */
interface Observed {
  readonly logs: PythonLogRecord[];
  readonly warnings: string[];
  stderr: string;
}

function source(code: string, extra: Partial<PythonNodeSource> = {}): PythonNodeSource {
  const nodeId = extra.nodeId ?? 'n';
  return { nodeId, code, fileName: `<node ${nodeId}>`, className: null, init: {}, ...extra };
}

function observedOptions(seen: Observed, options: Partial<CPythonRuntimeOptions>): CPythonRuntimeOptions {
  return {
    onLog: (r) => seen.logs.push(r),
    onWarning: (_id, message) => seen.warnings.push(message),
    onStderr: (text) => {
      seen.stderr += text;
    },
    ...options,
  };
}

/** Starts a node, runs `body`, always closes it. */
async function withNode(
  src: PythonNodeSource | string,
  body: (node: PythonNodeInstance, seen: Observed) => Promise<void>,
  options: Partial<CPythonRuntimeOptions> = {},
): Promise<void> {
  const seen: Observed = { logs: [], warnings: [], stderr: '' };
  const node = createCPythonNode(typeof src === 'string' ? source(src) : src, observedOptions(seen, options));
  await node.start();
  try {
    await body(node, seen);
  } finally {
    await node.close();
  }
}

async function startError(src: PythonNodeSource): Promise<PythonNodeInitError> {
  const node = createCPythonNode(src, observedOptions({ logs: [], warnings: [], stderr: '' }, {}));
  try {
    await node.start();
  } catch (e) {
    assert.ok(e instanceof PythonNodeInitError, String(e));
    return e;
  } finally {
    await node.close();
  }
  assert.fail('start() should have failed');
}

/** Whether a process is running (zombies count as gone: their parent may be a container init that reaps late). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const IDENTITY = 'class Identity:\n    def process(self, x):\n        return x\n';

test('identity over 1000 items in batches of 100 keeps order and values', async () => {
  await withNode(IDENTITY, async (node) => {
    const items = Array.from({ length: 1000 }, (_, i) =>
      i % 3 === 0 ? i : i % 3 === 1 ? { i, s: `é${i}`, a: [i, null, true] } : `s${i}`,
    );
    const got: unknown[] = [];
    for (let i = 0; i < items.length; i += 100) {
      const results = await node.processBatch(items.slice(i, i + 100));
      assert.equal(results.length, 100);
      for (const o of outputs(results)) got.push(...o);
    }
    assert.deepEqual(got, items);
  });
});

test('numbers: integral JSON numbers within 2^53 are int, others float; outputs map back', async () => {
  const code = [
    'class Types:',
    '    def process(self, x):',
    '        if isinstance(x, dict):',
    '            return eval(x["expr"])',
    '        return [type(x).__name__, x]',
  ].join('\n');
  await withNode(code, async (node) => {
    const results = await node.processBatch([1, 1.5, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, 1e21, 3.0]);
    assert.deepEqual(outputs(results), [
      [['int', 1]],
      [['float', 1.5]],
      [['int', 2 ** 53]],
      [['int', -(2 ** 53)]],
      [['float', 2 ** 53 + 2]],
      [['float', 1e21]],
      [['int', 3]],
    ]);
    const exprs = ['2**53 + 1', '3.0', '(1, "a")', '{"k": [1.5]}', 'True', 'None and 1'];
    const more = await node.processBatch(exprs.map((expr) => ({ expr })));
    assert.deepEqual(outputs(more), [[2 ** 53], [3], [[1, 'a']], [{ k: [1.5] }], [true], []]);
    const bad = await node.processBatch(
      ['{1, 2}', 'float("nan")', 'float("inf")', '{1: "a"}', '10**400', 'object()', '[1, {2}]'].map(
        (expr) => ({
          expr,
        }),
      ),
    );
    assert.deepEqual(
      bad.map((r) => failure(r).message),
      ['set', 'float', 'float', 'dict', 'int', 'object', 'set'].map(
        (t) => `cannot send a ${t} out of a Python node`,
      ),
    );
    assert.equal(failure(bad[0]).type, 'TypeError');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const unsendable = await node.processBatch([1, 10n, cyclic, 2]);
    assert.deepEqual(unsendable[0], { ok: true, outputs: [['int', 1]] });
    assert.match(failure(unsendable[1]).message, /^cannot send this item to a Python node: .*BigInt/);
    assert.match(failure(unsendable[2]).message, /^cannot send this item to a Python node: .*circular/);
    assert.deepEqual(unsendable[3], { ok: true, outputs: [['int', 2]] });
  });
});

test('binary values cross as bytes both ways, alone and nested; marker-like keys survive', async () => {
  const code = [
    'class Bin:',
    '    def process(self, x):',
    '        if isinstance(x, bytes):',
    '            return x[::-1]',
    '        return [type(x["b"]).__name__, x["b"] + b"!", {"\\x00b": [0, 1]}, {"\\x00o": x["o"]}, x["nul"]]',
  ].join('\n');
  await withNode(code, async (node) => {
    const big = Buffer.alloc(100_000, 7);
    big[0] = 1;
    const results = await node.processBatch([
      new Uint8Array([1, 2, 3]),
      { b: Buffer.from('hi'), o: { '\u0000b': 5 }, nul: 'a\u0000b' },
      big,
    ]);
    const [first, second, third] = outputs(results);
    const reversedSmall = first?.[0];
    assert.ok(Buffer.isBuffer(reversedSmall));
    assert.deepEqual([...reversedSmall], [3, 2, 1]);
    assert.deepEqual(second?.[0], [
      'bytes',
      Buffer.from('hi!'),
      { '\u0000b': [0, 1] },
      { '\u0000o': { '\u0000b': 5 } },
      'a\u0000b',
    ]);
    const reversed = third?.[0] as Buffer;
    assert.equal(reversed.length, 100_000);
    assert.equal(reversed[99_999], 1);
  });
});

test('generators, async generators and async def; None drops the item', async () => {
  const code = [
    'import asyncio',
    'class Many:',
    '    def process(self, x):',
    '        if x == "gen":',
    '            return (i for i in range(3))',
    '        if x == "none":',
    '            return None',
    '        if x == "agen":',
    '            return self.agen()',
    '        return self.later(x)',
    '    async def agen(self):',
    '        for i in range(2):',
    '            await asyncio.sleep(0)',
    '            yield i * 10',
    '    async def later(self, x):',
    '        await asyncio.sleep(0.001)',
    '        return x * 2',
  ].join('\n');
  await withNode(code, async (node) => {
    const results = await node.processBatch(['gen', 'none', 'agen', 21]);
    assert.deepEqual(outputs(results), [[0, 1, 2], [], [0, 10], [42]]);
  });
  const direct = [
    'class G:',
    '    def process(self, x):',
    '        yield x',
    '        yield x + 1',
    'class A:',
    '    async def process(self, x):',
    '        return -x',
    'class AG:',
    '    async def process(self, x):',
    '        yield x',
  ].join('\n');
  for (const [className, expected] of [
    ['G', [[1, 2]]],
    ['A', [[-1]]],
    ['AG', [[1]]],
  ] as const) {
    await withNode(source(direct, { className }), async (node) => {
      assert.deepEqual(outputs(await node.processBatch([1])), expected);
    });
  }
});

test('state across items, init kwargs, initialize(), flush() outputs', async () => {
  const code = [
    'class Sum:',
    '    def __init__(self, start=0, scale=1):',
    '        self.total = start',
    '        self.scale = scale',
    '    async def initialize(self):',
    '        self.total *= self.scale',
    '    def process(self, x):',
    '        self.total += x',
    '        return self.total',
    '    def flush(self):',
    '        yield "end"',
    '        yield self.total',
  ].join('\n');
  await withNode(source(code, { init: { start: 5, scale: 2 } }), async (node) => {
    assert.deepEqual(outputs(await node.processBatch([1, 2])), [[11], [13]]);
    assert.deepEqual(outputs(await node.processBatch([3])), [[16]]);
    assert.deepEqual(await node.flush(), { ok: true, outputs: ['end', 16] });
  });
  await withNode(IDENTITY, async (node) => {
    assert.deepEqual(await node.flush(), { ok: true, outputs: [] });
  });
});

test('class selection: the only class with process(), or the one named; errors otherwise', async () => {
  const two =
    'import json\nclass A:\n    def process(self, x):\n        return "a"\nclass B:\n    def process(self, x):\n        return "b"\nclass Helper:\n    pass\n';
  await withNode(source(two, { className: 'B' }), async (node) => {
    assert.deepEqual(outputs(await node.processBatch([0])), [['b']]);
  });
  await withNode(
    'from collections import OrderedDict\nclass Only:\n    def process(self, x):\n        return "only"\nAlias = Only\n',
    async (node) => {
      assert.deepEqual(outputs(await node.processBatch([0])), [['only']]);
    },
  );
  const several = await startError(source(two));
  assert.equal(several.exception.type, 'LookupError');
  assert.match(several.exception.message, /several classes with a process\(\) method \(A, B\)/);
  const none = await startError(source('class Helper:\n    pass\n'));
  assert.match(none.exception.message, /defines no class with a process\(\) method/);
  const missing = await startError(source(two, { className: 'C' }));
  assert.equal(missing.exception.type, 'NameError');
  assert.match(missing.exception.message, /no class named 'C'/);
});

test('a syntax error or an exception in __init__ fails start() with a filtered traceback', async () => {
  const syntax = await startError(
    source('class S:\n    def process(self, x)\n        return x\n', { nodeId: 'syn' }),
  );
  assert.equal(syntax.exception.type, 'SyntaxError');
  // The wording of the message varies across Python versions ("expected ':'", "invalid syntax").
  assert.match(
    syntax.exception.traceback,
    /^Traceback \(most recent call last\):\n {2}File "<node syn>", line 2\nSyntaxError: [^\n]+\n$/,
  );
  assert.match(syntax.message, /^SyntaxError: .*\(<node syn>, line 2\)/);
  const init = await startError(
    source(
      'class I:\n    def __init__(self):\n        raise ValueError("bad config")\n    def process(self, x):\n        return x\n',
      {
        nodeId: 'ini',
      },
    ),
  );
  assert.deepEqual(init.exception, {
    type: 'ValueError',
    message: 'bad config',
    traceback:
      'Traceback (most recent call last):\n  File "<node ini>", line 3, in __init__\nValueError: bad config\n',
  });
});

test('an exception in process() is an item error with the filtered traceback of the contract', async () => {
  const code =
    'class Div:\n    def process(self, x):\n        return self.helper(x)\n    def helper(self, x):\n        return 1 / x\n';
  await withNode(
    source('class Div:\n    def process(self, x):\n        return 1 / x\n', { nodeId: 'div' }),
    async (node) => {
      const [ok, bad] = await node.processBatch([2, 0]);
      assert.deepEqual(ok, { ok: true, outputs: [0.5] });
      assert.deepEqual(failure(bad), {
        type: 'ZeroDivisionError',
        message: 'division by zero',
        traceback:
          'Traceback (most recent call last):\n  File "<node div>", line 3, in process\nZeroDivisionError: division by zero\n',
      });
    },
  );
  await withNode(source(code, { nodeId: 'deep' }), async (node) => {
    const [bad] = await node.processBatch([0]);
    assert.equal(
      failure(bad).traceback,
      'Traceback (most recent call last):\n  File "<node deep>", line 3, in process\n  File "<node deep>", line 5, in helper\nZeroDivisionError: division by zero\n',
    );
  });
});

test('a module file: its relative name in tracebacks, sibling imports work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-py-test-'));
  writeFileSync(join(dir, 'helper.py'), 'def double(x):\n    return 2 * x\n');
  const path = join(dir, 'node.py');
  writeFileSync(
    path,
    'from helper import double\n\nclass Mod:\n    def process(self, x):\n        return double(10 // x)\n',
  );
  await withNode(
    { nodeId: 'm', modulePath: path, fileName: 'nodes/node.py', className: 'Mod', init: {} },
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

test('print() and logging become log records with node id and level; fd 1 and subprocesses cannot corrupt the channel', async () => {
  const code = [
    'import logging, os, subprocess, sys',
    'log = logging.getLogger("mine")',
    'class Talk:',
    '    def process(self, x):',
    '        print("item", x)',
    '        print("partial", end="")',
    '        log.warning("careful %s", x)',
    '        logging.error("bad")',
    '        log.debug("hidden")',
    '        os.write(1, b"raw fd 1\\n")',
    '        subprocess.run(["echo", "from a subprocess"], check=True)',
    '        sys.stderr.write("to stderr\\n")',
    '        return x',
  ].join('\n');
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
      const started = performance.now();
      const results = await node.processBatch(['before', 'hang', 'after']);
      const elapsed = performance.now() - started;
      assert.deepEqual(results[0], { ok: true, outputs: ['before'] });
      assert.deepEqual(failure(results[1]), {
        type: 'WorkerTimeout',
        message: 'timed out after 0.5 s',
        traceback: '',
      });
      assert.deepEqual(results[2], { ok: true, outputs: ['after'] });
      assert.ok(elapsed < 5000, `took ${elapsed} ms`);
      assert.deepEqual(outputs(await node.processBatch(['next'])), [['next']]);
      assert.equal(seen.warnings.length, 1);
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
  const seen: Observed = { logs: [], warnings: [], stderr: '' };
  const node = createCPythonNode(source(code), observedOptions(seen, {}));
  await node.start();
  const [pids] = outputs(await node.processBatch([0]));
  const [worker, child] = pids?.[0] as [number, number];
  assert.ok(running(worker) && running(child));
  await node.close();
  assert.ok(!running(worker), 'worker gone');
  const deadline = Date.now() + 2000;
  while (running(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!running(child), 'its subprocess gone');
  assert.deepEqual(
    seen.logs.map((r) => r.message),
    ['cleaning up'],
  );
  await assert.rejects(node.processBatch([1]), /closed/);
});

test('a cleanup() that fails is a warning, one that hangs is killed; close() never rejects', async () => {
  const seen: Observed = { logs: [], warnings: [], stderr: '' };
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
  const started = performance.now();
  await stuck.close();
  assert.ok(performance.now() - started < 3000);
  assert.ok(!running(pid));
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
