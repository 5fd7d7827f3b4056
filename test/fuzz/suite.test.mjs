// Fuzzing the benchmark suite loaders, both kinds: HTTP suites (loadSuite) and `kind: ingest` suites
// (loadIngestSuite), from real files. Property: any file gives a suite or a SuiteInvalidError / FileError whose
// problems each carry a JSON path and a message, never another exception and never a hang. Mostly valid suites
// come from the shipped examples with random edits, and from edits that point every path a suite names (body
// files, generator and compare modules, working folders) at devices, FIFOs, folders and missing files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { FileError, SuiteInvalidError } from '../../dist/core/errors.js';
import { loadIngestSuite } from '../../dist/lab/kinds/ingest/suite.js';
import { loadSuite } from '../../dist/lab/kinds/http/suite.js';
import { ROOT } from '../helpers.mjs';
import { HOSTILE_PATHS, anyJsonValue, anyString, clean, fuzz, mutated } from './fuzz-support.mjs';

const EXAMPLES = ['echo', 'embeddings', 'embeddings-soak', 'ingest'].map((name) =>
  parseYaml(readFileSync(join(ROOT, 'examples', 'suites', `${name}.yaml`), 'utf8')),
);

let dir;
let count = 0;

/** Writes `text` as a suite file in the fixture folder and loads it with `load`; returns the outcome. */
async function outcome(load, text, ext) {
  const file = join(dir, `suite-${count++}.${ext}`);
  writeFileSync(file, text);
  try {
    const suite = await load(file);
    assert.equal(typeof suite.name, 'string');
    assert.ok(suite.contestants.length >= 1, 'a valid suite has contestants');
    assert.ok(suite.scenarios.length >= 1, 'a valid suite has scenarios');
    return { ok: true, problems: [] };
  } catch (e) {
    if (e instanceof FileError) {
      assert.equal(e.code, 'PL_ERR_FILE');
      return { ok: false, problems: ['file'] };
    }
    if (!(e instanceof SuiteInvalidError)) throw e;
    assert.equal(e.code, 'PL_ERR_SUITE_INVALID');
    assert.ok(e.problems.length > 0, 'an invalid suite lists at least one problem');
    for (const p of e.problems) {
      assert.match(p.path, /^\$/, `a problem's path is a JSON path: ${p.path}`);
      assert.ok(typeof p.message === 'string' && p.message.length > 0, `problem at ${p.path} has a message`);
      if (p.line !== undefined) assert.ok(Number.isInteger(p.line) && p.line >= 1, `line ${p.line}`);
    }
    return { ok: false, problems: e.problems.map((p) => `${p.path}: ${p.message}`).sort() };
  } finally {
    rmSync(file, { force: true });
  }
}

const loaders = { http: (f) => loadSuite(f), ingest: (f) => loadIngestSuite(f, { quick: true }) };

/** Every path a suite can name, with hostile and fixture values for it. */
const FIXTURE_PATHS = [
  'bodies.jsonl',
  'bad.jsonl',
  'empty.jsonl',
  'gen.mjs',
  'gen-throws.mjs',
  'compare.mjs',
  'fifo',
  'echo',
];
const anyPath = fc.oneof(fc.constantFrom(...HOSTILE_PATHS, ...FIXTURE_PATHS), anyString({ maxLength: 10 }));

/** Sets one path-valued field somewhere in a suite to `path`. */
function pointPathAt(doc, field, path) {
  const copy = clean(structuredClone(doc));
  const workloads = Object.values(copy.workloads ?? {});
  const contestants = Array.isArray(copy.contestants) ? copy.contestants : [];
  switch (field) {
    case 'bodies.file':
      for (const w of workloads) w.bodies = { file: path };
      for (const w of workloads) delete w.body;
      break;
    case 'generator':
      for (const w of workloads) {
        delete w.bodies;
        delete w.body;
        w.generator = path;
      }
      break;
    case 'correctness.module':
      copy.correctness = { mode: 'custom', module: path };
      break;
    case 'cwd':
      for (const c of contestants) c.cwd = path;
      break;
    case 'corpus.dir':
      if (copy.corpus !== undefined) copy.corpus.dir = path;
      break;
    default:
      throw new Error(field);
  }
  return copy;
}

const suiteDoc = mutated(fc.constantFrom(...EXAMPLES));
const pathDoc = fc
  .tuple(
    fc.constantFrom(...EXAMPLES),
    fc.constantFrom('bodies.file', 'generator', 'correctness.module', 'cwd', 'corpus.dir'),
    anyPath,
  )
  .map(([doc, field, path]) => pointPathAt(doc, field, path));

describe('suite loader fuzz', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pitlane-fuzz-suite-'));
    for (const sub of ['echo', 'embeddings']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'bodies.jsonl'), '{"a":1}\n\n{"b":[2]}\r\n');
    writeFileSync(join(dir, 'echo', 'bodies.jsonl'), '{"numbers":[1,2]}\n');
    writeFileSync(join(dir, 'embeddings', 'texts.jsonl'), '{"input":"x"}\n');
    writeFileSync(join(dir, 'embeddings', 'queries.jsonl'), '{"input":"y"}\n');
    writeFileSync(join(dir, 'bad.jsonl'), '{"a":1}\nnot json\n[');
    writeFileSync(join(dir, 'empty.jsonl'), '\n \n');
    writeFileSync(join(dir, 'gen.mjs'), 'export default (i) => ({ i });\n');
    writeFileSync(join(dir, 'gen-throws.mjs'), 'export default () => { throw new Error("no"); };\n');
    writeFileSync(join(dir, 'compare.mjs'), 'export function compare() { return { ok: true }; }\n');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [kind, load] of Object.entries(loaders)) {
    test(`${kind} loader: any text is a suite or a suite error`, async () => {
      await fuzz(
        fc.asyncProperty(
          fc.oneof(
            anyString({ maxLength: 200 }),
            fc.json(),
            anyJsonValue.map((v) => toYaml(v)),
          ),
          fc.constantFrom('yaml', 'json', 'txt'),
          async (text, ext) => {
            await outcome(load, text, ext);
          },
        ),
        50,
      );
    });

    test(`${kind} loader: edited example suites, as JSON and as YAML, get the same verdict`, async () => {
      await fuzz(
        fc.asyncProperty(suiteDoc, async (doc) => {
          // The JSON of the document the YAML text holds (yaml's stringify does not round-trip every string).
          const yamlText = toYaml(doc);
          const json = await outcome(load, JSON.stringify(parseYaml(yamlText)), 'json');
          const yaml = await outcome(load, yamlText, 'yaml');
          assert.equal(yaml.ok, json.ok, 'same verdict');
          // Problems name the file; compare them without it.
          const strip = (list) => list.map((p) => p.replace(/suite-\d+\.(json|yaml)/g, 'FILE'));
          assert.deepEqual(strip(yaml.problems), strip(json.problems), 'same problems');
        }),
        50,
      );
    });

    test(`${kind} loader: every path a suite names may be a device, a FIFO, a folder or missing`, async () => {
      await fuzz(
        fc.asyncProperty(pathDoc, fc.constantFrom('json', 'yaml'), async (doc, ext) => {
          await outcome(load, ext === 'json' ? JSON.stringify(doc) : toYaml(doc), ext);
        }),
        50,
      );
    });
  }
});

describe('suite loader regressions (cases the fuzzer found)', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pitlane-fuzz-suite-'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const echo = EXAMPLES[0];
  for (const [field, path] of [
    ['bodies.file', '/dev/zero'],
    ['bodies.file', 'fifo'],
    ['generator', '/dev/zero'],
    ['generator', 'fifo'],
    ['correctness.module', '/dev/zero'],
    ['correctness.module', 'fifo'],
  ]) {
    test(`${field}: ${path} is a problem naming the field, not a read that never ends`, async () => {
      const doc = pointPathAt(echo, field, path);
      const result = await outcome(loaders.http, JSON.stringify(doc), 'json');
      assert.equal(result.ok, false);
      assert.ok(
        result.problems.some((p) => p.includes(field.split('.').pop()) && /not a regular file/.test(p)),
        result.problems.join('\n'),
      );
    });
  }
});
