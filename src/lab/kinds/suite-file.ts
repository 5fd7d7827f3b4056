/**
 * A suite file's `kind` field, read before anything else so the registry can pick the kind that validates the
 * rest. A file without the field is an HTTP suite (the first kind, and the suites written before kinds existed).
 */
import { parseDocumentText, readConfigFile } from '../../core/config-document.js';

/** The kind a suite file names, when no `kind` field is given. */
export const DEFAULT_SUITE_KIND = 'http';

/** The `kind` of a suite file without validating the rest (undefined: the field is absent or the file unreadable). */
export async function suiteKind(file: string): Promise<string | undefined> {
  const parsed = await parseDocumentText(readConfigFile(file), file);
  if (!parsed.ok || typeof parsed.doc !== 'object' || parsed.doc === null) return undefined;
  const kind = (parsed.doc as { kind?: unknown }).kind;
  return typeof kind === 'string' ? kind : undefined;
}
