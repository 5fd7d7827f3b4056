/**
 * What the Python runtime tests of this folder (and test/python-interrupt.test.mjs, through dist-test/) share
 * beyond src/python/test-support.ts: the options that make a node report into an Observed record, the Python loops
 * that a timeout or Ctrl-C must stop (or that refuse to stop), and a module file written into a temporary folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PythonLogRecord } from '../../../dist/python/runtime.js';
import type { Observed } from '../../../dist/python/test-support.js';

/** The options of either runtime that record a node's log records and warnings (and CPython's stderr) in `seen`. */
export function observing(seen: Observed): {
  onLog: (record: PythonLogRecord) => void;
  onWarning: (nodeId: string, message: string) => void;
  onStderr: (text: string) => void;
} {
  return {
    onLog: (r) => seen.logs.push(r),
    onWarning: (_id, message) => seen.warnings.push(message),
    onStderr: (text) => {
      seen.stderr += text;
    },
  };
}

/** Python lines that catch KeyboardInterrupt forever: an interrupt never stops them. */
const STUBBORN_LINES = [
  'while True:',
  '    try:',
  '        while True:',
  '            pass',
  '    except KeyboardInterrupt:',
  '        pass',
];

/** The stubborn loop as Python source indented by `spaces`, one line each (join with '\n'). */
export function stubbornLoop(spaces: number): string[] {
  return STUBBORN_LINES.map((line) => ' '.repeat(spaces) + line);
}

/**
 * Writes `files` (name → Python source) into a fresh temporary folder, runs `body` with the folder's path and
 * always removes the folder.
 */
export async function withModuleFiles(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-py-mod-'));
  try {
    for (const [name, code] of Object.entries(files)) writeFileSync(join(dir, name), code);
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A node `Talk` that, for each item, prints (a line, then a partial one), logs through a logger of its own and the
 * root logger (a debug record that must stay hidden), runs the runtime-specific `extra` lines, and returns the item.
 * `imports` is its first line.
 */
export function talkingNode(imports: string, extra: readonly string[]): string {
  return [
    imports,
    'log = logging.getLogger("mine")',
    'class Talk:',
    '    def process(self, x):',
    '        print("item", x)',
    '        print("partial", end="")',
    '        log.warning("careful %s", x)',
    '        logging.error("bad")',
    '        log.debug("hidden")',
    ...extra,
    '        return x',
  ].join('\n');
}
