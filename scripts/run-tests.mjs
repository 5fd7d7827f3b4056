// Runs every test with node's test runner: unit tests compiled beside the code (dist/**/*.test.js), the
// TypeScript integration tests compiled from test/integration/ (dist-test/**/*.test.js) and the integration tests
// in test/ (*.test.mjs). Extra arguments are passed to node --test (e.g. a file filter).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, suffix) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = [
  ...find('dist', '.test.js'),
  ...find('dist-test', '.test.js'),
  ...find('test', '.test.mjs'),
].sort();
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
