/**
 * BERT's text rules, as the Rust tokenizers crate implements them (normalizers/bert.rs, pre_tokenizers/bert.rs),
 * which is what Python's sentence-transformers runs: the BertNormalizer (clean control characters and map
 * whitespace, space out CJK ideographs, strip accents, lowercase) and the BertPreTokenizer (split on whitespace
 * and on punctuation). The WordPiece tokenizer runs them before matching pieces; a differential test checks them
 * against transformers.js.
 */

/** The BertNormalizer settings, as read from tokenizer.json. */
export interface NormalizerSettings {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean;
  readonly lowercase: boolean;
}

const CONTROL = /\p{C}/u;
const WHITESPACE = /\p{White_Space}/u;
const PUNCTUATION = /\p{P}/u;
const MARK_NONSPACING = /\p{Mn}/gu;

function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) or any Unicode P* character. */
function isBertPunctuation(ch: string, cp: number): boolean {
  return (
    (cp >= 33 && cp <= 47) ||
    (cp >= 58 && cp <= 64) ||
    (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126) ||
    (cp > 127 && PUNCTUATION.test(ch))
  );
}

function isAsciiPlain(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 126 || (c < 32 && c !== 9 && c !== 10 && c !== 13)) return false;
  }
  return true;
}

/** BertNormalizer: clean text, space around CJK characters, strip accents, lowercase (in that order). */
export function normalize(text: string, settings: NormalizerSettings): string {
  let out = text;
  // Fast path: printable ASCII needs no cleaning, has no CJK and no accents.
  if (!isAsciiPlain(out)) {
    let buf = '';
    for (const ch of out) {
      const cp = ch.codePointAt(0) ?? 0;
      if (settings.cleanText) {
        if (cp === 0 || cp === 0xfffd) continue;
        // Controls go before whitespace is mapped, as in the Rust crate: U+000B, U+000C and U+0085 are both
        // (Cc and White_Space) and are dropped, not turned into a space.
        if (ch === '\t' || ch === '\n' || ch === '\r') {
          buf += ' ';
          continue;
        }
        if (CONTROL.test(ch)) continue;
        if (WHITESPACE.test(ch)) {
          buf += ' ';
          continue;
        }
      }
      if (settings.handleChineseChars && isChineseChar(cp)) buf += ` ${ch} `;
      else buf += ch;
    }
    out = buf;
    if (settings.stripAccents) out = out.normalize('NFD').replace(MARK_NONSPACING, '');
  }
  return settings.lowercase ? out.toLowerCase() : out;
}

/** What the BertPreTokenizer makes of a character: a separator (dropped), a word of its own, or part of a word. */
export function bertCharKind(ch: string): 'space' | 'punctuation' | 'word' {
  const cp = ch.codePointAt(0) ?? 0;
  // Rust's char::is_whitespace: ASCII 9-13 and 32, then the Unicode White_Space characters.
  if (cp === 32 || (cp >= 9 && cp <= 13) || (cp > 127 && WHITESPACE.test(ch))) return 'space';
  return isBertPunctuation(ch, cp) ? 'punctuation' : 'word';
}

/** BertPreTokenizer: split on whitespace (dropped) and on punctuation (each mark its own word). */
export function preTokenize(text: string): string[] {
  const words: string[] = [];
  let current = '';
  for (const ch of text) {
    const kind = bertCharKind(ch);
    if (kind === 'word') {
      current += ch;
      continue;
    }
    if (current) words.push(current);
    current = '';
    if (kind === 'punctuation') words.push(ch);
  }
  if (current) words.push(current);
  return words;
}
