// What the audio tests share: ffmpeg to make test files, and the one-node PassThrough manifest they feed audio to.
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
