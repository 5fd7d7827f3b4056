/**
 * The folder pitlane is installed in (the one holding its package.json, bin/ and baselines/), found by walking up
 * from this module. Modules run from two layouts, dist/lab/... (tsc) and dist/bundle/ (the CLI bundle), at
 * different depths, so a fixed `../../` from import.meta.url is right in one of them only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** pitlane's package folder, with a trailing separator. */
export const PACKAGE_ROOT = join(find(), '/');
