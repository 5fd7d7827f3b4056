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

/** A tokenizer as the service uses it. Pure computation: it must work on worker threads. */
export interface TextTokenizer {
  /** Tokenizes one text; cuts it to `maxLength` tokens (specials included) when it is longer. */
  encode(text: string, maxLength: number): TokenizedText;
  /** The text of a token id (for /tokenize), when the tokenizer knows it. */
  tokenText?(id: number): string | undefined;
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
  /** Runs a small batch so that the first request does not pay for lazy allocations; resolves with its ms. */
  warmUp(): Promise<number>;
  /** Releases the model. Never rejects; calling it twice is harmless. */
  close(): Promise<void>;
}
