/**
 * Builds a `TextTokenizer` from its `TokenizerSpec`: the one place that knows which tokenizer kinds exist. The
 * tokenizer pool calls it on each worker thread, so it takes plain data and imports a kind's module only when
 * that kind is asked for.
 */
import type { TextTokenizer, TokenizedText, TokenizerSpec, TruncationDirection } from './embedder.js';
import { loadWordPieceTokenizer, type WordPieceTokenizer } from './wordpiece-tokenizer.js';

/** Loads the tokenizer a spec describes. Throws FileError naming the file when it is missing or malformed. */
export async function createTokenizer(spec: TokenizerSpec): Promise<TextTokenizer> {
  switch (spec.kind) {
    case 'wordpiece':
      return wordPieceTextTokenizer(loadWordPieceTokenizer(spec.path));
    case 'use': {
      const { loadUseTokenizer } = await import('./use-tokenizer.js');
      return loadUseTokenizer(spec.path);
    }
  }
}

/** A WordPiece tokenizer as a TextTokenizer: [CLS] body [SEP], the body cut so that the specials stay. */
export function wordPieceTextTokenizer(tokenizer: WordPieceTokenizer): TextTokenizer {
  return {
    encode(text: string, maxLength: number, direction: TruncationDirection = 'right'): TokenizedText {
      const full = tokenizer.encode(text, { maxLength: Number.MAX_SAFE_INTEGER }).ids;
      if (full.length <= maxLength) return { ids: Int32Array.from(full), fullLength: full.length };
      const cut = tokenizer.encode(text, { maxLength, direction }).ids;
      return { ids: Int32Array.from(cut), fullLength: full.length };
    },
    tokenText: (id) => tokenizer.idToTokenString(id),
    tokens: (text, addSpecialTokens) => tokenizer.tokenizeWithSpans(text, addSpecialTokens),
    decode: (ids, skipSpecialTokens) => tokenizer.decode(ids, skipSpecialTokens),
  };
}
