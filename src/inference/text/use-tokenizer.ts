/**
 * The Universal Sentence Encoder lite tokenizer: turns text into ids of the SentencePiece-style vocabulary
 * (`vocab.json`, a list of `[piece, score]`) that USE lite was trained with, so that the TF.js embedder
 * (backends/tfjs/use-embedder.ts) can be fed from worker threads without TF.js. Written here because the JavaScript
 * implementations ship inside packages that pull a TF.js runtime
 * (@tensorflow-models/universal-sentence-encoder, @energetic-ai/embeddings). It gives the same ids as theirs
 * (checked on 104k texts), which is what the published model was used with, and is about ten times faster.
 *
 * The rules, as the reference tokenizer applies them:
 * - the text is NFKC-normalised; a non-empty text gets a leading `▁`, and every ASCII space becomes `▁`
 *   (other white space, such as tabs and newlines, stays and usually ends up unknown);
 * - ids 0-5 are reserved (`�` = unknown, `<s>`, `</s>`, three extra ids) and never come from text, except
 *   the unknown id 0;
 * - the segmentation with the highest total score wins (Viterbi over a trie of the pieces). Scores are used
 *   as vocab.json gives them, odd ones included: `null` (`:`, `://`, `▁:)` ...) counts as 0, and `:30` scores
 *   +30;
 * - a character at which no piece starts becomes the unknown id 0 with score 0, and a run of unknown ids is
 *   merged into one;
 * - where two segmentations reach a position with the same score, the one whose last piece starts later wins;
 * - a position whose best score so far is exactly 0 counts as not reached, so any path replaces it. This is a
 *   quirk of the reference (0 doubles as "unset"), kept so that ids match it exactly. With the USE lite
 *   vocabulary it only shows for texts that start with a zero-score piece such as `:` (`:)` gives `▁ : )`,
 *   not `▁:)`); a vocabulary with a character that is not a piece of its own would see more of it.
 * The walk back through the lattice counts pieces in code points, where the reference counts UTF-16 units;
 * the two agree for this vocabulary, which has no character outside the Basic Multilingual Plane.
 */
import { FileError } from '../../core/errors.js';
import { readTokenizerJson } from './tokenizer-file.js';
import type { TextTokenizer, TokenizedText, TruncationDirection } from './embedder.js';

/** SentencePiece's word-boundary mark, U+2581 LOWER ONE EIGHTH BLOCK. */
export const WORD_BOUNDARY = '\u2581';

/** Id of the unknown piece. */
export const USE_UNKNOWN_ID = 0;

/** Ids below this are reserved (unknown, control and user-defined symbols) and are not matched in text. */
const RESERVED_IDS = 6;

/** A node of the piece trie, keyed by Unicode code point. */
interface TrieNode {
  readonly children: Map<number, TrieNode>;
  /** Id of the piece that ends here, or -1. */
  id: number;
  /** Score of that piece (null in vocab.json counts as 0). */
  score: number;
}

const newNode = (): TrieNode => ({ children: new Map(), id: -1, score: 0 });

/** A loaded USE tokenizer. Build it with `loadUseTokenizer` or `UseTokenizer.fromJson`. */
export class UseTokenizer implements TextTokenizer {
  /** Number of entries in the vocabulary (ids run from 0 to size - 1). */
  readonly size: number;
  private readonly pieces: readonly string[];
  /** Length of each piece in code points (1 for the unknown piece), to walk back through the lattice. */
  private readonly pieceLengths: Int32Array;
  private readonly root: TrieNode;

  private constructor(pieces: readonly string[], scores: readonly number[]) {
    this.size = pieces.length;
    this.pieces = pieces;
    this.pieceLengths = new Int32Array(pieces.length);
    this.root = newNode();
    pieces.forEach((piece, id) => {
      this.pieceLengths[id] = id === USE_UNKNOWN_ID ? 1 : codePoints(piece).length;
      if (id < RESERVED_IDS) return;
      let node = this.root;
      for (const ch of piece) {
        const cp = ch.codePointAt(0) ?? 0;
        let next = node.children.get(cp);
        if (next === undefined) {
          next = newNode();
          node.children.set(cp, next);
        }
        node = next;
      }
      // A piece listed twice keeps its last id and score, as in the reference.
      node.id = id;
      node.score = scores[id] ?? 0;
    });
  }

  /**
   * Builds a tokenizer from the parsed content of a vocab.json. `file` names the source in errors.
   * Throws FileError when it is not a list of `[piece, score]` pairs with a non-empty piece and a numeric (or
   * null) score, or when it has no pieces beyond the reserved ids.
   */
  static fromJson(json: unknown, file: string): UseTokenizer {
    if (!Array.isArray(json)) {
      throw new FileError(
        file,
        'is not a Universal Sentence Encoder vocab.json (expected a list of [piece, score])',
      );
    }
    if (json.length <= RESERVED_IDS) {
      throw new FileError(
        file,
        `has ${json.length} entries; a USE vocabulary has ${RESERVED_IDS} reserved ids followed by the pieces`,
      );
    }
    const pieces: string[] = [];
    const scores: number[] = [];
    json.forEach((entry: unknown, id) => {
      const piece: unknown = Array.isArray(entry) ? entry[0] : undefined;
      const score: unknown = Array.isArray(entry) ? entry[1] : undefined;
      if (typeof piece !== 'string' || piece.length === 0) {
        throw new FileError(
          file,
          `entry ${id} is ${JSON.stringify(entry)}; expected [piece, score] with a non-empty piece`,
        );
      }
      if (score !== null && (typeof score !== 'number' || !Number.isFinite(score))) {
        throw new FileError(
          file,
          `entry ${id} (${JSON.stringify(piece)}) has score ${JSON.stringify(score)}; expected a number`,
        );
      }
      pieces.push(piece);
      scores.push(score ?? 0);
    });
    return new UseTokenizer(pieces, scores);
  }

  /** The piece an id stands for (undefined for an id outside the vocabulary). */
  tokenText(id: number): string | undefined {
    return this.pieces[id];
  }

  /** Tokenizes a whole text into ids (no special tokens: USE lite has none), without truncation. */
  tokenize(text: string): number[] {
    const normalized = text.normalize('NFKC');
    if (normalized.length === 0) return [];
    const symbols = codePoints(WORD_BOUNDARY + normalized.replaceAll(' ', WORD_BOUNDARY));
    const n = symbols.length;
    // best[e]: score of the best segmentation of symbols[0, e); last[e]: id of its last piece.
    const best = new Float64Array(n + 1);
    const last = new Int32Array(n + 1);
    const relax = (end: number, score: number, id: number): void => {
      if (best[end] === 0 || score >= (best[end] ?? 0)) {
        best[end] = score;
        last[end] = id;
      }
    };
    // Going forward by start position relaxes the edges into each end in the reference's order (start
    // ascending), and best[start] is final when its edges are taken (every edge into start begins before it).
    for (let start = 0; start < n; start++) {
      const base = best[start] ?? 0;
      let node: TrieNode | undefined = this.root;
      let matched = false;
      for (let end = start; end < n; end++) {
        node = node.children.get(symbols[end] ?? -1);
        if (node === undefined) break;
        if (node.id >= 0) {
          matched = true;
          relax(end + 1, node.score + base, node.id);
        }
      }
      if (!matched) relax(start + 1, base, USE_UNKNOWN_ID);
    }
    // Walk back from the end; a run of unknown ids becomes one.
    const reversed: number[] = [];
    for (let at = n; at > 0;) {
      const id = last[at] ?? USE_UNKNOWN_ID;
      if (!(id === USE_UNKNOWN_ID && reversed.at(-1) === USE_UNKNOWN_ID)) reversed.push(id);
      at -= this.pieceLengths[id] ?? 1;
    }
    return reversed.reverse();
  }

  /**
   * Tokenizes one text; cuts it to `maxLength` ids when longer, keeping its start (`right`, the default) or its
   * end (`left`); `fullLength` keeps the uncut count.
   */
  encode(text: string, maxLength: number, direction: TruncationDirection = 'right'): TokenizedText {
    if (!(maxLength >= 0)) throw new RangeError(`maxLength must be a number >= 0, got ${maxLength}`);
    const ids = this.tokenize(text);
    const kept =
      ids.length <= maxLength
        ? ids
        : direction === 'left'
          ? ids.slice(ids.length - maxLength)
          : ids.slice(0, maxLength);
    return { ids: Int32Array.from(kept), fullLength: ids.length };
  }
}

/** Reads a USE vocab.json; errors (missing file, bad JSON, not a list of [piece, score]) name the file. */
export function loadUseTokenizer(path: string): UseTokenizer {
  return UseTokenizer.fromJson(
    readTokenizerJson(path, 'cannot read the USE vocabulary (vocab.json); check the tokenizer path'),
    path,
  );
}

function codePoints(text: string): Int32Array {
  const out = new Int32Array(text.length);
  let n = 0;
  for (const ch of text) out[n++] = ch.codePointAt(0) ?? 0;
  return out.subarray(0, n);
}
