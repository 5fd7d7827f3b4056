/**
 * Text from users (node ids, file names, item values, Python messages) shown on a terminal: control characters
 * are escaped, so a manifest cannot move the cursor, recolour the screen, ring the bell or hide text with a
 * carriage return or a bidirectional override. Newlines and tabs that structure a message are kept.
 */

// C0 controls but \t and \n, DEL, C1 controls, and the Unicode bidi overrides/isolates (Trojan Source).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character written as an escape (`\x1b`, `\r`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\r') return '\\r';
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return `\\u${code.toString(16).padStart(4, '0')}`;
}
