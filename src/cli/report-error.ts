/** Errors for a person, on stderr. */
import { DocumentInvalidError, NodeFailedError, PitlaneError, toError } from '../core/errors.js';
import { printable } from '../core/terminal-text.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

/** Prints any error for a person on stderr (control characters escaped) and returns the exit code for it. */
export function reportError(thrown: unknown, out: NodeJS.WritableStream = process.stderr): number {
  const stderr = { write: (text: string): boolean => out.write(printable(text)) };
  const err = toError(thrown);
  if (err instanceof DocumentInvalidError) {
    const lines = [`error ${err.code}: ${err.message}`];
    for (const p of err.problems) {
      const at = p.line !== undefined ? `${err.file}:${p.line}:${p.column ?? 1}` : err.file;
      lines.push(`  ${at}  ${p.path}  ${p.message}`);
    }
    stderr.write(lines.join('\n') + '\n');
    return exitCodeFor(err.code);
  }
  if (err instanceof NodeFailedError) {
    let item = '';
    if (err.itemIndex !== null) {
      try {
        item = `\n  item: ${JSON.stringify(err.item)}`;
      } catch {
        item = `\n  item: ${String(err.item)}`;
      }
    }
    stderr.write(`error ${err.code}: ${err.message}${item}\n`);
    return exitCodeFor(err.code);
  }
  if (err instanceof PitlaneError) {
    const hint = err.code === 'PL_ERR_USAGE' ? ' (see --help)' : '';
    stderr.write(`error ${err.code}: ${err.message}${hint}\n`);
    return exitCodeFor(err.code);
  }
  stderr.write(`error PL_ERR_INTERNAL: ${err.stack ?? err.message}\n`);
  return EXIT.INTERNAL;
}
