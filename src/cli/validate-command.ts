/**
 * `pitlane validate`: lists every problem of a manifest, and its warnings; or of a model repository (models.yaml,
 * told apart by its top-level `models` map), with the notes the serve commands print (a PyTorch path not served).
 */
import type { ManifestProblem } from '../core/errors.js';
import { ManifestInvalidError } from '../core/errors.js';
import { parseDocumentText, readConfigFile } from '../core/config-document.js';
import {
  loadModelRepository,
  ModelRepositoryInvalidError,
  unservedNotes,
} from '../inference/tensor/model-repository.js';
import { printable } from '../core/terminal-text.js';
import { loadManifestFile } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';

export interface ValidateCommandOptions {
  json?: boolean;
  /** Warnings (unknown fields) are errors. */
  strict?: boolean;
}

/** Whether the file is a model repository: a top-level `models` map and no `nodes` (a manifest's). */
async function isModelRepository(file: string): Promise<boolean> {
  let doc: unknown;
  try {
    const parsed = await parseDocumentText(readConfigFile(file), file);
    if (!parsed.ok) return false;
    doc = parsed.doc;
  } catch {
    return false; // the manifest loader reports what is wrong with the file
  }
  return typeof doc === 'object' && doc !== null && 'models' in doc && !('nodes' in doc);
}

async function validateModelRepositoryFile(file: string, opts: ValidateCommandOptions): Promise<number> {
  try {
    const specs = await loadModelRepository(file);
    const notes = unservedNotes(specs);
    if (opts.json === true) {
      const doc = { file, kind: 'model repository', valid: true, problems: [], warnings: [], notes };
      process.stdout.write(JSON.stringify(doc) + '\n');
    } else {
      process.stdout.write(`ok: ${file} (model repository, ${specs.length} models)\n`);
      for (const n of notes) process.stdout.write(`note: ${printable(n)}\n`);
    }
    return EXIT.OK;
  } catch (e) {
    if (opts.json === true && e instanceof ModelRepositoryInvalidError) {
      const doc = { file, kind: 'model repository', valid: false, problems: e.problems, warnings: [] };
      process.stdout.write(JSON.stringify(doc) + '\n');
      return EXIT.INVALID_INPUT;
    }
    throw e;
  }
}

export async function validateCommand(file: string, opts: ValidateCommandOptions): Promise<number> {
  if (await isModelRepository(file)) return validateModelRepositoryFile(file, opts);
  let warnings: readonly ManifestProblem[] = [];
  const onWarnings = (w: readonly ManifestProblem[]): void => {
    warnings = w;
    if (opts.json !== true) printManifestWarnings(file, w);
  };
  try {
    const m = await loadManifestFile(file, BUILTIN_NODE_TYPES, { strict: opts.strict === true, onWarnings });
    if (opts.json === true) {
      process.stdout.write(JSON.stringify({ file, valid: true, problems: [], warnings }) + '\n');
    } else {
      process.stdout.write(`ok: ${file} (${m.nodes.length} nodes, ${m.connections.length} connections)\n`);
    }
    return EXIT.OK;
  } catch (e) {
    if (opts.json === true && e instanceof ManifestInvalidError) {
      process.stdout.write(JSON.stringify({ file, valid: false, problems: e.problems, warnings }) + '\n');
      return EXIT.INVALID_INPUT;
    }
    throw e;
  }
}

/**
 * Prints a manifest's warnings on stderr, one a line with where they are, like errors (report-error.ts) but
 * headed `warning`: the run goes on.
 */
export function printManifestWarnings(
  file: string,
  warnings: readonly ManifestProblem[],
  out: NodeJS.WritableStream = process.stderr,
): void {
  if (warnings.length === 0) return;
  const n = warnings.length;
  const lines = [
    `warning: ${file}: ${n} warning${n === 1 ? '' : 's'} in the manifest (--strict makes them errors)`,
  ];
  for (const w of warnings) {
    const at = w.line !== undefined ? `${file}:${w.line}:${w.column ?? 1}` : file;
    lines.push(`  ${at}  ${w.path}  ${w.message}`);
  }
  out.write(printable(lines.join('\n') + '\n'));
}
