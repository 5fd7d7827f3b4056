/**
 * Config documents (pipeline manifests, benchmark suites): parse JSON or YAML, turn schema failures into
 * readable problems with JSON paths, and locate problems by line and column in the text. Shared so that every
 * file a user writes gets the same kind of error report.
 *
 * JSON takes the fast path (JSON.parse); the yaml library is loaded only for YAML and, on the error path, to
 * locate problems.
 */
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { toError, type ManifestProblem } from './errors.js';
import { readUserTextFile } from './user-file.js';

/**
 * Reads a config file as text; a missing or unreadable file, one that is not a regular file (`/dev/zero`, a FIFO,
 * a directory) or one over 16 MiB is a FileError naming it.
 */
export function readConfigFile(file: string, what = 'config file'): string {
  return readUserTextFile(file, what);
}

/** Parses JSON or YAML text; the format comes from the file name, else from the first character. */
export async function parseDocumentText(
  text: string,
  source: string,
  format?: 'json' | 'yaml',
): Promise<{ readonly ok: true; readonly doc: unknown } | { readonly ok: false; readonly message: string }> {
  if ((format ?? detectFormat(source, text)) === 'json') {
    try {
      return { ok: true, doc: JSON.parse(text) as unknown };
    } catch (e) {
      return { ok: false, message: `not valid JSON: ${toError(e).message}` };
    }
  }
  const { parseDocument } = await loadYaml();
  const parsed = parseDocument(text, { prettyErrors: true });
  const first = parsed.errors[0];
  if (first) return { ok: false, message: `not valid YAML: ${first.message}` };
  try {
    // toJS refuses documents whose aliases would expand beyond maxAliasCount (a "billion laughs" alias bomb).
    return { ok: true, doc: parsed.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (e) {
    return { ok: false, message: `not valid YAML: ${toError(e).message}` };
  }
}

/** Locates problems in the text and sorts them by position. */
export async function locateAndSortProblems(text: string, problems: ManifestProblem[]): Promise<void> {
  await locateProblems(text, problems);
  problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
}

/** The candidate closest to `name` (case-insensitive edit distance), if it is close enough to suggest. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

type YamlModule = typeof import('yaml');

/** Loads the yaml library on demand (JSON manifests never pay for it); works bundled (CJS interop) or not. */
async function loadYaml(): Promise<YamlModule> {
  const mod = (await import('yaml')) as YamlModule & { default?: YamlModule };
  return typeof mod.parseDocument === 'function' ? mod : (mod.default as YamlModule);
}

function detectFormat(source: string, text: string): 'json' | 'yaml' {
  if (/\.json$/i.test(source)) return 'json';
  if (/\.ya?ml$/i.test(source)) return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/** Schema problems of `value`, one per path (the first, most specific message), as readable messages. */
export function schemaProblems(
  schema: Parameters<typeof Value.Errors>[0],
  value: unknown,
  base: string,
): ManifestProblem[] {
  if (Value.Check(schema, value)) return []; // the common case; collecting errors costs more than checking
  const byPath = new Map<string, ManifestProblem>();
  for (const e of Value.Errors(schema, value)) {
    const path = base + pointerToPath(e.path);
    if (byPath.has(path)) continue;
    byPath.set(path, { path, message: describeSchemaError(e) });
  }
  return [...byPath.values()];
}

function describeSchemaError(e: ValueError): string {
  const schema = e.schema as Record<string, unknown>;
  const got = describeValue(e.value);
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown field';
    case ValueErrorType.Union: {
      const options = (schema.anyOf as Record<string, unknown>[] | undefined) ?? [];
      const consts = options.map((o) => o.const).filter((c) => c !== undefined);
      if (consts.length === options.length && consts.length > 0) {
        return `must be one of ${consts.map((c) => JSON.stringify(c)).join(', ')}; got ${got}`;
      }
      return `${e.message.toLowerCase()}; got ${got}`;
    }
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(schema.const)}; got ${got}`;
    default:
      return `${e.message.replace(/^Expected/, 'expected')}; got ${got}`;
  }
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  // JSON.stringify writes NaN and ±Infinity (YAML's .nan, .inf) as null: name them.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * The JSON path of a member: `$.models` + `minilm` → `$.models.minilm`, + `minilm-l6` → `$.models["minilm-l6"]`
 * (the spelling locateProblems reads back, so the problem gets its line).
 */
export function memberPath(base: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** `/nodes/0/params/op` → `.nodes[0].params.op` */
function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) =>
      /^\d+$/.test(seg)
        ? `[${seg}]`
        : /^[A-Za-z_$][\w$]*$/.test(seg)
          ? `.${seg}`
          : `[${JSON.stringify(seg)}]`,
    )
    .join('');
}

/** `$.nodes[0].params.op` → ['nodes', 0, 'params', 'op'] */
function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.slice(1).matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

/** Adds line and column to each problem by finding its path (or its nearest existing parent) in the text. */
export async function locateProblems(text: string, problems: ManifestProblem[]): Promise<void> {
  try {
    const { parseDocument, LineCounter, isCollection } = await loadYaml();
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, keepSourceTokens: false });
    for (const p of problems) {
      const segs = pathSegments(p.path);
      for (let n = segs.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(segs.slice(0, n), true);
        if (node === undefined || node === null) continue;
        // Point at the key of a field where possible (more useful than its value).
        let offset = (node as { range?: [number, number, number] }).range?.[0];
        if (n > 0) {
          const parent = n === 1 ? doc.contents : doc.getIn(segs.slice(0, n - 1), true);
          if (isCollection(parent)) {
            const pair = (
              parent.items as { key?: { range?: [number, number, number]; value?: unknown } }[]
            ).find((it) => it.key?.value === segs[n - 1]);
            offset = pair?.key?.range?.[0] ?? offset;
          }
        }
        if (offset === undefined) continue;
        const pos = lineCounter.linePos(offset);
        p.line = pos.line;
        p.column = pos.col;
        break;
      }
    }
  } catch {
    // Locating is a courtesy; problems keep their JSON paths.
  }
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
