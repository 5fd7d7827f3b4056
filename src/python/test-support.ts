/**
 * What the tests of both Python runtimes share: assertion helpers, and a harness that starts a node of either
 * runtime, records what it reported besides its results (log records, warnings, stderr), and always closes it.
 */
import { PythonNodeInitError } from '../core/errors.js';
import assert from 'node:assert/strict';
import {
  type PythonCallResult,
  type PythonException,
  type PythonLogRecord,
  type PythonNodeInstance,
  type PythonNodeSource,
} from './runtime.js';

/** The outputs of each result, failing the test on the first error. */
export function outputs(results: readonly PythonCallResult[]): unknown[][] {
  return results.map((r) => {
    assert.ok(r.ok, r.ok ? '' : `${r.error.type}: ${r.error.message}`);
    return [...r.outputs];
  });
}

/** The error of a result that must have failed. */
export function failure(result: PythonCallResult | undefined): PythonException {
  assert.ok(result !== undefined && !result.ok, `expected an error, got ${JSON.stringify(result)}`);
  return result.error;
}

/** What a test node reported besides its results. */
export interface Observed {
  readonly logs: PythonLogRecord[];
  readonly warnings: string[];
  /** What the node's worker wrote on stderr (CPython only). */
  stderr: string;
}

export function observed(): Observed {
  return { logs: [], warnings: [], stderr: '' };
}

/** An inline node: `<node ID>` as its file name, its only class with process(), no init arguments. */
export function source(code: string, extra: Partial<PythonNodeSource> = {}): PythonNodeSource {
  const nodeId = extra.nodeId ?? 'n';
  return { nodeId, code, fileName: `<node ${nodeId}>`, className: null, init: {}, ...extra };
}

/** Makes a node of one runtime that reports into `seen`, with the runtime's own options. */
export type NodeFactory<O> = (src: PythonNodeSource, seen: Observed, options: O) => PythonNodeInstance;

/** withNode() and startError() for the nodes of one runtime. */
export interface NodeHarness<O> {
  /** Starts a node, runs `body`, always closes it. */
  readonly withNode: (
    src: PythonNodeSource | string,
    body: (node: PythonNodeInstance, seen: Observed) => Promise<void>,
    options?: O,
  ) => Promise<void>;
  /** The PythonNodeInitError that starting the node fails with (the test fails if it starts). */
  readonly startError: (src: PythonNodeSource) => Promise<PythonNodeInitError>;
}

export function nodeHarness<O>(create: NodeFactory<O>, defaults: O): NodeHarness<O> {
  return {
    async withNode(src, body, options = defaults) {
      const seen = observed();
      const node = create(typeof src === 'string' ? source(src) : src, seen, options);
      await node.start();
      try {
        await body(node, seen);
      } finally {
        await node.close();
      }
    },
    async startError(src) {
      const node = create(src, observed(), defaults);
      try {
        await node.start();
      } catch (e) {
        assert.ok(e instanceof PythonNodeInitError, String(e));
        return e;
      } finally {
        await node.close();
      }
      assert.fail('start() should have failed');
    },
  };
}
