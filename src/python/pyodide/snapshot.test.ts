// The snapshot cache's key: a change of the Pyodide build or of the helper modules' source is a new snapshot file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { snapshotLocation } from './snapshot.js';

const CACHE = mkdtempSync(join(tmpdir(), 'pitlane-snapshot-key-'));
after(() => {
  rmSync(CACHE, { recursive: true, force: true });
});

test('the snapshot file changes with the helper source and the Pyodide version, not otherwise', async () => {
  process.env.PITLANE_CACHE_DIR = CACHE;
  const pyodideDir = dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));
  const a = await snapshotLocation(pyodideDir, '1.0', ['x = 1\n', 'y = 2\n']);
  const same = await snapshotLocation(pyodideDir, '1.0', ['x = 1\n', 'y = 2\n']);
  const edited = await snapshotLocation(pyodideDir, '1.0', ['x = 1\n', 'y = 3\n']);
  const other = await snapshotLocation(pyodideDir, '2.0', ['x = 1\n', 'y = 2\n']);
  assert.ok(a !== null && same !== null && edited !== null && other !== null);
  assert.equal(dirname(a.file), CACHE);
  assert.equal(a.usable, true);
  assert.equal(same.file, a.file);
  assert.notEqual(edited.file, a.file);
  assert.notEqual(other.file, a.file);
  process.env.PITLANE_PYODIDE_SNAPSHOT = '0';
  assert.equal(await snapshotLocation(pyodideDir, '1.0', ['x = 1\n']), null, 'the cache can be turned off');
  delete process.env.PITLANE_PYODIDE_SNAPSHOT;
});
