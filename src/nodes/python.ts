/**
 * The `python` node (alias `PythonNode`): runs a Python class on a CPython worker process or in the Pyodide VM
 * (docs/python-nodes.md). This module validates the node (source, class, whether its runtime hint can work),
 * chooses the runtime, and adapts the runtime's batch interface to the executor's. The runtimes themselves are
 * loaded only when a pipeline has a Python node.
 */
import { relative, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ItemError, toError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import { readUserTextFile } from '../core/user-file.js';
import type { BatchItemResult, NodeContext, PipelineNode } from '../pipeline/node.js';
import { defineNodeType } from '../pipeline/node.js';
import type {
  PythonException,
  PythonNodeInstance,
  PythonNodeSource,
  PythonRuntimeOptions,
} from '../python/runtime.js';
import {
  analyzePythonSource,
  choosePythonRuntime,
  pyodideObstacle,
  type RuntimeChoice,
} from '../python/source-analysis.js';

/** The `timeout` param of Python nodes: seconds, or a number with ms, s or m. */
export const PythonTimeout = Type.Union(
  [Type.Number({ exclusiveMinimum: 0 }), Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m)$' })],
  {
    description:
      'Per-item limit on CPython workers and in Pyodide (default 30 s): the item fails, the node goes on.',
  },
);

const Params = Type.Object(
  {
    code: Type.Optional(
      Type.String({ minLength: 1, description: 'Inline Python source defining the class.' }),
    ),
    module: Type.Optional(
      Type.String({ minLength: 1, description: 'A .py file, relative to the manifest.' }),
    ),
    class: Type.Optional(
      Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'The class to run.' }),
    ),
    init: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'Constructor keyword arguments.' }),
    ),
    stateless: Type.Optional(Type.Boolean({ description: 'Allows a pool of CPython workers.' })),
    timeout: Type.Optional(PythonTimeout),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const DEFAULT_TIMEOUT_MS = 30_000;
const POOL_SIZE = 2;

export function timeoutMs(t: Params['timeout']): number {
  if (t === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof t === 'number') return t * 1000;
  const m = /^([0-9.]+)(ms|s|m)$/.exec(t);
  const n = Number(m?.[1]);
  return m?.[2] === 'ms' ? n : m?.[2] === 'm' ? n * 60_000 : n * 1000;
}

/** Largest Python module a node may name (a source file, not a data file). */
const MAX_MODULE_BYTES = 4 * 1024 * 1024;

/** The node's source text, or an error message. */
function readSource(p: Params, baseDir: string): { text: string } | { error: string; path: string } {
  if (p.code !== undefined) return { text: p.code };
  const file = resolve(baseDir, p.module ?? '');
  try {
    return { text: readUserTextFile(file, 'Python module', MAX_MODULE_BYTES) };
  } catch (e) {
    return { error: toError(e).message, path: '.module' };
  }
}

/**
 * An error of a Python node. An exception raised by the node's own code has a traceback with at least one of its
 * frames: its message is `Type: message` and the traceback goes into the error record. A failure of the bridge
 * (an output that cannot be sent, a worker that crashed or timed out) has none: its message is the runtime's own
 * wording (docs/python-nodes.md) and the record has no traceback.
 */
export class PythonItemError extends ItemError {
  readonly traceback: string | undefined;
  constructor(e: PythonException) {
    const fromCode = e.traceback !== '';
    super(fromCode ? `${e.type}: ${e.message}` : e.message, {
      cancelled: !fromCode && e.type === 'Cancelled',
    });
    this.traceback = fromCode ? e.traceback : undefined;
    this.name = 'PythonItemError';
  }
}

function logTo(ctx: NodeContext<unknown>): PythonRuntimeOptions {
  const log =
    ctx.options.log ??
    ((id: string, level: string, message: string) => {
      process.stderr.write(printable(`[python:${id}] ${level.toUpperCase()} ${message}`) + '\n');
    });
  return {
    onLog: (r) => log(r.nodeId, r.level, r.message),
    onWarning: (id, message) => log(id, 'warning', message),
  };
}

/** How a Python node runs, besides its source and runtime. */
export interface PythonNodeSettings {
  /** Per-item limit (ms). */
  readonly timeoutMs: number;
  /** CPython workers (1 unless the node is stateless). */
  readonly poolSize: number;
  /** The CPython interpreter (default: the runtime's, `$PITLANE_PYTHON` or `python3`). */
  readonly python?: string;
}

class PythonNode implements PipelineNode {
  private instance: PythonNodeInstance | null = null;
  /** A pool of CPython workers takes a batch per free worker. */
  readonly concurrency: number;

  constructor(
    private readonly ctx: NodeContext<unknown>,
    private readonly source: PythonNodeSource,
    private readonly choice: RuntimeChoice,
    private readonly settings: PythonNodeSettings,
  ) {
    this.concurrency = choice.runtime === 'cpython' ? settings.poolSize : 1;
  }

  async initialize(): Promise<void> {
    const { timeoutMs, poolSize, python } = this.settings;
    const options = logTo(this.ctx);
    let instance: PythonNodeInstance;
    if (this.choice.runtime === 'pyodide') {
      const { createPyodideNode } = await import('../python/pyodide/node.js');
      instance = createPyodideNode(this.source, {
        ...options,
        itemTimeoutMs: timeoutMs,
        signal: this.ctx.signal,
      });
    } else {
      const { createCPythonNode } = await import('../python/cpython/node.js');
      instance = createCPythonNode(this.source, {
        ...options,
        itemTimeoutMs: timeoutMs,
        poolSize,
        signal: this.ctx.signal,
        ...(python !== undefined ? { python } : {}),
      });
    }
    this.instance = instance;
    await instance.start();
  }

  process(item: unknown): Promise<unknown> {
    return this.processBatch([item]).then((r) => {
      const first = r[0];
      if (first === undefined) throw new Error('the Python runtime returned no result');
      if (!first.ok) throw toError(first.error);
      return first.output;
    });
  }

  async processBatch(items: readonly unknown[]): Promise<readonly BatchItemResult[]> {
    const results = await (this.instance as PythonNodeInstance).processBatch(items);
    return results.map((r) =>
      r.ok ? { ok: true, output: outputOf(r.outputs) } : { ok: false, error: new PythonItemError(r.error) },
    );
  }

  async flush(): Promise<unknown> {
    if (this.instance === null) return undefined;
    const r = await this.instance.flush();
    if (!r.ok) throw new PythonItemError(r.error);
    return outputOf(r.outputs);
  }

  async cleanup(): Promise<void> {
    await this.instance?.close();
  }

  describe(): string {
    return `python on ${this.choice.runtime} (${this.choice.reason})`;
  }
}

/**
 * A pipeline node that runs `source` on `choice`'s runtime: what the `python` node type creates, and node types
 * that are a Python class shipped with pitlane (PocketSphinxSTT) create too.
 */
export function pythonPipelineNode(
  ctx: NodeContext<unknown>,
  source: PythonNodeSource,
  choice: RuntimeChoice,
  settings: PythonNodeSettings,
): PipelineNode {
  return new PythonNode(ctx, source, choice, settings);
}

/** A result's outputs in the executor's convention: none, one value, or an iterator of several. */
function outputOf(outputs: readonly unknown[]): unknown {
  if (outputs.length === 0) return undefined;
  if (outputs.length === 1) return outputs[0];
  return outputs[Symbol.iterator]();
}

export const Python = defineNodeType<Params>({
  name: 'Python',
  aliases: ['PythonNode', 'python'],
  role: 'transform',
  description:
    'Runs a Python class (process, flush ...) on a CPython worker or in Pyodide; see docs/python-nodes.md.',
  params: Params,
  check: (p, node) => {
    if ((p.code === undefined) === (p.module === undefined)) {
      return [{ path: '', message: 'give either code (inline source) or module (a .py file)' }];
    }
    const src = readSource(p, node.baseDir);
    if ('error' in src) return [{ path: src.path, message: src.error }];
    const facts = analyzePythonSource(src.text);
    const problems: { path: string; message: string }[] = [];
    if (p.class !== undefined && !facts.classes.includes(p.class)) {
      problems.push({
        path: '.class',
        message: `the source defines no class ${p.class} (it defines: ${facts.classes.join(', ') || 'none'})`,
      });
    }
    if (p.class === undefined && p.module !== undefined)
      problems.push({ path: '.class', message: 'required with module' });
    if (p.class === undefined && facts.classes.length === 0)
      problems.push({ path: '.code', message: 'the source defines no class' });
    if (node.runtimeHint === 'rust_python') {
      problems.push({
        path: '@.runtime_hint',
        message: 'rust_python is not supported: use cpython, pyodide or auto',
      });
    }
    if (node.runtimeHint === 'pyodide' || node.runtimeHint === 'cpython_wasm') {
      const obstacle = pyodideObstacle(facts);
      if (obstacle !== null) {
        problems.push({
          path: '@.runtime_hint',
          message: `${node.runtimeHint} cannot run this code: ${obstacle}; use cpython or auto`,
        });
      }
    }
    return problems;
  },
  create: (ctx): PipelineNode => {
    const p = ctx.params;
    const text = readSource(p, ctx.baseDir);
    if ('error' in text) throw new Error(text.error);
    const facts = analyzePythonSource(text.text);
    const hint = ctx.runtimeHint;
    let choice = choosePythonRuntime(hint, facts);
    const forced = ctx.options.pythonRuntime;
    if (forced !== undefined && (hint === undefined || hint === 'auto')) {
      choice = { runtime: forced, reason: `forced by --python-runtime ${forced}` };
    }
    const source: PythonNodeSource = {
      nodeId: ctx.id,
      code: text.text,
      ...(p.module !== undefined ? { modulePath: resolve(ctx.baseDir, p.module) } : {}),
      fileName:
        p.module !== undefined ? relative(ctx.baseDir, resolve(ctx.baseDir, p.module)) : `<node ${ctx.id}>`,
      className: p.class ?? null,
      init: p.init ?? {},
    };
    return new PythonNode(ctx, source, choice, {
      timeoutMs: timeoutMs(p.timeout),
      poolSize: p.stateless === true ? POOL_SIZE : 1,
    });
  },
});
