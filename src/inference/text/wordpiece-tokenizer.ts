/**
 * BERT-style WordPiece tokenisation from a Hugging Face `tokenizer.json`, so that text-embedding models a user
 * brings (MiniLM, bge, e5 ...) can be fed from Node without Python. Written here rather than taken from a
 * library: the tokenizers npm bindings need a native build or a download, and @huggingface/transformers pulls a
 * whole runtime for a few hundred lines of logic. It owns: reading and checking the file (WordPiece model,
 * BertNormalizer, BertPreTokenizer, TemplateProcessing or BertProcessing), the normalisation and splitting
 * rules of BERT (bert-text-rules.ts), greedy longest-match-first WordPiece,
 * special-token wrapping, truncation, and a batch encoder that writes padded int64 typed arrays ready for
 * ONNX Runtime.
 */
import { FileError } from '../../core/errors.js';
import { bertCharKind, normalize, preTokenize, type NormalizerSettings } from './bert-text-rules.js';
import type { TokenSpan } from './embedder.js';
import { readTokenizerJson } from './tokenizer-file.js';

/** One encoded text. */
export interface Encoding {
  /** Token ids, [CLS] ... [SEP] included. */
  readonly ids: number[];
  /** The tokens the ids stand for (for debugging and tests). */
  readonly tokens: string[];
  /** 1 for every token (nothing is padded in a single encoding). */
  readonly attentionMask: number[];
  /** Segment ids from the post-processor template (0 for a single sequence). */
  readonly tokenTypeIds: number[];
}

/** A padded batch, row-major [batchSize, seqLength], as ONNX Runtime wants int64 inputs. */
export interface EncodedBatch {
  readonly batchSize: number;
  /** Length of the longest encoding in the batch (after truncation); every row is padded to it. */
  readonly seqLength: number;
  readonly inputIds: BigInt64Array;
  /** 1 for real tokens, 0 for padding. */
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  /** Number of real tokens of each row. */
  readonly lengths: Int32Array;
}

/** Options of `encode` and `encodeBatch`. */
export interface EncodeOptions {
  /** Maximum number of tokens including [CLS] and [SEP]; longer texts are cut, keeping [SEP]. Default: the
   * file's `truncation.max_length`, else 512. */
  readonly maxLength?: number;
  /** Which end of the text is cut when it is too long (TEI's truncation_direction); default right. Either way
   * the special tokens stay: [CLS] first, [SEP] last. */
  readonly direction?: 'right' | 'left';
  /** Wrap the text in the template's special tokens ([CLS] ... [SEP]); default true. */
  readonly addSpecialTokens?: boolean;
}

/** A special token the post-processor adds, with its segment id. */
interface SpecialPiece {
  readonly id: number;
  readonly token: string;
  readonly typeId: number;
}

/** How a single sequence is wrapped: specials before and after, and the type id of the sequence itself. */
interface SingleTemplate {
  readonly before: readonly SpecialPiece[];
  readonly after: readonly SpecialPiece[];
  readonly sequenceTypeId: number;
}

const WORD_CACHE_LIMIT = 50_000;

/** A loaded WordPiece tokenizer. Build it with `loadWordPieceTokenizer` or `WordPieceTokenizer.fromJson`. */
export class WordPieceTokenizer {
  /** Token string → id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Id of the padding token. */
  readonly padId: number;
  /** Id of the unknown token. */
  readonly unkId: number;
  /** Default maximum length (tokens, specials included). */
  readonly maxLength: number;
  private readonly idToToken: string[];
  private readonly unkToken: string;
  private readonly prefix: string;
  private readonly maxInputCharsPerWord: number;
  private readonly normalizer: NormalizerSettings | null;
  private readonly template: SingleTemplate;
  /** Added tokens matched verbatim in the raw text before normalisation (longest first). */
  private readonly addedTokens: readonly { readonly content: string; readonly id: number }[];
  private readonly wordCache = new Map<string, readonly number[]>();
  /** Ids of the added tokens marked special ([CLS], [SEP], [PAD] ...): what decoding may skip. */
  private readonly specialIds: ReadonlySet<number>;
  /** The file's WordPiece decoder; null: tokens are joined with spaces. */
  private readonly decoder: { readonly prefix: string; readonly cleanup: boolean } | null;

  private constructor(init: {
    vocab: Map<string, number>;
    unkToken: string;
    prefix: string;
    maxInputCharsPerWord: number;
    normalizer: NormalizerSettings | null;
    template: SingleTemplate;
    addedTokens: { content: string; id: number }[];
    specialIds: Set<number>;
    decoder: { prefix: string; cleanup: boolean } | null;
    padId: number;
    maxLength: number;
  }) {
    this.specialIds = init.specialIds;
    this.decoder = init.decoder;
    this.vocab = init.vocab;
    this.unkToken = init.unkToken;
    this.prefix = init.prefix;
    this.maxInputCharsPerWord = init.maxInputCharsPerWord;
    this.normalizer = init.normalizer;
    this.template = init.template;
    this.addedTokens = init.addedTokens.sort((a, b) => b.content.length - a.content.length);
    this.padId = init.padId;
    this.maxLength = init.maxLength;
    const unk = init.vocab.get(init.unkToken);
    if (unk === undefined) throw new Error(`unk_token ${init.unkToken} is not in the vocab`);
    this.unkId = unk;
    this.idToToken = [];
    for (const [token, id] of init.vocab) this.idToToken[id] = token;
  }

  /**
   * Builds a tokenizer from the parsed content of a tokenizer.json. `file` names the source in errors.
   * Throws FileError when the model is not WordPiece or a component is of a kind this tokenizer does not implement.
   */
  static fromJson(json: unknown, file: string): WordPieceTokenizer {
    const fail = (message: string): never => {
      throw new FileError(file, message);
    };
    if (!isRecord(json)) return fail('is not a tokenizer.json (expected a JSON object)');
    const model = json.model;
    if (!isRecord(model)) return fail('is not a tokenizer.json (no "model" object)');
    const kind = typeof model.type === 'string' ? model.type : 'unknown';
    if (kind !== 'WordPiece') {
      return fail(
        `tokenizer model is of kind "${kind}"; pitlane's text tokenizer only handles WordPiece (BERT-style) tokenizers`,
      );
    }
    if (!isRecord(model.vocab)) return fail('WordPiece model has no "vocab" map');
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(model.vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        return fail(
          `vocab entry ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not a non-negative integer`,
        );
      }
      vocab.set(token, id);
    }
    const unkToken = typeof model.unk_token === 'string' ? model.unk_token : '[UNK]';
    if (!vocab.has(unkToken)) return fail(`unk_token ${unkToken} is not in the vocab`);
    const prefix =
      typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##';
    const maxInputCharsPerWord =
      typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100;

    const addedTokens: { content: string; id: number }[] = [];
    const specialIds = new Set<number>();
    if (Array.isArray(json.added_tokens)) {
      for (const t of json.added_tokens) {
        if (isRecord(t) && typeof t.content === 'string' && typeof t.id === 'number') {
          addedTokens.push({ content: t.content, id: t.id });
          if (t.special === true) specialIds.add(t.id);
          if (!vocab.has(t.content)) vocab.set(t.content, t.id);
        }
      }
    }

    const normalizer = parseNormalizer(json.normalizer, fail);
    const pre = json.pre_tokenizer;
    if (pre !== null && pre !== undefined) {
      const preKind = isRecord(pre) && typeof pre.type === 'string' ? pre.type : 'unknown';
      if (preKind !== 'BertPreTokenizer') {
        fail(`pre_tokenizer of kind "${preKind}" is not supported (expected BertPreTokenizer)`);
      }
    }
    const template = parsePostProcessor(json.post_processor, vocab, fail);

    let padId = vocab.get('[PAD]') ?? 0;
    if (isRecord(json.padding) && typeof json.padding.pad_id === 'number') padId = json.padding.pad_id;
    let maxLength = 512;
    if (isRecord(json.truncation) && typeof json.truncation.max_length === 'number') {
      maxLength = json.truncation.max_length;
    }
    return new WordPieceTokenizer({
      vocab,
      unkToken,
      prefix,
      maxInputCharsPerWord,
      normalizer,
      template,
      addedTokens,
      specialIds,
      decoder: parseDecoder(json.decoder),
      padId,
      maxLength,
    });
  }

  /** The token string of an id (undefined for an id not in the vocab). */
  idToTokenString(id: number): string | undefined {
    return this.idToToken[id];
  }

  /** Splits text into WordPiece ids, without special tokens and without truncation. */
  tokenizeToIds(text: string): number[] {
    const out: number[] = [];
    for (const segment of this.splitAddedTokens(text)) {
      if (typeof segment === 'number') {
        out.push(segment);
        continue;
      }
      const normalized = this.normalizer ? normalize(segment, this.normalizer) : segment;
      for (const word of preTokenize(normalized)) {
        for (const id of this.wordPieceIds(word)) out.push(id);
      }
    }
    return out;
  }

  /**
   * Encodes one text: tokens, [CLS]/[SEP] from the template (unless `addSpecialTokens: false`), cut to maxLength
   * on the right or on the left, keeping the specials.
   */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    const maxLength = options.maxLength ?? this.maxLength;
    const withSpecials = options.addSpecialTokens ?? true;
    const before = withSpecials ? this.template.before : [];
    const after = withSpecials ? this.template.after : [];
    const { sequenceTypeId } = this.template;
    const room = Math.max(0, maxLength - before.length - after.length);
    const all = this.tokenizeToIds(text);
    const body =
      all.length <= room
        ? all
        : options.direction === 'left'
          ? all.slice(all.length - room)
          : all.slice(0, room);
    const ids = [...before.map((p) => p.id), ...body, ...after.map((p) => p.id)];
    const tokenTypeIds = [
      ...before.map((p) => p.typeId),
      ...body.map(() => sequenceTypeId),
      ...after.map((p) => p.typeId),
    ];
    return {
      ids,
      tokens: ids.map((id) => this.idToToken[id] ?? this.unkToken),
      attentionMask: ids.map(() => 1),
      tokenTypeIds,
    };
  }

  /**
   * Tokenizes a text keeping where each token came from, for TEI's /tokenize (slower than `encode`: it is not on
   * the embedding path). Each character is normalised on its own, so a token's span is the characters of the
   * original text it was read from; the ids are those of `encode`.
   */
  tokenizeWithSpans(text: string, addSpecialTokens = true): TokenSpan[] {
    const out: TokenSpan[] = [];
    const special = (p: SpecialPiece): TokenSpan => ({ id: p.id, special: true, start: -1, end: -1 });
    if (addSpecialTokens) out.push(...this.template.before.map(special));
    let offset = 0;
    for (const segment of this.splitAddedTokens(text)) {
      if (typeof segment === 'number') {
        const length = (this.idToToken[segment] ?? '').length;
        out.push({ id: segment, special: false, start: offset, end: offset + length });
        offset += length;
        continue;
      }
      for (const word of this.wordsWithSpans(segment, offset)) {
        const ids = this.wordPieceIds(word.text);
        if (ids.length === 1 && ids[0] === this.unkId) {
          out.push({
            id: this.unkId,
            special: false,
            start: word.starts[0] ?? 0,
            end: word.ends.at(-1) ?? 0,
          });
          continue;
        }
        // Walk the pieces over the word's characters (a continuation piece has the prefix before its text).
        let char = 0;
        for (const id of ids) {
          const piece = this.idToToken[id] ?? '';
          const length = Array.from(char > 0 ? piece.slice(this.prefix.length) : piece).length;
          const last = Math.min(char + length, word.starts.length) - 1;
          out.push({ id, special: false, start: word.starts[char] ?? 0, end: word.ends[last] ?? 0 });
          char += length;
        }
      }
      offset += segment.length;
    }
    if (addSpecialTokens) out.push(...this.template.after.map(special));
    return out;
  }

  /** The words of a segment (normalised, pre-tokenised) with the UTF-16 span in the text of each character. */
  private wordsWithSpans(
    segment: string,
    base: number,
  ): { text: string; starts: number[]; ends: number[] }[] {
    // Normalise character by character, each normalised character keeping the span of its source.
    const chars: { ch: string; start: number; end: number }[] = [];
    let at = 0;
    for (const ch of segment) {
      const normalized = this.normalizer ? normalize(ch, this.normalizer) : ch;
      for (const n of normalized) chars.push({ ch: n, start: base + at, end: base + at + ch.length });
      at += ch.length;
    }
    const words: { text: string; starts: number[]; ends: number[] }[] = [];
    let current: { text: string; starts: number[]; ends: number[] } | null = null;
    for (const c of chars) {
      const kind = bertCharKind(c.ch);
      if (kind === 'word') {
        current ??= { text: '', starts: [], ends: [] };
        current.text += c.ch;
        current.starts.push(c.start);
        current.ends.push(c.end);
        continue;
      }
      if (current) words.push(current);
      current = null;
      if (kind === 'punctuation') words.push({ text: c.ch, starts: [c.start], ends: [c.end] });
    }
    if (current) words.push(current);
    return words;
  }

  /**
   * Token ids back to text, as the WordPiece decoder of Hugging Face tokenizers does: pieces joined by spaces,
   * continuation pieces glued to the previous one, then the usual clean-up of spaces before punctuation and
   * contractions (when the file's decoder asks for it). `skipSpecialTokens` leaves out the special added
   * tokens ([CLS], [SEP], [PAD] ...). An id the vocabulary lacks is an error naming its index.
   */
  decode(ids: readonly number[], skipSpecialTokens = true): string {
    let text = '';
    let first = true;
    ids.forEach((id, i) => {
      let token = this.idToToken[id];
      if (token === undefined) throw new RangeError(`ids[${i}]: token id ${id} is not in the vocabulary`);
      if (skipSpecialTokens && this.specialIds.has(id)) return;
      if (this.decoder === null) {
        text += (first ? '' : ' ') + token;
      } else {
        if (!first)
          token = token.startsWith(this.decoder.prefix)
            ? token.slice(this.decoder.prefix.length)
            : ` ${token}`;
        text += this.decoder.cleanup ? cleanUpTokenization(token) : token;
      }
      first = false;
    });
    return text;
  }

  /** Encodes many texts into one padded batch of int64 typed arrays (padding with padId, mask 0). */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): EncodedBatch {
    const maxLength = options.maxLength ?? this.maxLength;
    const { before, after, sequenceTypeId } = this.template;
    const room = Math.max(0, maxLength - before.length - after.length);
    const bodies = texts.map((t) => this.tokenizeToIds(t).slice(0, room));
    const specials = before.length + after.length;
    let seqLength = 0;
    for (const b of bodies) seqLength = Math.max(seqLength, b.length + specials);
    const n = texts.length * seqLength;
    const inputIds = new BigInt64Array(n);
    const attentionMask = new BigInt64Array(n);
    const tokenTypeIds = new BigInt64Array(n);
    const lengths = new Int32Array(texts.length);
    const padId = BigInt(this.padId);
    bodies.forEach((body, row) => {
      let at = row * seqLength;
      const put = (id: number, typeId: number): void => {
        inputIds[at] = BigInt(id);
        attentionMask[at] = 1n;
        tokenTypeIds[at] = BigInt(typeId);
        at++;
      };
      for (const p of before) put(p.id, p.typeId);
      for (const id of body) put(id, sequenceTypeId);
      for (const p of after) put(p.id, p.typeId);
      lengths[row] = body.length + specials;
      inputIds.fill(padId, at, (row + 1) * seqLength);
    });
    return { batchSize: texts.length, seqLength, inputIds, attentionMask, tokenTypeIds, lengths };
  }

  /** Cuts the raw text around added tokens ([MASK] ...), which are matched verbatim and keep their id. */
  private splitAddedTokens(text: string): (string | number)[] {
    if (this.addedTokens.length === 0) return [text];
    const out: (string | number)[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit =
        text.charCodeAt(i) === 0x5b /* [ */ || text[i] === '<' ? this.addedTokenAt(text, i) : undefined;
      if (hit) {
        if (i > start) out.push(text.slice(start, i));
        out.push(hit.id);
        i += hit.content.length;
        start = i;
      } else {
        i++;
      }
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }

  private addedTokenAt(text: string, i: number): { content: string; id: number } | undefined {
    return this.addedTokens.find((t) => text.startsWith(t.content, i));
  }

  /** Greedy longest-match-first WordPiece for one word; the whole word becomes [UNK] if any part fails. */
  private wordPieceIds(word: string): readonly number[] {
    const cached = this.wordCache.get(word);
    if (cached) return cached;
    const chars = Array.from(word);
    let ids: number[] = [];
    if (chars.length > this.maxInputCharsPerWord) {
      ids = [this.unkId];
    } else {
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: number | undefined;
        while (start < end) {
          const piece = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
          found = this.vocab.get(piece);
          if (found !== undefined) break;
          end--;
        }
        if (found === undefined) {
          ids = [this.unkId];
          break;
        }
        ids.push(found);
        start = end;
      }
    }
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, ids);
    return ids;
  }
}

/** Reads and parses a tokenizer.json; errors (missing file, bad JSON, not WordPiece) name the file. */
export function loadWordPieceTokenizer(path: string): WordPieceTokenizer {
  return WordPieceTokenizer.fromJson(
    readTokenizerJson(path, 'cannot read the tokenizer file; check the path'),
    path,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration parsing

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The WordPiece decoder's settings (tokenizers' defaults: prefix ##, clean-up on); null when there is none. */
function parseDecoder(d: unknown): { prefix: string; cleanup: boolean } | null {
  if (!isRecord(d) || d.type !== 'WordPiece') return null;
  return { prefix: typeof d.prefix === 'string' ? d.prefix : '##', cleanup: d.cleanup !== false };
}

/** The WordPiece decoder's clean-up of one token (tokenizers' decoders/wordpiece.rs `cleanup`). */
function cleanUpTokenization(token: string): string {
  return token
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

function parseNormalizer(n: unknown, fail: (message: string) => never): NormalizerSettings | null {
  if (n === null || n === undefined) return null;
  const kind = isRecord(n) && typeof n.type === 'string' ? n.type : 'unknown';
  if (!isRecord(n) || kind !== 'BertNormalizer') {
    return fail(`normalizer of kind "${kind}" is not supported (expected BertNormalizer or none)`);
  }
  const lowercase = n.lowercase !== false;
  return {
    cleanText: n.clean_text !== false,
    handleChineseChars: n.handle_chinese_chars !== false,
    // null (the usual value) means: follow `lowercase`, as BERT does.
    stripAccents: typeof n.strip_accents === 'boolean' ? n.strip_accents : lowercase,
    lowercase,
  };
}

function parsePostProcessor(
  p: unknown,
  vocab: ReadonlyMap<string, number>,
  fail: (message: string) => never,
): SingleTemplate {
  const idOf = (token: string): number =>
    vocab.get(token) ?? fail(`special token ${token} is not in the vocab`);
  if (p === null || p === undefined) {
    return {
      before: [{ id: idOf('[CLS]'), token: '[CLS]', typeId: 0 }],
      after: [{ id: idOf('[SEP]'), token: '[SEP]', typeId: 0 }],
      sequenceTypeId: 0,
    };
  }
  const kind = isRecord(p) && typeof p.type === 'string' ? p.type : 'unknown';
  if (isRecord(p) && kind === 'BertProcessing') {
    const tokenOf = (v: unknown, role: string): string =>
      Array.isArray(v) && typeof v[0] === 'string' ? v[0] : fail(`BertProcessing has no valid "${role}"`);
    const cls = tokenOf(p.cls, 'cls');
    const sep = tokenOf(p.sep, 'sep');
    return {
      before: [{ id: idOf(cls), token: cls, typeId: 0 }],
      after: [{ id: idOf(sep), token: sep, typeId: 0 }],
      sequenceTypeId: 0,
    };
  }
  if (isRecord(p) && kind === 'TemplateProcessing' && Array.isArray(p.single)) {
    const before: SpecialPiece[] = [];
    const after: SpecialPiece[] = [];
    let sequenceTypeId: number | undefined;
    for (const piece of p.single) {
      if (isRecord(piece) && isRecord(piece.SpecialToken) && typeof piece.SpecialToken.id === 'string') {
        const token = piece.SpecialToken.id;
        const typeId = typeof piece.SpecialToken.type_id === 'number' ? piece.SpecialToken.type_id : 0;
        const special = isRecord(p.special_tokens) ? p.special_tokens[token] : undefined;
        const ids = isRecord(special) && Array.isArray(special.ids) ? special.ids : [idOf(token)];
        for (const id of ids) {
          if (typeof id !== 'number') return fail(`special token ${token} has a non-numeric id`);
          (sequenceTypeId === undefined ? before : after).push({ id, token, typeId });
        }
      } else if (isRecord(piece) && isRecord(piece.Sequence)) {
        sequenceTypeId = typeof piece.Sequence.type_id === 'number' ? piece.Sequence.type_id : 0;
      } else {
        return fail('TemplateProcessing.single has a piece that is neither SpecialToken nor Sequence');
      }
    }
    if (sequenceTypeId === undefined) return fail('TemplateProcessing.single has no Sequence piece');
    return { before, after, sequenceTypeId };
  }
  return fail(
    `post_processor of kind "${kind}" is not supported (expected TemplateProcessing or BertProcessing)`,
  );
}
