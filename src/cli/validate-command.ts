/** `pitlane validate`: lists every problem of a manifest, and its warnings. */
import type { ManifestProblem } from '../core/errors.js';
import { ManifestInvalidError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import { loadManifestFile } from '../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../nodes/registry.js';
import { EXIT } from './exit-codes.js';

export interface ValidateCommandOptions {
  json?: boolean;
  /** Warnings (unknown fields) are errors. */
  strict?: boolean;
}

export async function validateCommand(file: string, opts: ValidateCommandOptions): Promise<number> {
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
