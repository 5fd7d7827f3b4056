/**
 * Where the Python programs of the runtimes are: the files of src/python/worker/ (pitlane_worker.py for the CPython
 * workers, pitlane_pyodide.py and pitlane_logging.py for the Pyodide VM). They are found from the package root, so
 * that the same lookup works from dist/, from the esbuild bundle in dist/bundle/ and from an npm-installed package
 * (package.json "files" ships src/python/worker).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let packageRoot: string | null = null;

/** The absolute path of `name` in src/python/worker/; throws if the file is missing. */
export function pythonWorkerFile(name: string): string {
  packageRoot ??= findPackageRoot();
  const file = join(packageRoot, 'src', 'python', 'worker', name);
  if (!existsSync(file)) throw new Error(`the Python worker program is missing: ${file}`);
  return file;
}

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (pkg.name === 'pitlane') return dir;
      } catch {
        // Not a readable package.json: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the pitlane package root (package.json named "pitlane")');
    dir = parent;
  }
}
