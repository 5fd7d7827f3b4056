/**
 * Reading a tokenizer's JSON file (a Hugging Face tokenizer.json, USE's vocab.json): errors name the file and
 * say whether it could not be read or is not JSON.
 */
import { readFileSync } from 'node:fs';
import { FileError } from '../../core/errors.js';

/** The parsed content of a JSON file; `unreadable` is the FileError's message when the file cannot be read. */
export function readTokenizerJson(path: string, unreadable: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FileError(path, unreadable, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FileError(path, `is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
