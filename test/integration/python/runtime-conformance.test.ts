// The behaviours of the `python` node contract (docs/python-nodes.md) that both runtimes must show alike: each
// test runs on the CPython runtime (real python3 workers) and on the Pyodide runtime (the real Pyodide of
// node_modules, loaded cold in this process: no snapshot cache is read or written). What only one runtime does
// (worker processes and pools, the snapshot cache, interrupting an item in place ...) is tested in its own folder.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { AudioFrame, arrivalOf, fromFrame } from '../../../dist/core/audio.js';
import { createCPythonNode } from '../../../dist/python/cpython/node.js';
import { createPyodideNode } from '../../../dist/python/pyodide/node.js';
import type { PythonCallResult, PythonNodeInstance, PythonNodeSource } from '../../../dist/python/runtime.js';
import { failure, nodeHarness, outputs, source, type Observed } from '../../../dist/python/test-support.js';
import { observing, withModuleFiles } from './python-support.js';

process.env.PITLANE_PYODIDE_SNAPSHOT = '0';

const RUNTIMES: readonly {
  readonly name: PythonNodeInstance['runtime'];
  readonly create: (src: PythonNodeSource, seen: Observed) => PythonNodeInstance;
}[] = [
  {
    name: 'cpython',
    create: (src, seen) => createCPythonNode(src, observing(seen)),
  },
  {
    name: 'pyodide',
    create: (src, seen) => createPyodideNode(src, observing(seen)),
  },
];

/** Python's message for `10 // 0`: Debian's python3 (3.11) and Pyodide's Python (3.14) word it differently. */
const FLOOR_DIVISION_BY_ZERO = {
  cpython: 'integer division or modulo by zero',
  pyodide: 'division by zero',
} as const;

const IDENTITY = 'class Identity:\n    def process(self, x):\n        return x\n';

for (const runtime of RUNTIMES) {
  const { withNode, startError } = nodeHarness((src, seen) => runtime.create(src, seen), undefined);
  const name = (title: string): string => `${runtime.name}: ${title}`;

  test(
    name('identity over 1000 items, in batches of 100 and in one batch, keeps order and values'),
    async () => {
      await withNode(IDENTITY, async (node) => {
        const items = Array.from({ length: 1000 }, (_, i) =>
          i % 3 === 0 ? i : i % 3 === 1 ? { i, s: `é${i}\u{1F600}`, a: [i, null, true, -0.5] } : `s${i}`,
        );
        const got: unknown[] = [];
        for (let i = 0; i < items.length; i += 100) {
          const results = await node.processBatch(items.slice(i, i + 100));
          assert.equal(results.length, 100);
          for (const o of outputs(results)) got.push(...o);
        }
        assert.deepEqual(got, items);
        const results = await node.processBatch(items);
        assert.equal(results.length, 1000);
        assert.deepEqual(
          outputs(results).map((o) => o[0]),
          items,
        );
      });
    },
  );

  test(
    name('numbers: integral JSON numbers within 2^53 are int, others float; outputs map back'),
    async () => {
      const code = [
        'class Types:',
        '    def process(self, x):',
        '        if isinstance(x, dict):',
        '            return eval(x["expr"])',
        '        return [type(x).__name__, x]',
      ].join('\n');
      await withNode(code, async (node) => {
        const results = await node.processBatch([1, 1.5, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, 1e21, 3.0, -0]);
        assert.deepEqual(outputs(results), [
          [['int', 1]],
          [['float', 1.5]],
          [['int', 2 ** 53]],
          [['int', -(2 ** 53)]],
          [['float', 2 ** 53 + 2]],
          [['float', 1e21]],
          [['int', 3]],
          [['int', 0]],
        ]);
        const exprs = [
          '2**53 + 1',
          '3.0',
          '(1, "a")',
          '{"k": [1.5]}',
          'True',
          'None and 1',
          '10**300',
          '[None]',
        ];
        const more = await node.processBatch(exprs.map((expr) => ({ expr })));
        assert.deepEqual(outputs(more), [
          [2 ** 53],
          [3],
          [[1, 'a']],
          [{ k: [1.5] }],
          [true],
          [],
          [1e300],
          [[null]],
        ]);
        const bad = await node.processBatch(
          [
            '{1, 2}',
            'float("nan")',
            'float("inf")',
            '{1: "a"}',
            '10**400',
            'object()',
            '[1, {2}]',
            '{"a": {True: 1}}',
          ].map((expr) => ({ expr })),
        );
        assert.deepEqual(
          bad.map((r) => failure(r).message),
          ['set', 'float', 'float', 'dict', 'int', 'object', 'set', 'dict'].map(
            (t) => `cannot send a ${t} out of a Python node`,
          ),
        );
        assert.deepEqual(failure(bad[0]), {
          type: 'TypeError',
          message: 'cannot send a set out of a Python node',
          traceback: '',
        });
      });
    },
  );

  test(
    name('binary values cross as bytes both ways, alone and nested; marker-like keys survive'),
    async () => {
      const code = [
        'class Bin:',
        '    def process(self, x):',
        '        if isinstance(x, bytes):',
        '            return x[::-1]',
        '        return [type(x["b"]).__name__, x["b"] + b"!", {"\\x00b": [0, 1]}, {"\\x00o": x["o"]}, x["nul"], b""]',
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
        const small = first?.[0];
        assert.ok(Buffer.isBuffer(small));
        assert.deepEqual([...small], [3, 2, 1]);
        assert.deepEqual(second?.[0], [
          'bytes',
          Buffer.from('hi!'),
          { '\u0000b': [0, 1] },
          { '\u0000o': { '\u0000b': 5 } },
          'a\u0000b',
          Buffer.alloc(0),
        ]);
        const reversed = third?.[0] as Uint8Array;
        assert.equal(reversed.length, 100_000);
        assert.equal(reversed[99_999], 1);
      });
    },
  );

  test(name('generators, async generators and async def; None drops the item'), async () => {
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
      '        if x == "nones":',
      '            return (v for v in [None, 1])',
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
      const results = await node.processBatch(['gen', 21, 'none', 'agen', 'nones', 'gen']);
      assert.deepEqual(outputs(results), [[0, 1, 2], [42], [], [0, 10], [null, 1], [0, 1, 2]]);
      const again = await node.processBatch(['gen', 'none', 'agen', 21]);
      assert.deepEqual(outputs(again), [[0, 1, 2], [], [0, 10], [42]]);
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
      '        if x == 2:',
      '            raise ValueError("two")',
    ].join('\n');
    for (const [className, expected] of [
      [
        'G',
        [
          [1, 2],
          [2, 3],
        ],
      ],
      ['A', [[-1], [-2]]],
    ] as const) {
      await withNode(source(direct, { className }), async (node) => {
        assert.deepEqual(outputs(await node.processBatch([1, 2])), expected);
      });
    }
    await withNode(source(direct, { className: 'AG', nodeId: 'ag' }), async (node) => {
      const [one, two, three] = await node.processBatch([1, 2, 3]);
      assert.deepEqual(one, { ok: true, outputs: [1] });
      assert.equal(
        failure(two).traceback,
        'Traceback (most recent call last):\n  File "<node ag>", line 12, in process\nValueError: two\n',
      );
      assert.deepEqual(three, { ok: true, outputs: [3] });
    });
  });

  test(name('batches of one node never overtake each other'), async () => {
    const code =
      'import asyncio\nclass Slow:\n    async def process(self, x):\n        await asyncio.sleep(0.002 * (3 - x))\n        return x\n';
    await withNode(code, async (node) => {
      const batches = await Promise.all([
        node.processBatch([0]),
        node.processBatch([1]),
        node.processBatch([2]),
      ]);
      assert.deepEqual(
        batches.map((b) => outputs(b)),
        [[[0]], [[1]], [[2]]],
      );
    });
  });

  test(name('state across items, init kwargs, initialize(), flush() outputs, cleanup()'), async () => {
    const code = [
      'class Sum:',
      '    def __init__(self, start=0, scale=1, tags=()):',
      '        self.total = start',
      '        self.scale = scale',
      '        self.tags = tags',
      '    async def initialize(self):',
      '        self.total *= self.scale',
      '    def process(self, x):',
      '        self.total += x',
      '        return self.total',
      '    def flush(self):',
      '        yield "end"',
      '        yield self.total',
      '        yield self.tags',
      '    def cleanup(self):',
      '        print("cleaned", self.total)',
    ].join('\n');
    await withNode(source(code, { init: { start: 5, scale: 2, tags: ['a', null] } }), async (node, seen) => {
      assert.deepEqual(outputs(await node.processBatch([1, 2])), [[11], [13]]);
      assert.deepEqual(outputs(await node.processBatch([3])), [[16]]);
      assert.deepEqual(await node.flush(), { ok: true, outputs: ['end', 16, ['a', null]] });
      await node.close();
      assert.deepEqual(
        seen.logs.map((r) => r.message),
        ['cleaned 16'],
      );
      await assert.rejects(node.processBatch([1]), /is closed/);
    });
    await withNode(IDENTITY, async (node) => {
      assert.deepEqual(await node.flush(), { ok: true, outputs: [] });
    });
    const failing =
      'class F:\n    def process(self, x):\n        return x\n    def cleanup(self):\n        raise OSError("busy")\n';
    await withNode(failing, async (node, seen) => {
      await node.close();
      assert.deepEqual(seen.warnings, ['cleanup() failed: OSError: busy']);
    });
  });

  test(
    name('class selection: the only class with process(), or the one named; errors otherwise'),
    async () => {
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
      assert.deepEqual(several.exception, {
        type: 'LookupError',
        message:
          '<node n> defines several classes with a process() method (A, B): name the one to use with `class`',
        traceback:
          'LookupError: <node n> defines several classes with a process() method (A, B): name the one to use with `class`\n',
      });
      const none = await startError(source('class Helper:\n    pass\n'));
      assert.match(none.exception.message, /defines no class with a process\(\) method/);
      const missing = await startError(source(two, { className: 'C' }));
      assert.equal(missing.exception.type, 'NameError');
      assert.match(missing.exception.message, /no class named 'C'/);
      const notClass = await startError(source('x = 1\n', { className: 'x' }));
      assert.equal(notClass.exception.message, "'x' in <node n> is a int, not a class");
    },
  );

  test(
    name('a syntax error or an exception in __init__ fails start() with a filtered traceback'),
    async () => {
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
          { nodeId: 'ini' },
        ),
      );
      assert.deepEqual(init.exception, {
        type: 'ValueError',
        message: 'bad config',
        traceback:
          'Traceback (most recent call last):\n  File "<node ini>", line 3, in __init__\nValueError: bad config\n',
      });
      const asyncInit = await startError(
        source(
          'class I:\n    async def initialize(self):\n        raise KeyError("k")\n    def process(self, x):\n        return x\n',
        ),
      );
      assert.equal(
        asyncInit.exception.traceback,
        'Traceback (most recent call last):\n  File "<node n>", line 3, in initialize\nKeyError: \'k\'\n',
      );
    },
  );

  test(
    name('an exception in process() is an item error with the filtered traceback of the contract'),
    async () => {
      await withNode(
        source('class Div:\n    def process(self, x):\n        return 1 / x\n', { nodeId: 'div' }),
        async (node) => {
          const [ok, bad, after] = await node.processBatch([2, 0, 4]);
          assert.deepEqual(ok, { ok: true, outputs: [0.5] });
          assert.deepEqual(failure(bad), {
            type: 'ZeroDivisionError',
            message: 'division by zero',
            traceback:
              'Traceback (most recent call last):\n  File "<node div>", line 3, in process\nZeroDivisionError: division by zero\n',
          });
          assert.deepEqual(after, { ok: true, outputs: [0.25] });
        },
      );
      const helper =
        'class Div:\n    def process(self, x):\n        return self.helper(x)\n    def helper(self, x):\n        return 1 / x\n';
      await withNode(source(helper, { nodeId: 'deep' }), async (node) => {
        const [bad] = await node.processBatch([0]);
        assert.equal(
          failure(bad).traceback,
          'Traceback (most recent call last):\n  File "<node deep>", line 3, in process\n  File "<node deep>", line 5, in helper\nZeroDivisionError: division by zero\n',
        );
      });
      const library =
        'import json\nclass Div:\n    def process(self, x):\n        return self.helper(x)\n    def helper(self, x):\n        return json.loads(x)\n';
      await withNode(source(library, { nodeId: 'deep' }), async (node) => {
        const [bad] = await node.processBatch(['{']);
        assert.equal(failure(bad).type, 'JSONDecodeError');
        assert.match(
          failure(bad).traceback,
          /^Traceback \(most recent call last\):\n {2}File "<node deep>", line 4, in process\n {2}File "<node deep>", line 6, in helper\nJSONDecodeError: Expecting property name/,
        );
      });
    },
  );
  test(
    name('a module file: read by the runtime, its relative name in tracebacks; a missing one fails start()'),
    async () => {
      const code =
        'import math\n\nclass Mod:\n    def process(self, x):\n        return math.floor(10 // x)\n';
      await withModuleFiles({ 'node.py': code }, async (dir) => {
        const path = join(dir, 'node.py');
        await withNode(
          { nodeId: 'm', modulePath: path, fileName: 'nodes/node.py', className: 'Mod', init: {} },
          async (node) => {
            const [ok, bad] = await node.processBatch([2, 0]);
            assert.deepEqual(ok, { ok: true, outputs: [5] });
            assert.equal(
              failure(bad).traceback,
              `Traceback (most recent call last):\n  File "nodes/node.py", line 5, in process\nZeroDivisionError: ${FLOOR_DIVISION_BY_ZERO[runtime.name]}\n`,
            );
          },
        );
        const missing = await startError({
          nodeId: 'm',
          modulePath: join(dir, 'absent.py'),
          fileName: 'absent.py',
          className: 'X',
          init: {},
        });
        assert.equal(missing.exception.type, 'FileNotFoundError');
      });
    },
  );

  // Audio frames (docs/python-nodes.md, "Audio"): the same node code on both runtimes. `flat` is the interleaved
  // samples whatever the runtime gives (a numpy array there, a memoryview here).
  const FLAT = [
    'import array',
    'from pitlane import AudioFrame',
    'def flat(f):',
    '    s = f.samples',
    '    return s.reshape(-1).tolist() if hasattr(s, "reshape") else s.tolist()',
    '',
  ].join('\n');

  test(
    name("audio: a gain applied in Python comes back as an AudioFrame that keeps the input frame's fields"),
    async () => {
      const code = `${FLAT}class Gain:\n    def process(self, f):\n        return f.derive(array.array("f", [x * 0.5 for x in flat(f)]))\n`;
      await withNode(code, async (node) => {
        const input = new AudioFrame(
          Float32Array.from({ length: 960 }, (_, i) => Math.sin(i / 10)),
          {
            sampleRate: 48_000,
            channels: 2,
            streamId: 'mic',
            timestampUs: 20_000,
            arrivalTsUs: 1234.5,
            metadata: { vad: true },
          },
        );
        const [[out]] = outputs(await node.processBatch([input])) as [[AudioFrame]];
        assert.ok(out instanceof AudioFrame);
        assert.deepEqual(
          [out.sampleRate, out.channels, out.streamId, out.timestampUs, out.arrivalTsUs, out.metadata],
          [48_000, 2, 'mic', 20_000, 1234.5, { vad: true }],
        );
        assert.deepEqual(
          out.samples,
          input.samples.map((x) => x * 0.5),
        );
      });
    },
  );

  test(
    name('audio: what Python makes from a frame carries its arrival time (per-frame latency)'),
    async () => {
      const code = [
        'class Transcript:',
        '    def process(self, x):',
        '        if isinstance(x, dict):',
        '            return {"event": x["kind"]}',
        '        return self.from_frame(x)',
        '    def from_frame(self, x):',
        '        yield {"text": "hi", "start": x.start}',
        '        yield (x.samples, x.sample_rate)',
        '        yield 3',
        '',
      ].join('\n');
      await withNode(code, async (node) => {
        const frame = new AudioFrame(new Float32Array(160), {
          sampleRate: 16_000,
          channels: 1,
          streamId: 'mic',
          timestampUs: 500_000,
          arrivalTsUs: 42,
        });
        const event = fromFrame({ kind: 'speech' }, frame);
        const [fromAudio, fromPlain, fromEvent] = outputs(
          await node.processBatch([frame, { kind: 'plain' }, event]),
        ) as [[object, AudioFrame, number], [object], [object]];
        /** The item as JSON sees it (without the arrival mark, a symbol key). */
        const json = (o: object): unknown => JSON.parse(JSON.stringify(o));
        const [text, audio, three] = fromAudio;
        assert.deepEqual([json(text), arrivalOf(text)], [{ text: 'hi', start: 0.5 }, 42]);
        assert.deepEqual([arrivalOf(audio), audio.streamId, three], [42, 'mic', 3]);
        assert.deepEqual([json(fromPlain[0]), arrivalOf(fromPlain[0])], [{ event: 'plain' }, undefined]);
        assert.deepEqual([json(fromEvent[0]), arrivalOf(fromEvent[0])], [{ event: 'speech' }, 42]);
      });
    },
  );

  test(name('audio: a frame split into two, each with its own timestamp'), async () => {
    const code = [
      FLAT,
      'class Split:',
      '    def process(self, f):',
      '        s = array.array("f", flat(f))',
      '        half = (f.frames // 2) * f.channels',
      '        yield f.derive(s[:half])',
      '        yield f.derive(s[half:], timestamp_us=f.timestamp_us + round(f.frames // 2 * 1e6 / f.sample_rate))',
      '',
    ].join('\n');
    await withNode(code, async (node) => {
      const input = new AudioFrame(
        Float32Array.from({ length: 1600 }, (_, i) => i / 1600),
        {
          sampleRate: 16_000,
          channels: 1,
          timestampUs: 1_000_000,
          arrivalTsUs: 7,
        },
      );
      const [frames] = outputs(await node.processBatch([input])) as [AudioFrame[]];
      assert.equal(frames.length, 2);
      const [a, b] = frames as [AudioFrame, AudioFrame];
      assert.deepEqual([a.frames, a.timestampUs, b.frames, b.timestampUs], [800, 1_000_000, 800, 1_050_000]);
      assert.deepEqual(a.samples, input.samples.subarray(0, 800));
      assert.deepEqual(b.samples, input.samples.subarray(800));
      assert.deepEqual([a.arrivalTsUs, b.arrivalTsUs], [7, 7]);
    });
  });

  test(
    name('audio: rate, channels, stream id, timestamp and metadata reach Python and come back'),
    async () => {
      const code = [
        FLAT,
        'class Describe:',
        '    def process(self, f):',
        '        if not isinstance(f, AudioFrame):',
        '            return AudioFrame(array.array("f", f["samples"]), f["rate"], f["channels"])',
        '        fields = {"rate": f.sample_rate, "channels": f.channels, "frames": f.frames, "duration": f.duration,',
        '                  "stream_id": f.stream_id, "timestamp_us": f.timestamp_us, "metadata": f.metadata,',
        '                  "samples": flat(f), "readonly": memoryview(f.samples).readonly}',
        '        return [fields, f]',
        '',
      ].join('\n');
      await withNode(code, async (node) => {
        const metadata = { speech: { p: 0.75, tags: ['a', 'b'] }, raw: Buffer.from([1, 2, 3]) };
        const input = new AudioFrame(new Float32Array([0.25, -0.5, 1, 0, -1, 0.125]), {
          sampleRate: 44_100,
          channels: 3,
          streamId: 'track-2',
          timestampUs: 123_456,
          metadata,
        });
        // A frame that views part of a larger buffer (as the chunks of a decoded file do): only its samples cross.
        const plain = new AudioFrame(new Float32Array([9, 0.5, 9]).subarray(1, 2), {
          sampleRate: 8000,
          channels: 1,
        });
        const made = { samples: [0.5, -0.5, 0.25, 0], rate: 22_050, channels: 2 };
        const results = outputs(await node.processBatch([input, plain, made]));
        const [[[fields, back]]] = results as [[[Record<string, unknown>, AudioFrame]]];
        assert.deepEqual(fields, {
          rate: 44_100,
          channels: 3,
          frames: 2,
          duration: 2 / 44_100,
          stream_id: 'track-2',
          timestamp_us: 123_456,
          metadata,
          samples: [0.25, -0.5, 1, 0, -1, 0.125],
          readonly: true,
        });
        assert.ok(back instanceof AudioFrame);
        assert.deepEqual(
          [back.sampleRate, back.channels, back.streamId, back.timestampUs, back.metadata, [...back.samples]],
          [44_100, 3, 'track-2', 123_456, metadata, [...input.samples]],
        );
        const [[[plainFields]]] = [results[1]] as [[[Record<string, unknown>]]];
        assert.deepEqual(
          [plainFields.stream_id, plainFields.timestamp_us, plainFields.metadata, plainFields.samples],
          [null, null, null, [0.5]],
        );
        const [made2] = results[2] as [AudioFrame];
        assert.deepEqual(
          [made2.sampleRate, made2.channels, made2.frames, [...made2.samples], made2.arrivalTsUs],
          [22_050, 2, 2, [0.5, -0.5, 0.25, 0], undefined],
        );
      });
    },
  );

  test(name('audio: a 10 s 48 kHz stereo frame crosses both ways intact'), async () => {
    const code = [
      'class Echo:',
      '    def process(self, f):',
      '        s = f.samples',
      '        last = s[-1][-1] if hasattr(s, "reshape") else s[-1]',
      '        return [{"frames": f.frames, "first": float(s.reshape(-1)[0] if hasattr(s, "reshape") else s[0]),',
      '                 "last": float(last)}, f]',
      '',
    ].join('\n');
    await withNode(code, async (node) => {
      const samples = Float32Array.from({ length: 48_000 * 10 * 2 }, (_, i) => ((i % 2001) - 1000) / 1000);
      const input = new AudioFrame(samples, { sampleRate: 48_000, channels: 2 });
      const [[[info, back]]] = outputs(await node.processBatch([input])) as [
        [[Record<string, number>, AudioFrame]],
      ];
      assert.deepEqual(info, { frames: 480_000, first: samples[0], last: samples[samples.length - 1] });
      assert.equal(back.samples.length, samples.length);
      assert.ok(
        Buffer.from(back.samples.buffer, back.samples.byteOffset, back.samples.byteLength).equals(
          Buffer.from(samples.buffer),
        ),
        'the samples came back unchanged',
      );
    });
  });

  test(
    name("audio: an empty frame; RemoteMedia's (audio_data, sample_rate) tuple; a frame that cannot cross"),
    async () => {
      const code = [
        FLAT,
        'class Edge:',
        '    def process(self, f):',
        '        if f.metadata == {"case": "tuple"}:',
        '            return (array.array("f", flat(f)), 16000)',
        '        if f.metadata == {"case": "rate"}:',
        '            return f.derive(f.samples, sample_rate=0)',
        '        if f.metadata == {"case": "channels"}:',
        '            return f.derive(array.array("f", [0.0, 0.0, 0.0]), channels=2)',
        '        return [f.frames, f.duration, len(flat(f)), f]',
        '',
      ].join('\n');
      await withNode(code, async (node) => {
        const empty = new AudioFrame(new Float32Array(0), { sampleRate: 16_000, channels: 2, streamId: 's' });
        const mono = new Float32Array([0.5, 0.25]);
        const frame = (md: Record<string, unknown>): AudioFrame =>
          new AudioFrame(mono, {
            sampleRate: 16_000,
            channels: 1,
            streamId: 'rm',
            arrivalTsUs: 3,
            metadata: md,
          });
        const [first, tuple, rate, channels] = await node.processBatch([
          empty,
          frame({ case: 'tuple' }),
          frame({ case: 'rate' }),
          frame({ case: 'channels' }),
        ]);
        const [[[frames, duration, n, back]]] = outputs([first as PythonCallResult]) as [
          [[number, number, number, AudioFrame]],
        ];
        assert.deepEqual([frames, duration, n], [0, 0, 0]);
        assert.deepEqual(
          [back.samples.length, back.channels, back.sampleRate, back.streamId],
          [0, 2, 16_000, 's'],
        );
        const [[fromTuple]] = outputs([tuple as PythonCallResult]) as [[AudioFrame]];
        assert.deepEqual(
          [
            [...fromTuple.samples],
            fromTuple.sampleRate,
            fromTuple.channels,
            fromTuple.streamId,
            fromTuple.arrivalTsUs,
            fromTuple.metadata,
          ],
          [[0.5, 0.25], 16_000, 1, 'rm', 3, undefined],
        );
        assert.deepEqual(failure(rate), {
          type: 'ValueError',
          message: 'an audio frame needs a positive sample_rate (got 0)',
          traceback: '',
        });
        assert.deepEqual(failure(channels), {
          type: 'ValueError',
          message: '3 samples do not divide into 2 interleaved channels',
          traceback: '',
        });
      });
    },
  );
}
