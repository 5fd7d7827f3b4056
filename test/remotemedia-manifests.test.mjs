// RemoteMedia's own v1 manifests (test/fixtures/remotemedia/, copied unchanged from its repository) load here, or
// are refused only for RemoteMedia node types pitlane does not provide (or for what a type it provides only partly
// lacks, as its reason says): never for a field, never for metadata.
// Expectations are computed from the node registry and src/pipeline/remotemedia-types.ts, so the test stays true
// as node types are added.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ManifestInvalidError } from '../dist/core/errors.js';
import { parseManifest } from '../dist/pipeline/manifest.js';
import { REMOTEMEDIA_NODE_TYPES, remoteMediaStatus } from '../dist/pipeline/remotemedia-types.js';
import { BUILTIN_NODE_TYPES } from '../dist/nodes/registry.js';
import { ROOT } from './helpers.mjs';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'remotemedia');

function manifestFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? manifestFiles(join(dir, e.name))
      : /\.(ya?ml|json)$/.test(e.name)
        ? [join(dir, e.name)]
        : [],
  );
}

/**
 * `${VAR:-default}` → default: RemoteMedia's example tools (pipeline-embed, tts-dataset-gen, transcribe-srt) expand
 * these shell-style templates before its loader sees the manifest (here: as with no variable set); its loader and
 * `remotemedia run`, like pitlane, do not.
 */
const expandTemplates = (text) => text.replace(/\$\{\w+(?::[-=]([^}]*))?\}/g, (_, d) => d ?? '');

const files = manifestFiles(FIXTURES).sort();

/**
 * Problems of RemoteMedia's own manifests that are not about node types, each refused by RemoteMedia too:
 * file → problems allowed besides the missing types (matched on `path: message`; `nodes` of a given type).
 */
const KNOWN_DEFECTS = {
  // A connection from a node that is not in the manifest: RemoteMedia's validate() refuses it ("Connection
  // references unknown source node").
  'examples/docker-node/mixed_executors.json': {
    problems: [/^\$\.connections\[0\]\.from: no node has id 'audio_input'$/],
  },
};

/**
 * A problem allowed besides the missing types: one of the file's known defects, or one in a node whose type
 * pitlane provides only `partly` (the data file's reason says what is missing: a Whisper node without its model
 * folder, a PythonNode written in a form RemoteMedia's own code does not define).
 */
function allowed(name, types, problem) {
  const line = `${problem.path}: ${problem.message}`;
  if (KNOWN_DEFECTS[name]?.problems.some((re) => re.test(line))) return true;
  const node = /^\$\.nodes\[(\d+)\]/.exec(problem.path);
  return node !== null && remoteMediaStatus(types[Number(node[1])], BUILTIN_NODE_TYPES)?.status === 'partly';
}

describe("RemoteMedia's manifests", () => {
  test('the fixtures are there: every v1 manifest of RemoteMedia at e9c6309 that the README lists', () => {
    const listed = [...readFileSync(join(FIXTURES, 'README.md'), 'utf8').matchAll(/^- `(.+)`$/gm)].map(
      (m) => m[1],
    );
    assert.equal(listed.length, 43);
    for (const f of listed) assert.ok(files.includes(join(FIXTURES, f)), `missing: ${f}`);
  });

  for (const file of files) {
    const name = relative(FIXTURES, file);
    test(name, async () => {
      const text = expandTemplates(readFileSync(file, 'utf8'));
      const doc = parseYaml(text);
      const types = doc.nodes.map((n) => n.node_type ?? n.nodeType);
      for (const t of types) {
        assert.ok(
          BUILTIN_NODE_TYPES.get(t) !== undefined || Object.hasOwn(REMOTEMEDIA_NODE_TYPES, t),
          `${name}: '${t}' is neither a pitlane type nor in src/pipeline/remotemedia-types.ts`,
        );
      }
      const missing = new Set(
        types.filter((t) => remoteMediaStatus(t, BUILTIN_NODE_TYPES)?.status === 'not-available'),
      );
      let warnings = [];
      try {
        const m = await parseManifest(
          text,
          { source: file, baseDir: dirname(file), onWarnings: (w) => (warnings = w) },
          BUILTIN_NODE_TYPES,
        );
        assert.deepEqual([...missing], [], `${name} loaded, but it uses types pitlane lacks`);
        assert.equal(KNOWN_DEFECTS[name], undefined, `${name} loaded: remove it from KNOWN_DEFECTS`);
        assert.equal(m.nodes.length, types.length);
      } catch (e) {
        if (!(e instanceof ManifestInvalidError)) throw e;
        const named = new Set();
        for (const p of e.problems) {
          if (allowed(name, types, p)) continue;
          const m = /^'(.+)' is a RemoteMedia node type that pitlane does not provide: /.exec(p.message);
          assert.ok(
            m !== null && /^\$\.nodes\[\d+\]\.node_type$/.test(p.path),
            `${name}: ${p.path}: ${p.message}`,
          );
          named.add(m[1]);
        }
        assert.deepEqual([...named].sort(), [...missing].sort(), `${name}: the types named`);
      }
      // Metadata never produces a warning (it is free-form), and no warning is about a field RemoteMedia defines.
      for (const w of warnings)
        assert.doesNotMatch(w.path, /^\$\.metadata/, `${name}: ${w.path}: ${w.message}`);
    });
  }
});
