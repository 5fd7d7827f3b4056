// Generates docs/python-compatibility.md: which parts of Python work in each runtime of `python` nodes. Each probe
// is a small snippet that prints "ok" or raises; it runs in CPython (a plain `python3 -c` subprocess, the
// interpreter of the cpython runtime) and in Pyodide (as the process() of a node in pitlane's own Pyodide runtime,
// i.e. exactly where node code runs). Build first (`npx tsc -p .`), then:
//   node scripts/python-compat.mjs           writes docs/python-compatibility.md
//   node scripts/python-compat.mjs --check   exits 1 if the committed file differs from what the probes give now
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = `${ROOT}docs/python-compatibility.md`;
const PYTHON = process.env.PITLANE_PYTHON ?? 'python3';
const PROBE_TIMEOUT_MS = 30_000;

/** [name, snippet]: the snippet prints "ok" or raises. Keep outputs deterministic (no timings, no paths). */
export const PROBES = [
  [
    'dataclasses',
    `from dataclasses import dataclass, field, asdict
@dataclass(frozen=True)
class P:
    x: int
    tags: tuple = field(default_factory=tuple)
assert asdict(P(1)) == {'x': 1, 'tags': ()}
print('ok')`,
  ],
  [
    'asyncio (asyncio.run a coroutine)',
    `import asyncio
async def main():
    await asyncio.sleep(0)
    return 42
assert asyncio.run(main()) == 42
print('ok')`,
  ],
  [
    're',
    `import re
m = re.fullmatch(r'(?P<k>\\w+)=(?P<v>\\d+)', 'answer=42')
assert m and m['k'] == 'answer' and re.sub(r'\\s+', ' ', 'a  b\\n c') == 'a b c'
print('ok')`,
  ],
  [
    'json',
    `import json
v = {'a': [1, 2.5, None, True], 'é': 'ü'}
assert json.loads(json.dumps(v)) == v
print('ok')`,
  ],
  [
    'datetime',
    `from datetime import datetime, timedelta, timezone
d = datetime(2024, 2, 28, 23, 30, tzinfo=timezone.utc) + timedelta(hours=1)
assert d.isoformat() == '2024-02-29T00:30:00+00:00'
assert datetime.fromisoformat('2024-02-29T00:30:00+00:00') == d
assert datetime.now(timezone.utc).year >= 2024
print('ok')`,
  ],
  [
    'decimal',
    `from decimal import Decimal, getcontext
getcontext().prec = 50
assert Decimal('0.1') + Decimal('0.2') == Decimal('0.3')
assert str(Decimal(1) / Decimal(7))[:12] == '0.1428571428'
print('ok')`,
  ],
  [
    'fractions',
    `from fractions import Fraction
assert Fraction(1, 3) + Fraction(1, 6) == Fraction(1, 2)
print('ok')`,
  ],
  [
    'collections',
    `from collections import Counter, OrderedDict, defaultdict, deque, namedtuple
assert Counter('abracadabra').most_common(1) == [('a', 5)]
d = deque([1, 2, 3], maxlen=2)
Pt = namedtuple('Pt', 'x y')
dd = defaultdict(list); dd['k'].append(1)
assert list(d) == [2, 3] and Pt(1, 2).y == 2 and dd == {'k': [1]} and list(OrderedDict(b=1, a=2)) == ['b', 'a']
print('ok')`,
  ],
  [
    'itertools',
    `import itertools
assert list(itertools.islice(itertools.count(5), 3)) == [5, 6, 7]
assert list(itertools.batched(range(5), 2)) == [(0, 1), (2, 3), (4,)] if hasattr(itertools, 'batched') else True
assert len(list(itertools.permutations('abc'))) == 6
print('ok')`,
  ],
  [
    'functools',
    `import functools
@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
assert fib(80) == 23416728348467685 and functools.reduce(lambda a, b: a * b, range(1, 6)) == 120
assert functools.partial(pow, 2)(10) == 1024
print('ok')`,
  ],
  [
    'typing',
    `from typing import Generic, Optional, Protocol, TypedDict, TypeVar, get_type_hints
T = TypeVar('T')
class Box(Generic[T]):
    def __init__(self, v: T) -> None:
        self.v = v
class Row(TypedDict):
    id: int
    name: Optional[str]
class Named(Protocol):
    name: str
assert get_type_hints(Row) == {'id': int, 'name': Optional[str]} and Box[int](3).v == 3
print('ok')`,
  ],
  [
    'hashlib (sha256)',
    `import hashlib
assert hashlib.sha256(b'abc').hexdigest() == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
print('ok')`,
  ],
  [
    'zlib',
    `import zlib
data = b'pitlane ' * 1000
assert zlib.decompress(zlib.compress(data, 9)) == data and zlib.crc32(b'abc') == 891568578
print('ok')`,
  ],
  [
    'base64',
    `import base64
assert base64.b64encode(b'\\x00\\xffpitlane') == b'AP9waXRsYW5l' and base64.urlsafe_b64decode('AP9waXRsYW5l') == b'\\x00\\xffpitlane'
print('ok')`,
  ],
  [
    'struct',
    `import struct
assert struct.unpack('<Ihd', struct.pack('<Ihd', 7, -2, 1.5)) == (7, -2, 1.5) and struct.calcsize('<Ihd') == 14
print('ok')`,
  ],
  [
    'math / statistics',
    `import math, statistics
assert math.isclose(math.sin(math.pi / 6), 0.5) and math.comb(10, 3) == 120 and math.gcd(12, 18) == 6
assert statistics.median([3, 1, 2]) == 2 and math.isclose(statistics.stdev([2, 4, 4, 4, 5, 5, 7, 9]), 2.138089935299395)
print('ok')`,
  ],
  [
    'random (seeded)',
    `import random
random.seed(42)
assert random.random() == 0.6394267984578837 and random.Random(7).randint(1, 100) == 42
print('ok')`,
  ],
  [
    'unicodedata',
    `import unicodedata
assert unicodedata.name('é') == 'LATIN SMALL LETTER E WITH ACUTE'
assert unicodedata.normalize('NFD', 'é') == 'e\\u0301' and unicodedata.category('7') == 'Nd'
print('ok')`,
  ],
  [
    'textwrap',
    `import textwrap
assert textwrap.wrap('the quick brown fox jumps', width=10) == ['the quick', 'brown fox', 'jumps']
assert textwrap.dedent('  a\\n  b') == 'a\\nb'
print('ok')`,
  ],
  [
    'enum',
    `import enum
class Color(enum.Enum):
    RED = 1
    GREEN = enum.auto()
class Perm(enum.IntFlag):
    R = 4
    W = 2
assert Color(2) is Color.GREEN and Perm.R | Perm.W == 6 and [c.name for c in Color] == ['RED', 'GREEN']
print('ok')`,
  ],
  [
    'contextlib',
    `import contextlib
log = []
@contextlib.contextmanager
def tag(n):
    log.append('<' + n)
    yield n
    log.append(n + '>')
with contextlib.ExitStack() as stack:
    stack.enter_context(tag('a'))
    with contextlib.suppress(KeyError):
        {}['x']
assert log == ['<a', 'a>']
print('ok')`,
  ],
  [
    'generators',
    `def inner():
    x = yield 1
    yield x * 2
def outer():
    r = yield from inner()
    yield 'done'
g = outer()
assert next(g) == 1 and g.send(21) == 42 and list(g) == ['done']
print('ok')`,
  ],
  [
    'async generators',
    `async def agen():
    for i in range(3):
        yield i
async def collect():
    return [x async for x in agen()]
c = collect()
try:
    c.send(None)
    raise AssertionError('did not finish')
except StopIteration as e:
    assert e.value == [0, 1, 2]
print('ok')`,
  ],
  [
    'large ints (2**200)',
    `assert 2**200 == 1606938044258990275541962092341162602522202993782792835301376
assert pow(3, 10**6, 10**9 + 7) == pow(3, 10**6 % (10**9 + 6), 10**9 + 7) and len(str(7**1000)) == 846
print('ok')`,
  ],
  [
    'exceptions (custom, chaining)',
    `import traceback
class AppError(Exception):
    pass
try:
    try:
        {}['missing']
    except KeyError as e:
        raise AppError('wrapped') from e
except AppError as e:
    assert isinstance(e.__cause__, KeyError)
    text = ''.join(traceback.format_exception(e))
    assert 'direct cause' in text and 'AppError: wrapped' in text
print('ok')`,
  ],
  [
    'threading (start + join a thread)',
    `import threading
box = []
t = threading.Thread(target=lambda: box.append(threading.current_thread().name))
t.start()
t.join(5)
assert box and box[0] != threading.main_thread().name
print('ok')`,
  ],
  [
    'subprocess (run echo)',
    `import subprocess
assert subprocess.run(['echo', 'hi'], capture_output=True, text=True, timeout=10).stdout == 'hi\\n'
print('ok')`,
  ],
  [
    'multiprocessing (Pool of 2)',
    `import multiprocessing
with multiprocessing.Pool(2) as pool:
    assert pool.map(abs, [-1, -2, 3]) == [1, 2, 3]
print('ok')`,
  ],
  [
    'socket (create a socket)',
    `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.close()
print('ok')`,
  ],
  [
    'sqlite3 (in memory)',
    `import sqlite3
db = sqlite3.connect(':memory:')
db.execute('create table t (x integer)')
db.executemany('insert into t values (?)', [(1,), (2,)])
assert db.execute('select sum(x) from t').fetchone() == (3,)
print('ok')`,
  ],
  [
    'ctypes (load libc)',
    `import ctypes, ctypes.util
libc = ctypes.CDLL(ctypes.util.find_library('c'))
assert libc.strlen(b'pitlane') == 7
print('ok')`,
  ],
  [
    'file I/O in /tmp',
    `import os, tempfile
fd, path = tempfile.mkstemp(dir='/tmp')
with os.fdopen(fd, 'w') as f:
    f.write('line 1\\nline 2\\n')
with open(path) as f:
    assert f.read().splitlines() == ['line 1', 'line 2']
os.remove(path)
print('ok')`,
  ],
  [
    'time.sleep',
    `import time
t = time.monotonic()
time.sleep(0.02)
assert time.monotonic() - t >= 0.015
print('ok')`,
  ],
  [
    'os.environ',
    `import os
os.environ['PITLANE_PROBE'] = '1'
assert os.environ.get('PITLANE_PROBE') == '1' and os.getenv('HOME')
print('ok')`,
  ],
  [
    'pathlib',
    `import pathlib, tempfile
with tempfile.TemporaryDirectory() as d:
    p = pathlib.Path(d) / 'sub' / 'a.txt'
    p.parent.mkdir(parents=True)
    p.write_text('hé', encoding='utf-8')
    assert p.read_text(encoding='utf-8') == 'hé' and [q.name for q in pathlib.Path(d).rglob('*.txt')] == ['a.txt']
print('ok')`,
  ],
];

/** A probe's outcome in one runtime. */
function outcome(ok, reason = '') {
  return { ok, reason: ok ? '' : sanitise(reason) };
}

/** First line, no addresses, bounded length: the table must not change between runs. */
function sanitise(text) {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const clean = line.replace(/0x[0-9a-f]+/gi, '0x…').trim();
  return clean.length > 110 ? `${clean.slice(0, 109)}…` : clean;
}

function execPython(args) {
  return new Promise((resolve) => {
    execFile(PYTHON, args, { timeout: PROBE_TIMEOUT_MS, cwd: '/tmp' }, (error, stdout, stderr) =>
      resolve({ error, stdout, stderr }),
    );
  });
}

async function cpythonVersion() {
  const r = await execPython(['-c', "import sys; print('%d.%d' % sys.version_info[:2])"]);
  if (r.error) throw new Error(`cannot run ${PYTHON}: ${r.error.message}`);
  return r.stdout.trim();
}

async function runCPython(snippet) {
  const r = await execPython(['-c', snippet]);
  if (!r.error && r.stdout.trim() === 'ok') return outcome(true);
  if (r.error?.killed) return outcome(false, `timed out after ${PROBE_TIMEOUT_MS / 1000} s`);
  // The last line of a traceback is "Type: message".
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  return outcome(false, last || `printed ${JSON.stringify(r.stdout.trim())}`);
}

async function runPyodide(runtime, name, snippet) {
  const logs = [];
  const code = [
    'class Probe:',
    '    def process(self, snippet):',
    "        exec(compile(snippet, '<probe>', 'exec'), {'__name__': '__probe__'})",
  ].join('\n');
  const node = runtime.createPyodideNode(
    { nodeId: `probe ${name}`, code, fileName: '<probe node>', className: null, init: {} },
    { onLog: (r) => logs.push(r.message) },
  );
  await node.start();
  try {
    const [result] = await node.processBatch([snippet]);
    if (!result.ok) return outcome(false, `${result.error.type}: ${result.error.message}`);
    return logs.includes('ok') ? outcome(true) : outcome(false, `printed ${JSON.stringify(logs.join(' '))}`);
  } finally {
    await node.close();
  }
}

async function mapLimited(list, limit, fn) {
  const out = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      out[i] = await fn(list[i]);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

/** Runs every probe in both runtimes; returns the Markdown of docs/python-compatibility.md. */
export async function renderCompatibility() {
  const runtime = await import(pathToFileURL(`${ROOT}dist/python/pyodide/node.js`).href);
  const cpython = await mapLimited(PROBES, 4, ([, snippet]) => runCPython(snippet));
  const pyodide = [];
  for (const [name, snippet] of PROBES) pyodide.push(await runPyodide(runtime, name, snippet));
  const info = await runtime.pyodideLoadInfo();
  const pyodidePython = await pyodidePythonVersion(runtime);
  const cell = (o) => (o.ok ? '✓' : `✗ ${o.reason.replaceAll('|', '\\|')}`);
  const rows = PROBES.map(([name], i) => `| ${name} | ${cell(cpython[i])} | ${cell(pyodide[i])} |`);
  const count = (list) => list.filter((o) => o.ok).length;
  const markdown = [
    '# Python compatibility of the runtimes',
    '',
    '<!-- Generated by `node scripts/python-compat.mjs` (after `npx tsc -p .`); do not edit by hand.',
    '     test/python-compat.test.mjs fails when this file is out of date. -->',
    '',
    'Which parts of Python work in each runtime of `python` nodes (docs/python-nodes.md). Each probe is a small',
    'snippet that prints `ok` or raises. **cpython** runs it with `python3 -c` (the interpreter the CPython workers',
    "use); **pyodide** runs it inside the `process()` of a node in pitlane's Pyodide runtime, where node code runs.",
    'A ✗ shows the exception the snippet raised.',
    '',
    `| probe | cpython: python3 (${await cpythonVersion()}) | pyodide ${info?.version ?? '?'} (Python ${pyodidePython}) |`,
    '|---|---|---|',
    ...rows,
    `| **works** | ${count(cpython)} / ${PROBES.length} | ${count(pyodide)} / ${PROBES.length} |`,
    '',
    'Notes:',
    '',
    '- In Pyodide, `asyncio.run()` needs WebAssembly stack switching, which Node 20 does not have: write',
    '  `async def process(...)` (or `initialize`, `flush`) instead, which pitlane awaits on its own event loop.',
    '- Pyodide has no threads and no processes. Packages outside the standard library (numpy ...) cannot be',
    '  fetched here: `import` fails with `ModuleNotFoundError`. Nodes that need these belong on the cpython runtime',
    '  (`runtime_hint: cpython`; `auto` chooses it by itself when the code imports such modules).',
    '- The socket probe only creates a socket; whether it can connect anywhere from Node is not probed.',
    '- Pyodide runs inside the pitlane process: a blocking call (`time.sleep`, a long loop) blocks every node of',
    "  the pipeline meanwhile, and its file system (`/tmp` ...) is in memory, not the host's.",
    '',
  ].join('\n');
  // Formatted as `npm run format` would (the table's columns padded), so that format:check passes too.
  const prettier = await import('prettier');
  return prettier.format(markdown, { ...(await prettier.resolveConfig(DOC)), parser: 'markdown' });
}

async function pyodidePythonVersion(runtime) {
  const logs = [];
  const node = runtime.createPyodideNode(
    {
      nodeId: 'version',
      code: "import sys\nclass V:\n    def process(self, _):\n        return '%d.%d.%d' % sys.version_info[:3]\n",
      fileName: '<version>',
      className: null,
      init: {},
    },
    { onLog: (r) => logs.push(r.message) },
  );
  await node.start();
  try {
    const [r] = await node.processBatch([0]);
    return r.ok ? String(r.outputs[0]) : '?';
  } finally {
    await node.close();
  }
}

async function main() {
  const check = process.argv.includes('--check');
  const text = await renderCompatibility();
  if (check) {
    const current = await readFile(DOC, 'utf8').catch(() => '');
    if (current !== text) {
      process.stderr.write(`${DOC} is out of date: run node scripts/python-compat.mjs\n`);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(DOC, text);
  process.stdout.write(`wrote ${DOC}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
