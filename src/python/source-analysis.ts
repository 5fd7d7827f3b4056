/**
 * What pitlane can tell about a Python node's source without running Python: the classes it defines, the
 * modules it imports, whether it opens files. Used to validate manifests (a `class` the source does not define,
 * a `pyodide` hint that cannot work) and to choose a runtime for `runtime_hint: auto`, before anything starts.
 *
 * A line scanner, not a parser: it removes comments and string literals, then reads `class X`, `import a, b`,
 * `from a import b`. Imports made dynamically (`__import__`, importlib) are not seen; such code should name its
 * runtime explicitly.
 */
import { STDLIB_MODULES } from './stdlib-modules.js';

/** The module both runtimes give node code (`from pitlane import AudioFrame`: src/python/worker/pitlane_audio.py). */
const PITLANE_MODULE = 'pitlane';

/** Standard-library modules Pyodide cannot provide here, with the reason (see docs/python-compatibility.md). */
export const PYODIDE_UNAVAILABLE: Readonly<Record<string, string>> = {
  subprocess: 'no processes in WebAssembly',
  multiprocessing: 'no processes in WebAssembly',
  threading: 'no threads in Pyodide',
  concurrent: 'no threads or processes in Pyodide',
  socket: 'sockets cannot connect from WebAssembly',
  ssl: 'sockets cannot connect from WebAssembly',
  ctypes: 'there are no native libraries to load in WebAssembly',
  sqlite3: 'a separate Pyodide package, which cannot be fetched here',
  lzma: 'a separate Pyodide package, which cannot be fetched here',
  tkinter: 'no GUI in WebAssembly',
  curses: 'no terminal in WebAssembly',
  readline: 'no terminal in WebAssembly',
  dbm: 'not built for Pyodide',
  venv: 'not built for Pyodide',
  ensurepip: 'not built for Pyodide',
};

/** What the scanner found. */
export interface PythonSourceFacts {
  /** Names of top-level classes, in order. */
  readonly classes: readonly string[];
  /** Top-level module names imported anywhere in the source (relative imports excluded), in order, unique. */
  readonly imports: readonly string[];
  /** The source calls open(): it expects a real file system. */
  readonly opensFiles: boolean;
  /** The source calls asyncio.run(), which Pyodide on Node 20 cannot do (no stack switching). */
  readonly runsEventLoop: boolean;
}

/** Blanks out comments and string literals, keeping line structure, so keywords inside them are not read. */
function stripStringsAndComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const triple = src.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      i += quote.length;
      while (i < src.length && !src.startsWith(quote, i)) {
        if (src[i] === '\\') i++;
        else if (src[i] === '\n') {
          out += '\n';
          if (!triple) break;
        }
        i++;
      }
      i += quote.length;
      out += '""';
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Scans a Python source. */
export function analyzePythonSource(source: string): PythonSourceFacts {
  const code = stripStringsAndComments(source);
  const classes: string[] = [];
  const imports = new Set<string>();
  for (const line of code.split('\n')) {
    const cls = /^class\s+([A-Za-z_]\w*)/.exec(line);
    if (cls?.[1] !== undefined) classes.push(cls[1]);
    const imp = /^\s*import\s+(.+)$/.exec(line);
    if (imp?.[1] !== undefined) {
      for (const part of imp[1].split(',')) {
        const name = /^\s*([A-Za-z_]\w*)/.exec(part)?.[1];
        if (name !== undefined) imports.add(name);
      }
    }
    const from = /^\s*from\s+([A-Za-z_]\w*)[\w.]*\s+import\b/.exec(line);
    if (from?.[1] !== undefined) imports.add(from[1]);
  }
  return {
    classes,
    imports: [...imports],
    opensFiles: /(^|[^\w.])open\s*\(/m.test(code),
    runsEventLoop: /\basyncio\s*\.\s*run\s*\(/.test(code),
  };
}

/** Why code cannot run in Pyodide (null when it can). */
export function pyodideObstacle(facts: PythonSourceFacts): string | null {
  for (const m of facts.imports) {
    if (!STDLIB_MODULES.has(m) && m !== PITLANE_MODULE)
      return `it imports ${m} (not in the standard library; packages cannot be installed in Pyodide here)`;
    const why = PYODIDE_UNAVAILABLE[m];
    if (why !== undefined) return `it imports ${m} (${why})`;
  }
  if (facts.opensFiles) return 'it opens files (Pyodide sees only an in-memory file system)';
  if (facts.runsEventLoop)
    return 'it calls asyncio.run() (not possible in Pyodide here; an async def process works)';
  return null;
}

/** The runtime a node runs on, and why. */
export interface RuntimeChoice {
  readonly runtime: 'cpython' | 'pyodide';
  readonly reason: string;
}

/** Resolves a runtime hint (auto, cpython, pyodide, cpython_wasm) against what the source needs. */
export function choosePythonRuntime(hint: string | undefined, facts: PythonSourceFacts): RuntimeChoice {
  if (hint === 'cpython') return { runtime: 'cpython', reason: 'runtime_hint cpython' };
  if (hint === 'pyodide' || hint === 'cpython_wasm')
    return { runtime: 'pyodide', reason: `runtime_hint ${hint}` };
  const obstacle = pyodideObstacle(facts);
  if (obstacle !== null) return { runtime: 'cpython', reason: `auto: ${obstacle}` };
  return { runtime: 'pyodide', reason: 'auto: standard library only' };
}
