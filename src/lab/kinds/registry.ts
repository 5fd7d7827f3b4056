/**
 * The suite kinds, one frozen registry: the `kind` field of a suite file (and of a results file) names one of
 * these. Adding a kind is a folder lab/kinds/<name>/ with its kind.ts, and one line here.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { BenchError, SuiteInvalidError } from '../../core/errors.js';
import { httpKind } from './http/kind.js';
import { ingestKind } from './ingest/kind.js';
import type { RegisteredKind } from './kind.js';
import { pipelinesKind } from './pipelines/kind.js';
import { DEFAULT_SUITE_KIND, suiteKind } from './suite-file.js';

export const SUITE_KINDS: Readonly<Record<string, RegisteredKind>> = Object.freeze({
  http: httpKind,
  ingest: ingestKind,
  pipelines: pipelinesKind,
});

/** The kind of that name; an unknown name is an error that lists the kinds. */
export function kindNamed(name: string): RegisteredKind {
  const kind = Object.hasOwn(SUITE_KINDS, name) ? SUITE_KINDS[name] : undefined;
  if (kind === undefined) {
    throw new BenchError(`unknown suite kind '${name}'; kinds: ${Object.keys(SUITE_KINDS).join(', ')}`);
  }
  return kind;
}

/** The kind a suite file names in its `kind` field (none: http); an unknown kind is a problem of the suite. */
export async function kindOfSuiteFile(file: string): Promise<RegisteredKind> {
  const name = (await suiteKind(file)) ?? DEFAULT_SUITE_KIND;
  const kind = Object.hasOwn(SUITE_KINDS, name) ? SUITE_KINDS[name] : undefined;
  if (kind === undefined) {
    throw new SuiteInvalidError(file, [
      {
        path: '$.kind',
        message: `unknown suite kind '${name}'; kinds: ${Object.keys(SUITE_KINDS).join(', ')}`,
      },
    ]);
  }
  return kind;
}

/** The kind of a results file without a `kind` field (format 1), or undefined when none recognises it. */
export function legacyResultsKind(data: Readonly<Record<string, unknown>>): string | undefined {
  return Object.values(SUITE_KINDS).find((k) => k.recognises(data))?.name;
}

/** The one schema of suite files: any kind's, told apart by the `kind` field (for editors and documentation). */
export function suiteFileSchema(): TSchema {
  return Type.Union(
    Object.values(SUITE_KINDS).flatMap((k) => (k.schema !== null ? [k.schema] : [])),
    { title: 'pitlane suite file', description: `kinds: ${Object.keys(SUITE_KINDS).join(', ')}` },
  );
}
