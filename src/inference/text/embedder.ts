/**
 * What the embedding service needs from a text-embedding model, whatever runs it: a tokenizer that can be
 * rebuilt on a worker thread from a plain description (`TokenizerSpec`), and a backend that turns a batch of
 * token-id sequences into one pooled vector each. The backends (backends/registry.ts: ONNX Runtime and TF.js)
 * implement it; the batcher, the tokenizer pool and the HTTP layer only see this.
 */

/** One tokenized text. */
export interface TokenizedText {
  /** Token ids, special tokens included, already cut to the maximum length when truncation was asked. */
  readonly ids: Int32Array;
  /** The length the text would have had without truncation (specials included): > ids.length when cut. */
  readonly fullLength: number;
}

/** Which end of a text too long for the model is cut (TEI's truncation_direction). */
export type TruncationDirection = 'right' | 'left';

/** One token of a text with where it came from (for TEI's /tokenize). */
export interface TokenSpan {
  readonly id: number;
  /** Added by the post-processor ([CLS], [SEP]): it has no place in the text. */
  readonly special: boolean;
  /** UTF-16 offsets of the text it was read from, [start, end); -1 for a special token. */
  readonly start: number;
  readonly end: number;
}

/** A tokenizer as the service uses it. Pure computation: it must work on worker threads. */
export interface TextTokenizer {
  /**
   * Tokenizes one text; cuts it to `maxLength` tokens (specials included) when it is longer, on the right
   * (default) or on the left, the special tokens kept either way.
   */
  encode(text: string, maxLength: number, direction?: TruncationDirection): TokenizedText;
  /** The text of a token id (for /tokenize), when the tokenizer knows it. */
  tokenText?(id: number): string | undefined;
  /** The tokens of a text with their places in it, specials when asked (TEI's /tokenize). */
  tokens?(text: string, addSpecialTokens: boolean): TokenSpan[];
  /** Token ids back to text (TEI's /decode); throws RangeError naming an id the vocabulary lacks. */
  decode?(ids: readonly number[], skipSpecialTokens: boolean): string;
}

/**
 * How to build a tokenizer, as plain data that can be posted to a worker thread:
 * `wordpiece` reads a Hugging Face tokenizer.json, `use` the Universal Sentence Encoder's vocab.json.
 */
export interface TokenizerSpec {
  readonly kind: 'wordpiece' | 'use';
  readonly path: string;
}

/** What a loaded backend says about itself (for /info and reports). */
export interface EmbedderInfo {
  readonly backend: 'onnx' | 'tfjs';
  /** Runtime and version, e.g. `onnxruntime-node 1.30.0`, `@tensorflow/tfjs 4.22.0 (wasm)`. */
  readonly runtime: string;
  readonly modelPath: string;
  readonly threads: { readonly intraOp: number; readonly interOp: number };
}

/** A loaded text-embedding model. */
export interface Embedder {
  readonly info: EmbedderInfo;
  /** Length of the vectors `embed` returns. */
  readonly dimension: number;
  /** Longest sequence (in tokens, specials included) the model accepts. */
  readonly maxSequenceLength: number;
  /** How to tokenize for this model (the service runs tokenizers on worker threads). */
  readonly tokenizer: TokenizerSpec;
  /**
   * Embeds one batch: one pooled, not normalised vector per sequence, in order. A sequence's vector does not
   * depend on the other sequences of the batch (padding is masked). Sequences are never longer than
   * `maxSequenceLength`.
   */
  embed(batch: readonly Int32Array[]): Promise<Float32Array[]>;
  /**
   * The model's per-token output before pooling (TEI's /embed_all): for each sequence, its tokens' vectors back
   * to back ([tokens × hidden], not normalised). Absent when the model only gives pooled vectors.
   */
  embedTokens?(
    batch: readonly Int32Array[],
  ): Promise<{ readonly hidden: number; readonly rows: Float32Array[] }>;
  /** Runs a small batch so that the first request does not pay for lazy allocations; resolves with its ms. */
  warmUp(): Promise<number>;
  /** Releases the model. Never rejects; calling it twice is harmless. */
  close(): Promise<void>;
}
