// What every fuzz harness shares: how many cases to run, how to replay a failure, and a few arbitraries of
// hostile text. `npm test` runs each property a bounded number of times (the harness's own small default);
// `npm run fuzz` sets FUZZ_RUNS=10000. A failure prints fast-check's seed and path; FUZZ_SEED and FUZZ_PATH
// replay exactly that case (see docs/fuzzing.md).
import fc from 'fast-check';

/** Cases per property: FUZZ_RUNS when set, else the harness's default (small enough for `npm test`). */
export function fuzzRuns(defaultRuns) {
  const env = process.env.FUZZ_RUNS;
  if (env === undefined || env === '') return defaultRuns;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_RUNS must be a whole number ≥ 1, got '${env}'`);
  return n;
}

/** fast-check parameters: the number of runs, and the seed and path of a failure to replay, when given. */
export function fuzzParams(defaultRuns) {
  // includeErrorInReport: the failure's own message (an assertion, an exception) goes into the report.
  const params = { numRuns: fuzzRuns(defaultRuns), includeErrorInReport: true };
  if (process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '') {
    params.seed = Number(process.env.FUZZ_SEED);
    if (process.env.FUZZ_PATH !== undefined && process.env.FUZZ_PATH !== '')
      params.path = process.env.FUZZ_PATH;
  }
  return params;
}

/** Runs a property with the fuzz parameters; the thrown error names the seed and path to replay it. */
export async function fuzz(property, defaultRuns) {
  await fc.assert(property, fuzzParams(defaultRuns));
}

/** Keys that trip naive object handling. */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  ' ',
  '$',
  '.',
  '[0]',
  'a.b',
  'a/b',
  '~0',
  '~1',
  '"',
  '\u0000',
  '\uE000',
  '\u001b[31m',
  '\ud800',
  '😀',
];

/** Paths that must never be read blindly: devices, directories, the file system root. */
export const HOSTILE_PATHS = [
  '/dev/zero',
  '/dev/null',
  '/dev/full',
  '/dev/urandom',
  '/proc/self/status',
  '/',
  '.',
  '..',
  '',
  'missing.jsonl',
  'missing.mjs',
  '\u0000',
];

/** A string of any UTF-16 units (lone surrogates included) or of grapheme clusters. */
export const anyString = (constraints = {}) =>
  fc.oneof(
    fc.string(constraints),
    fc.string({ ...constraints, unit: 'binary' }),
    fc.string({ ...constraints, unit: 'grapheme' }),
    fc.string({
      ...constraints,
      unit: fc.constantFrom('\n', '\r', '\t', ' ', ':', '-', '#', '"', "'", '{', '['),
    }),
  );

/** A key: usually a plain word, sometimes a hostile one or any string. */
export const anyKey = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: 'binary' }) },
);

/** Any JSON value, with hostile keys among the object keys. */
export const anyJsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -0, 1, -1, 1e308, -1e-308, 2 ** 53, 2 ** 64, 0.1),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    anyString({ maxLength: 20 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(anyKey, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/**
 * `value` most of the time, something else of any JSON type otherwise: mostly valid documents reach the deep
 * checks, the rest exercise the type checks on every field.
 */
export const mostly = (value, other = anyJsonValue) =>
  fc.oneof({ weight: 9, arbitrary: value }, { weight: 1, arbitrary: other });

/** A field that is usually absent (undefined: `clean` drops it) and sometimes present. */
export const rarely = (value) =>
  fc.oneof({ weight: 19, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });

/** Drops the keys whose value is undefined (so that YAML and JSON texts hold the same document). */
export function clean(value) {
  if (Array.isArray(value)) return value.map(clean);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    Object.defineProperty(out, k, { value: clean(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The containers (objects and arrays) of a document, depth first, with the document itself first. */
function containers(value, out = []) {
  if (value === null || typeof value !== 'object') return out;
  out.push(value);
  for (const v of Object.values(value)) containers(v, out);
  return out;
}

/** One edit of a document: replace or delete a member of one of its containers, or add one. */
const edit = fc.record({
  at: fc.nat(),
  member: fc.nat(),
  kind: fc.constantFrom('replace', 'replace', 'delete', 'add'),
  key: anyKey,
  value: anyJsonValue,
});

/**
 * A document from `valid`, then (about half of the time) one to three random edits anywhere in it: every
 * edit is one problem a validator has to find, while the rest of the document still reaches the deep checks.
 */
export function mutated(valid) {
  const edits = fc.oneof(
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }) },
  );
  return fc.tuple(valid, edits).map(([doc, list]) => {
    const copy = clean(structuredClone(doc));
    for (const e of list) {
      const all = containers(copy);
      const target = all[e.at % all.length];
      const keys = Object.keys(target);
      if (e.kind === 'add' || keys.length === 0) {
        if (Array.isArray(target)) target.push(e.value);
        else
          Object.defineProperty(target, e.key, {
            value: e.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        continue;
      }
      const key = keys[e.member % keys.length];
      if (e.kind === 'delete') {
        if (Array.isArray(target)) target.splice(Number(key), 1);
        else delete target[key];
      } else {
        target[key] = e.value;
      }
    }
    return copy;
  });
}

/**
 * Deep equality of JSON values without recursion (assert.deepEqual and JSON.stringify overflow the stack on
 * values nested 10^4 deep, which JSON.parse reads fine).
 */
export function sameJson(a, b) {
  const stack = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop();
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') {
      if (!Object.is(x, y)) return false;
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    if (kx.length !== ky.length) return false;
    for (const k of kx) {
      if (!Object.hasOwn(y, k)) return false;
      stack.push([x[k], y[k]]);
    }
  }
  return true;
}

/** Asserts sameJson, with a short message (the values themselves may be megabytes). */
export function assertSameJson(actual, expected, what = 'values differ') {
  if (sameJson(actual, expected)) return;
  const preview = (v) => {
    try {
      const s = JSON.stringify(v);
      return s.length > 300 ? `${s.slice(0, 300)}…` : s;
    } catch {
      return '(too deep to print)';
    }
  };
  throw new Error(`${what}\n  actual:   ${preview(actual)}\n  expected: ${preview(expected)}`);
}
