// What the audio tests share: ffmpeg to make test files, the one-node PassThrough manifest they feed audio to, and
// a live pipeline that falls behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** Runs Debian's ffmpeg quietly (overwriting outputs); fails the test with its message when it fails. */
export function ffmpeg(...args) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  assert.equal(r.status, 0, `ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

/** A manifest of one PassThrough node: audio in, the same frames out. */
export const PASS_MANIFEST =
  'version: v1\nmetadata: {name: pass}\nnodes:\n  - {id: p, node_type: PassThrough}\n';

/**
 * A manifest of one Python node (CPython) that sleeps `seconds` on its first frame and then answers 1 per frame: run
 * live, the frames that arrive meanwhile are dropped.
 */
export function slowStartManifest(seconds) {
  return [
    'version: v1',
    'metadata: {name: slow}',
    'nodes:',
    '  - id: slow',
    '    node_type: python',
    '    runtime_hint: cpython',
    '    params:',
    '      code: |',
    '        import time',
    '        class Slow:',
    '            first = True',
    '            def process(self, frame):',
    '                if self.first:',
    `                    time.sleep(${seconds})`,
    '                    self.first = False',
    '                return 1',
    '',
  ].join('\n');
}
