// The layers of src/ point one way and no module imports itself in a circle (issue 14). Every import of every
// source module (tests aside) is read with the TypeScript compiler's pre-processor (static imports, `import
// type`, re-exports and dynamic `import()`), resolved to a file, and checked against MAY_IMPORT. Type-only
// imports count: a type cycle is still a cycle a reader has to hold in their head.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const CORE = ['core'];
const LOW = ['core', 'process'];
const MIDDLE = ['pipeline', 'nodes', 'python', 'inference', 'index', 'media'];

/**
 * Each top-level folder of src/ and the folders it may import (besides itself). The layers:
 * cli → lab, services → pipeline, nodes, python, inference, index, media → core. process/ is a low utility layer beside
 * core, usable by all but core; core imports nothing of the project. Within the middle layer only nodes imports
 * siblings (pipeline, python, media, and inference for model-backed nodes such as SileroVAD). lab and services do not import each other; nothing imports cli.
 */
const MAY_IMPORT = {
  core: [],
  process: CORE,
  pipeline: LOW,
  python: LOW,
  inference: LOW,
  index: LOW,
  media: LOW,
  nodes: [...LOW, 'pipeline', 'python', 'media', 'inference'],
  lab: [...LOW, ...MIDDLE],
  services: [...LOW, ...MIDDLE],
  cli: [...LOW, ...MIDDLE, 'lab', 'services'],
};

/** The folder of src/ a module belongs to ('' for a file directly in src/). */
function folderOf(file) {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1] : '';
}

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Reads src/: every module (repository-relative path, `/`-separated) with its relative imports resolved to
 * files. `.js` specifiers name the `.ts` source (NodeNext); an import that names no file is listed in `unresolved`.
 */
function readModules(root = ROOT) {
  const modules = new Map();
  const unresolved = [];
  const toRepoPath = (abs) => relative(root, abs).split(sep).join('/');
  for (const abs of sourceFiles(join(root, 'src'))) {
    const file = toRepoPath(abs);
    const imports = [];
    for (const { fileName } of ts.preProcessFile(readFileSync(abs, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package or node: builtin
      const target = resolve(dirname(abs), fileName);
      const asTs = target.replace(/\.js$/, '.ts');
      if (existsSync(asTs)) imports.push({ specifier: fileName, to: toRepoPath(asTs) });
      else if (existsSync(target)) imports.push({ specifier: fileName, to: toRepoPath(target) });
      else unresolved.push(`${file} imports '${fileName}', which names no file`);
    }
    modules.set(file, imports);
  }
  return { modules, unresolved };
}

/** Imports from a folder to one it may not import, as messages naming the file, the import and the rule. */
function layerViolations(modules, mayImport = MAY_IMPORT) {
  const problems = [];
  for (const [from, imports] of modules) {
    const a = folderOf(from);
    for (const { specifier, to } of imports) {
      if (!to.startsWith('src/')) continue;
      const b = folderOf(to);
      if (a === b) continue;
      const allowed = mayImport[a];
      if (allowed === undefined || !allowed.includes(b)) {
        const rule =
          allowed === undefined
            ? `src/${a || '.'} has no layer: add it to MAY_IMPORT in test/layers.test.mjs`
            : `${a}/ may import only ${allowed.length > 0 ? allowed.map((f) => `${f}/`).join(', ') : 'nothing of the project'}, not ${b || 'src'}/`;
        problems.push(`${from} imports '${specifier}' (${to}): ${rule}`);
      }
    }
  }
  return problems;
}

/** Import cycles between modules (strongly connected components), each reported as one cycle path. */
function importCycles(modules) {
  const next = new Map();
  for (const [from, imports] of modules) {
    next.set(
      from,
      imports.filter(({ to }) => modules.has(to)),
    );
  }
  // Tarjan's algorithm, iterative so that a deep import chain cannot overflow the stack.
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  let counter = 0;
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work = [{ v: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = next.get(frame.v);
      if (frame.i < edges.length) {
        const w = edges[frame.i++].to;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.v, Math.min(low.get(frame.v), index.get(w)));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.v, Math.min(low.get(parent.v), low.get(frame.v)));
      if (low.get(frame.v) === index.get(frame.v)) {
        const component = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.v);
        const selfLoop = next.get(frame.v).some((e) => e.to === frame.v);
        if (component.length > 1 || selfLoop) components.push(new Set(component));
      }
    }
  }
  // One path per component: breadth-first from its first module back to itself, inside the component.
  return components.map((members) => {
    const first = [...members].sort()[0];
    const cameFrom = new Map();
    const queue = [first];
    let closing = null;
    while (queue.length > 0 && closing === null) {
      const v = queue.shift();
      for (const e of next.get(v)) {
        if (!members.has(e.to)) continue;
        if (e.to === first) {
          closing = { v, e };
          break;
        }
        if (!cameFrom.has(e.to)) {
          cameFrom.set(e.to, { v, e });
          queue.push(e.to);
        }
      }
    }
    const steps = [closing];
    for (let at = closing.v; at !== first; at = cameFrom.get(at).v) steps.unshift(cameFrom.get(at));
    return `${first} ${steps.map(({ e }) => `→ '${e.specifier}' (${e.to})`).join(' ')}`;
  });
}

describe('layers', () => {
  const { modules, unresolved } = readModules();

  test('src/ has modules and every relative import names a file', () => {
    assert.ok(modules.size > 50, `only ${modules.size} modules found under src/`);
    assert.equal(unresolved.length, 0, unresolved.join('\n'));
  });

  test('every folder of src/ has a layer', () => {
    const folders = [...new Set([...modules.keys()].map(folderOf))].sort();
    const missing = folders.filter((f) => MAY_IMPORT[f] === undefined);
    assert.deepEqual(missing, [], `src/ folders without a layer in MAY_IMPORT: ${missing.join(', ')}`);
  });

  test('layers point one way', () => {
    const problems = layerViolations(modules);
    assert.equal(problems.length, 0, `imports against the layers:\n${problems.join('\n')}`);
  });

  test('no import cycle between modules', () => {
    const cycles = importCycles(modules);
    assert.equal(cycles.length, 0, `import cycles:\n${cycles.join('\n')}`);
  });

  test('the checks find a layer violation and a cycle, and name the file, the import and the rule', () => {
    const fake = new Map([
      ['src/core/a.ts', [{ specifier: '../pipeline/b.js', to: 'src/pipeline/b.ts' }]],
      ['src/pipeline/b.ts', [{ specifier: './c.js', to: 'src/pipeline/c.ts' }]],
      ['src/pipeline/c.ts', [{ specifier: './b.js', to: 'src/pipeline/b.ts' }]],
      ['src/lab/d.ts', [{ specifier: '../cli/e.js', to: 'src/cli/e.ts' }]],
      ['src/cli/e.ts', []],
    ]);
    assert.deepEqual(layerViolations(fake), [
      "src/core/a.ts imports '../pipeline/b.js' (src/pipeline/b.ts): core/ may import only nothing of the project, not pipeline/",
      "src/lab/d.ts imports '../cli/e.js' (src/cli/e.ts): lab/ may import only core/, process/, pipeline/, nodes/, python/, inference/, index/, media/, not cli/",
    ]);
    assert.deepEqual(importCycles(fake), [
      "src/pipeline/b.ts → './c.js' (src/pipeline/c.ts) → './b.js' (src/pipeline/b.ts)",
    ]);
  });
});
