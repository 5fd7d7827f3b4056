/**
 * The memory snapshot cache of the Pyodide VM. Loading Pyodide takes ~3 s, almost all of it Python's own
 * bootstrap. After a cold load the VM's thread takes a memory snapshot of the fresh interpreter (helper modules
 * included, before any node code runs) and caches it on disk (`$PITLANE_CACHE_DIR`, default
 * `$XDG_CACHE_HOME/pitlane` or `~/.cache/pitlane`; ~31 MB, keyed by the Pyodide build and the source of the helper
 * modules); later VMs restore it in ~0.35 s. A snapshot that fails to restore is marked bad and never tried again;
 * `PITLANE_PYODIDE_SNAPSHOT=0` turns the cache off. VMs restored from one snapshot share the string-hash seed
 * (hash randomisation is effectively off); the helper's setup() reseeds `random`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { PyodideAPI } from 'pyodide';

const SNAPSHOT_FORMAT = 1;

/** Where the snapshot of this Pyodide build and helper source is, and whether it may be tried. */
export interface SnapshotLocation {
  readonly file: string;
  /** False once a restore of this very snapshot failed (a `.bad` marker beside it). */
  readonly usable: boolean;
}

/**
 * The snapshot's location, or null when the cache is off or the Pyodide files cannot be read. `helperSources`:
 * the text of the Python modules installed before the snapshot (a change of any of them is a new snapshot).
 */
export async function snapshotLocation(
  pyodideDir: string,
  version: string,
  helperSources: readonly string[],
): Promise<SnapshotLocation | null> {
  if (process.env.PITLANE_PYODIDE_SNAPSHOT === '0') return null;
  const cacheDir =
    process.env.PITLANE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pitlane');
  try {
    const [wasm, stdlib] = await Promise.all([
      stat(join(pyodideDir, 'pyodide.asm.wasm')),
      stat(join(pyodideDir, 'python_stdlib.zip')),
    ]);
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          SNAPSHOT_FORMAT,
          version,
          process.versions.node,
          wasm.size,
          wasm.mtimeMs,
          stdlib.size,
          stdlib.mtimeMs,
          ...helperSources,
        ]),
      )
      .digest('hex')
      .slice(0, 16);
    const file = join(cacheDir, `pyodide-${version}-${key}.snapshot`);
    const bad = await stat(`${file}.bad`).then(
      () => true,
      () => false,
    );
    return { file, usable: !bad };
  } catch {
    return null;
  }
}

/** A VM restored from the snapshot by `load`, or null (no snapshot yet, or it failed: then it is marked bad). */
export async function restoreSnapshot(
  file: string,
  load: (bytes: Uint8Array) => Promise<PyodideAPI>,
): Promise<PyodideAPI | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch {
    return null; // not made yet
  }
  try {
    const py = await load(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (py.runPython("import sys\n'_pitlane_pyodide' in sys.modules and 6 * 7 == 42") !== true) {
      throw new Error('restored interpreter is missing the helper module');
    }
    return py;
  } catch {
    await writeFile(`${file}.bad`, '').catch(() => undefined);
    return null;
  }
}

/** Writes the snapshot in the background (atomically: temp file + rename) and removes older snapshots. */
export async function saveSnapshot(file: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(file);
  const temp = `${file}.${process.pid}-${threadId}.tmp`;
  await (async () => {
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, file);
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        if (name.startsWith('pyodide-') && !path.startsWith(file)) await unlink(path).catch(() => undefined);
      }
    } catch {
      await unlink(temp).catch(() => undefined);
    }
  })();
}
