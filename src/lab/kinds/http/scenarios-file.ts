/**
 * The scenarios of an HTTP suite, wherever they are written: pitlane's map (`concurrency_1: {concurrency: 1,
 * num_requests: 1000}`), the seed's list (`- {name: concurrency_1, concurrency: 1, num_requests: 1000}`), or the
 * seed's benchmark.yaml as it is, named by the suite (`scenarios: {file: benchmark.yaml}`) or given on the
 * command line (`pitlane bench SUITE --scenarios benchmark.yaml`). Each entry keeps the JSON path it was read at,
 * so a problem is reported in the file it is in, at its line.
 */
import { Type } from '@sinclair/typebox';
import type { ManifestProblem } from '../../../core/errors.js';
import {
  memberPath,
  parseDocumentText,
  readConfigFile,
  schemaProblems,
} from '../../../core/config-document.js';
import {
  ScenarioSchema,
  SeedScenarioListSchema,
  type ScenarioDocument,
  type SeedScenarioDocument,
} from './schema.js';

/** One scenario as written, with where it was read. */
export interface ScenarioEntry {
  readonly name: string;
  readonly doc: ScenarioDocument;
  /** Its JSON path in the file it came from. */
  readonly at: string;
}

const ScenarioMapSchema = Type.Record(Type.String(), ScenarioSchema);

/** The entries of a `scenarios:` value (a map or the seed's list); pushes its problems; null when it has some. */
export function scenarioEntries(
  value: unknown,
  base: string,
  problems: ManifestProblem[],
): ScenarioEntry[] | null {
  if (Array.isArray(value)) {
    const found = schemaProblems(SeedScenarioListSchema, value, base);
    problems.push(...found);
    if (found.length > 0) return null;
    const list = value as SeedScenarioDocument[];
    const first = new Map<string, number>();
    const entries: ScenarioEntry[] = [];
    list.forEach(({ name, ...doc }, i) => {
      const seen = first.get(name);
      if (seen !== undefined) {
        problems.push({
          path: `${base}[${i}].name`,
          message: `scenario '${name}' is listed twice (also ${base}[${seen}])`,
        });
        return;
      }
      first.set(name, i);
      entries.push({ name, doc, at: `${base}[${i}]` });
    });
    return entries;
  }
  const found = schemaProblems(ScenarioMapSchema, value, base);
  problems.push(...found);
  if (found.length > 0) return null;
  return Object.entries(value as Record<string, ScenarioDocument>).map(([name, doc]) => ({
    name,
    doc,
    at: memberPath(base, name),
  }));
}

/** A scenarios file as read: its text (to locate problems in), its entries, and its problems. */
export interface ScenariosFile {
  readonly file: string;
  readonly text: string;
  readonly entries: readonly ScenarioEntry[];
  readonly problems: ManifestProblem[];
}

/**
 * Reads a benchmark.yaml (the seed's, as it is): its `scenarios:` list or map. Its other top-level fields are
 * the settings of the seed's own clients and are left alone. Throws FileError when the file cannot be read.
 */
export async function readScenariosFile(file: string): Promise<ScenariosFile> {
  const text = readConfigFile(file, 'scenarios file');
  const problems: ManifestProblem[] = [];
  const parsed = await parseDocumentText(text, file);
  if (!parsed.ok) return { file, text, entries: [], problems: [{ path: '$', message: parsed.message }] };
  const doc = parsed.doc;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !('scenarios' in doc)) {
    problems.push({
      path: '$.scenarios',
      message:
        'required: a benchmark.yaml lists its scenarios under scenarios: (- {name, concurrency, num_requests})',
    });
    return { file, text, entries: [], problems };
  }
  const entries = scenarioEntries(doc.scenarios, '$.scenarios', problems) ?? [];
  if (problems.length === 0 && entries.length === 0)
    problems.push({ path: '$.scenarios', message: 'define at least one scenario' });
  return { file, text, entries, problems };
}
