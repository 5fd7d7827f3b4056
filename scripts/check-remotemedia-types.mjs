#!/usr/bin/env node
// Maintainer script: compares pitlane's list of RemoteMedia node types (src/pipeline/remotemedia-types.ts, read from
// dist/: run `npm run build` first) with the node types a RemoteMedia checkout registers or uses, and prints the
// types missing from the list (exit 1 when there are any). CI does not run it: it has no RemoteMedia checkout.
//
//   node scripts/check-remotemedia-types.mjs [CHECKOUT]
//
// CHECKOUT is a work tree, or a git directory read at HEAD (default: the mirror at
// /work/.mirror/matbeedotcom+remotemedia-sdk/repo). Sources of type names:
//   - Rust: `fn node_type(&self) -> &str { "X" }` in crates/**/*.rs, outside tests/, benches/, examples/ and
//     `#[cfg(test)] mod ... { }` blocks;
//   - Python SDK: `@streaming_node(node_type="X", ...)` registrations;
//   - manifests: every `node_type` (or `nodeType`) of the YAML and JSON files in RemoteMedia's v1 shape
//     (`version`, `metadata`, `nodes` and `connections` at the top; not its older docker-node examples with `edges`).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REMOTEMEDIA_NODE_TYPES } from '../dist/pipeline/remotemedia-types.js';

const DEFAULT_CHECKOUT = '/work/.mirror/matbeedotcom+remotemedia-sdk/repo';
const SKIP_DIRS = new Set([
  '.git',
  'node_modules',
  'target',
  'dist',
  'build',
  '.venv',
  'venv',
  '__pycache__',
]);

/** A checkout's files: `list()` gives repository-relative paths, `read(path)` their text. */
function openCheckout(path) {
  const isWorkTree = existsSync(join(path, '.git')) || !existsSync(join(path, 'HEAD'));
  if (isWorkTree) {
    return {
      label: path,
      list() {
        const out = [];
        const walk = (dir) => {
          for (const entry of readdirSync(dir, { withFileTypes: true })) {
            if (entry.isDirectory()) {
              if (!SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name));
            } else if (entry.isFile()) out.push(relative(path, join(dir, entry.name)));
          }
        };
        walk(path);
        return out;
      },
      read: (file) =>
        statSync(join(path, file)).size > 4_000_000 ? '' : readFileSync(join(path, file), 'utf8'),
    };
  }
  const git = (args, input) =>
    execFileSync('git', [`--git-dir=${path}`, ...args], { input, maxBuffer: 1024 * 1024 * 1024 });
  const head = git(['rev-parse', '--short', 'HEAD']).toString().trim();
  const files = git(['ls-tree', '-r', '--name-only', 'HEAD']).toString().split('\n').filter(Boolean);
  let blobs;
  return {
    label: `${path} at ${head}`,
    list: () => files,
    read: (file) => {
      // One `git cat-file --batch` for every file that may hold type names, on first use.
      blobs ??= readBlobs(git, files.filter(wanted));
      return blobs.get(file) ?? '';
    },
  };
}

/** The files the scan reads. */
function wanted(file) {
  return /\.(rs|py|ya?ml|json)$/.test(file) && !file.includes('node_modules/');
}

/** Path → text of the files, through one `git cat-file --batch` (a missing or huge blob reads as ''). */
function readBlobs(git, files) {
  const out = git(['cat-file', '--batch'], files.map((f) => `HEAD:${f}\n`).join(''));
  const blobs = new Map();
  let at = 0;
  for (const file of files) {
    const eol = out.indexOf(10, at);
    const header = out.subarray(at, eol).toString();
    at = eol + 1;
    const m = /^\S+ blob (\d+)$/.exec(header);
    if (m === null) continue; // "<name> missing"
    const size = Number(m[1]);
    if (size <= 4_000_000) blobs.set(file, out.subarray(at, at + size).toString('utf8'));
    at += size + 1;
  }
  return blobs;
}

/** Removes `#[cfg(test)] mod name { ... }` blocks (brace matching; braces in strings are rare enough here). */
function withoutTestModules(rust) {
  let out = rust;
  for (;;) {
    const m = /#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{/.exec(out);
    if (m === null) return out;
    let depth = 0;
    let end = out.length;
    for (let i = m.index + m[0].length - 1; i < out.length; i++) {
      if (out[i] === '{') depth++;
      else if (out[i] === '}' && --depth === 0) {
        end = i + 1;
        break;
      }
    }
    out = out.slice(0, m.index) + out.slice(end);
  }
}

/**
 * The nodes of a manifest in RemoteMedia's v1 shape, else []: what its `Manifest` struct requires (`version`,
 * `metadata`, `nodes`, `connections`).
 */
function v1Nodes(text) {
  let doc;
  try {
    doc = parseYaml(text); // JSON is YAML
  } catch {
    return [];
  }
  const ok =
    typeof doc === 'object' &&
    doc !== null &&
    typeof doc.version === 'string' &&
    typeof doc.metadata === 'object' &&
    Array.isArray(doc.nodes) &&
    Array.isArray(doc.connections);
  return ok ? doc.nodes : [];
}

function add(found, name, where) {
  if (!found.has(name)) found.set(name, new Set());
  found.get(name).add(where);
}

function collect(checkout) {
  const found = new Map();
  for (const file of checkout.list()) {
    if (file.endsWith('.rs') && file.startsWith('crates/') && !/\/(tests|benches|examples)\//.test(file)) {
      const text = checkout.read(file);
      if (!text.includes('fn node_type')) continue;
      const re = /fn\s+node_type\s*\(\s*&self\s*\)\s*->\s*&(?:'static\s+)?str\s*\{\s*"([^"]+)"/g;
      for (const m of withoutTestModules(text).matchAll(re)) add(found, m[1], file);
    } else if (file.endsWith('.py') && !/(^|\/)tests?\//.test(file)) {
      const text = checkout.read(file);
      if (!text.includes('@streaming_node')) continue;
      for (const m of text.matchAll(/@streaming_node\(\s*(?:[^)]*?\bnode_type\s*=\s*)?"([^"]+)"/g)) {
        add(found, m[1], file);
      }
    } else if (/\.(ya?ml|json)$/.test(file) && !file.includes('node_modules/')) {
      const text = checkout.read(file);
      if (!text.includes('node_type') && !text.includes('nodeType')) continue;
      for (const node of v1Nodes(text)) {
        const type = node?.node_type ?? node?.nodeType;
        // `${VAR:-default}`: a template of RemoteMedia's pipeline-embed tool; its default is the type.
        const name = typeof type === 'string' ? type.replace(/^\$\{\w+:[-=](.*)\}$/, '$1') : undefined;
        if (name !== undefined) add(found, name, file);
      }
    }
  }
  return found;
}

const checkout = openCheckout(process.argv[2] ?? DEFAULT_CHECKOUT);
const found = collect(checkout);
const missing = [...found.keys()].filter((t) => !Object.hasOwn(REMOTEMEDIA_NODE_TYPES, t)).sort();
const listed = Object.keys(REMOTEMEDIA_NODE_TYPES).length;
console.log(`${checkout.label}: ${found.size} node types found; the list has ${listed}.`);
if (missing.length === 0) {
  console.log('Every type found is in src/pipeline/remotemedia-types.ts.');
} else {
  console.log(`Missing from src/pipeline/remotemedia-types.ts (${missing.length}):`);
  for (const t of missing) {
    const where = [...found.get(t)];
    console.log(
      `  ${t}  (${where.slice(0, 3).join(', ')}${where.length > 3 ? `, +${where.length - 3}` : ''})`,
    );
  }
  process.exitCode = 1;
}
