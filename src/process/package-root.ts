/**
 * The folder pitlane is installed in (the one holding its package.json, bin/, baselines/ and src/python/worker/),
 * found by walking up from this module to the package.json named "pitlane". Modules run from several layouts —
 * dist/<folder>/... (tsc), dist/bundle/ (the esbuild bundle) and an npm-installed package — at different depths,
 * so a fixed `../../` from import.meta.url is right in one of them only. The lab's runner and the Python runtimes
 * (which load src/python/worker/*.py) both find their files from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/** pitlane's package folder, with a trailing separator; found on the first call, then remembered. Throws when no
 * package.json named "pitlane" is above this module. */
export function packageRoot(): string {
  root ??= join(find(), '/');
  return root;
}

function find(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'pitlane') return dir;
      } catch {
        // Not ours (or unreadable): keep walking up.
      }
    }
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`cannot find pitlane's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
