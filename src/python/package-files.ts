/**
 * Where the Python programs of the runtimes are: the files of src/python/worker/ (pitlane_worker.py for the CPython
 * workers, pitlane_pyodide.py and pitlane_logging.py for the Pyodide VM), and the Python node classes shipped with
 * pitlane in src/python/nodes/ (pocketsphinx_stt.py). They are found from the package root, so that the same lookup
 * works from dist/, from the esbuild bundle in dist/bundle/ and from an npm-installed package (package.json "files"
 * ships src/python/worker and src/python/nodes).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../process/package-root.js';

/** The absolute path of `name` in src/python/worker/; throws if the file is missing. */
export function pythonWorkerFile(name: string): string {
  const file = join(packageRoot(), 'src', 'python', 'worker', name);
  if (!existsSync(file)) throw new Error(`the Python worker program is missing: ${file}`);
  return file;
}

/** The absolute path of the Python node module `name` in src/python/nodes/; throws if the file is missing. */
export function pythonNodeModule(name: string): string {
  const file = join(packageRoot(), 'src', 'python', 'nodes', name);
  if (!existsSync(file)) throw new Error(`the Python node module is missing: ${file}`);
  return file;
}
