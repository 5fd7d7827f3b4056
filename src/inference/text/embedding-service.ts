/**
 * One served text-embedding model: its tokenizer pool, its backend and its dynamic batcher, put together.
 * `embed(texts)` tokenizes (on worker threads), checks lengths (truncate or refuse, naming the input and the
 * limit), queues the sequences in the batcher, and returns unit-length (or raw) vectors with token counts.
 * What happens is reported to an observer (the HTTP layer turns it into Prometheus metrics), so this module
 * knows nothing about HTTP.
 */
import { InputTooLongError, TooManyTokensError } from '../../core/errors.js';
import { DynamicBatcher, type BatchSequence } from '../tensor/dynamic-batcher.js';
import type { Embedder, TokenizedText, TruncationDirection } from './embedder.js';
import type { ModelSpec } from '../tensor/model-repository.js';
import { loadEmbedder } from '../backends/registry.js';
import { l2Normalize } from './pooling.js';
import { loadEmbedderOnThread } from './thread-embedder.js';
import { TokenizerPool } from './tokenizer-pool.js';

/** What the service reports as it works (all optional). */
export interface EmbeddingObserver {
  tokenized?(ms: number, texts: number): void;
  /** A batch ran: its size, real and padded tokens, inference time. */
  batch?(size: number, tokens: number, paddedTokens: number, ms: number): void;
  /** A sequence waited this long in the queue before its batch started. */
  queueWait?(ms: number): void;
}

export interface EmbedOptions {
  /** Cut inputs longer than the model's limit instead of refusing them. */
  readonly truncate?: boolean;
  /** Scale each vector to unit length (default: the model's `normalize`). */
  readonly normalize?: boolean;
  /** Aborted when the client goes away: its sequences are dropped before inference. */
  readonly signal?: AbortSignal;
  /** Most tokens (after truncation, specials included) all inputs together may hold: TooManyTokensError. */
  readonly maxTokens?: number;
  /** Which end of a text is cut when it is truncated (default right); the special tokens stay either way. */
  readonly direction?: TruncationDirection;
  /**
   * Text put before each text input (a model's prompt, as sentence-transformers and TEI do): it is tokenized
   * with the text, so its tokens count towards the limits and truncation may cut into it. Token-id inputs are
   * taken as given.
   */
  readonly prompt?: string;
}

/** The per-token output of some inputs (TEI's /embed_all). */
export interface TokenEmbeddings {
  /** Length of each token's vector. */
  readonly hidden: number;
  /** For each input, its tokens' vectors back to back ([tokens × hidden]), specials included. */
  readonly rows: Float32Array[];
}

/** Options of `tokenize`: the EmbedOptions that decide what a text's ids are. */
export type TokenizeOptions = Pick<EmbedOptions, 'truncate' | 'maxTokens' | 'direction' | 'prompt'>;

/** Texts tokenized at once when a request is checked against a token limit. */
const TOKENIZE_CHUNK = 256;

export interface EmbedResult {
  readonly vectors: Float32Array[];
  /** Tokens of each input as embedded (after truncation), specials included. */
  readonly tokens: number[];
  /** Where the request's time went (the observer's own measurements, per request: TEI's te_request_*). */
  readonly timing: RequestTiming;
}

/** Where one request's time went, in ms. */
export interface RequestTiming {
  /** Tokenizing its texts (0 for token ids). */
  tokenizationMs: number;
  /** The longest wait of one of its sequences in the batcher queue. */
  queueMs: number;
  /** The inference time of the batches its sequences ran in. */
  inferenceMs: number;
}

export interface EmbeddingServiceOptions {
  /** Tokenizer worker threads (0: on the event loop). */
  readonly tokenizerThreads: number;
  /** Requests with fewer characters are tokenized on the event loop even with threads. */
  readonly inlineBelowChars?: number;
  readonly observer?: EmbeddingObserver;
  /** Where the model runs: on a worker thread of its own (default), or on this one (embedder-placement.ts). */
  readonly placement?: 'thread' | 'inline';
}

interface Payload {
  readonly ids: Int32Array;
  readonly queuedAt: number;
  /** The timing of the request the sequence belongs to (filled in by runBatch). */
  readonly timing: RequestTiming;
}

export class EmbeddingService {
  private readonly batcher: DynamicBatcher<Payload, Float32Array>;

  private constructor(
    readonly spec: ModelSpec,
    readonly embedder: Embedder,
    readonly tokenizer: TokenizerPool,
    private readonly observer: EmbeddingObserver,
  ) {
    this.batcher = new DynamicBatcher(spec.batching, (batch) => this.runBatch(batch));
  }

  /** Loads the model and its tokenizer (threads included). Rejects naming the file when either fails. */
  static async load(spec: ModelSpec, options: EmbeddingServiceOptions): Promise<EmbeddingService> {
    const embedder =
      options.placement === 'inline' ? await loadEmbedder(spec) : await loadEmbedderOnThread(spec);
    try {
      const tokenizer = await TokenizerPool.create(embedder.tokenizer, {
        threads: options.tokenizerThreads,
        ...(options.inlineBelowChars !== undefined ? { inlineBelowChars: options.inlineBelowChars } : {}),
      });
      return new EmbeddingService(spec, embedder, tokenizer, options.observer ?? {});
    } catch (err) {
      await embedder.close();
      throw err;
    }
  }

  get stats(): DynamicBatcher<Payload, Float32Array>['stats'] {
    return this.batcher.stats;
  }

  get maxSequenceLength(): number {
    return Math.min(this.embedder.maxSequenceLength, this.spec.maxSequenceLength);
  }

  /**
   * Tokenizes texts, checking lengths: cut when `truncate`, else InputTooLongError for the first too long; and
   * TooManyTokensError as soon as the texts so far hold more than `maxTokens` (they are tokenized in chunks, so
   * what a request over the limit costs is bounded by the chunk, not by the request).
   */
  async tokenize(texts: readonly string[], options: TokenizeOptions = {}): Promise<TokenizedText[]> {
    return (await this.tokenizeTimed(texts, options)).tokenized;
  }

  private async tokenizeTimed(
    texts: readonly string[],
    options: TokenizeOptions,
  ): Promise<{ tokenized: TokenizedText[]; ms: number }> {
    const t0 = performance.now();
    const limit = this.maxSequenceLength;
    const truncate = options.truncate ?? false;
    const maxTokens = options.maxTokens ?? Number.POSITIVE_INFINITY;
    const prompt = options.prompt ?? '';
    const chunk = Number.isFinite(maxTokens) ? TOKENIZE_CHUNK : texts.length;
    const out: TokenizedText[] = [];
    let tokens = 0;
    for (let start = 0; start < texts.length; start += chunk) {
      let slice = texts.slice(start, start + chunk);
      if (prompt !== '') slice = slice.map((t) => prompt + t);
      const part = await this.tokenizer.encode(slice, limit, options.direction);
      for (const [j, t] of part.entries()) {
        if (!truncate && t.fullLength > limit) throw new InputTooLongError(start + j, t.fullLength, limit);
        tokens += t.ids.length;
        out.push(t);
      }
      if (tokens > maxTokens) throw new TooManyTokensError(tokens, maxTokens);
    }
    const ms = performance.now() - t0;
    this.observer.tokenized?.(ms, texts.length);
    return { tokenized: out, ms };
  }

  /**
   * Embeds texts. Rejects with InputTooLongError, QueueFullError (the queue has no room now), the signal's reason
   * when the client went away, or the error of the batch that ran its sequences.
   */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const { tokenized, ms } = await this.tokenizeTimed(texts, options);
    return this.embedSequences(
      tokenized.map((t) => t.ids),
      options,
      ms,
    );
  }

  /**
   * Embeds sequences of the model's token ids as given (specials included, as TEI takes token-id inputs): a
   * sequence over the model's limit is cut (`truncate`) or refused (InputTooLongError), all of them together are
   * held to `maxTokens`. The caller checks the ids against the vocabulary.
   */
  async embedIds(ids: readonly Int32Array[], options: EmbedOptions = {}): Promise<EmbedResult> {
    return this.embedSequences(this.cutIds(ids, options), options, 0);
  }

  /**
   * Token-id sequences checked against the limits: one over the model's limit is cut (`truncate`, on the side
   * `direction` says; ids are taken as they are, so nothing is kept specially) or refused (InputTooLongError);
   * all together are held to `maxTokens` (TooManyTokensError).
   */
  private cutIds(ids: readonly Int32Array[], options: EmbedOptions): Int32Array[] {
    const limit = this.maxSequenceLength;
    let tokens = 0;
    const cut = ids.map((seq, i) => {
      if (seq.length > limit && options.truncate !== true) throw new InputTooLongError(i, seq.length, limit);
      const left = options.direction === 'left';
      const kept =
        seq.length <= limit ? seq : left ? seq.subarray(seq.length - limit) : seq.subarray(0, limit);
      tokens += kept.length;
      return kept;
    });
    if (options.maxTokens !== undefined && tokens > options.maxTokens) {
      throw new TooManyTokensError(tokens, options.maxTokens);
    }
    return cut;
  }

  /** Whether the model can give its per-token output (TEI's /embed_all). */
  get givesTokenEmbeddings(): boolean {
    return this.embedder.embedTokens !== undefined;
  }

  /**
   * The model's per-token output for texts or token-id sequences (TEI's /embed_all), checked and cut as `embed`
   * does. It does not go through the batcher, so that the pooled path stays as it is: the sequences run in
   * groups of at most the model's batch size and padded batch tokens, one group after the other, stopping when
   * the signal is aborted. Rejects when the model has no per-token output (check `givesTokenEmbeddings`).
   */
  async embedTokens(
    inputs: { readonly texts: readonly string[] } | { readonly ids: readonly Int32Array[] },
    options: EmbedOptions = {},
  ): Promise<TokenEmbeddings & { readonly tokens: number[] }> {
    const run = this.embedder.embedTokens?.bind(this.embedder);
    if (run === undefined) throw new Error(`model ${this.spec.id} gives pooled vectors only`);
    const ids =
      'texts' in inputs
        ? (await this.tokenize(inputs.texts, options)).map((t) => t.ids)
        : this.cutIds(inputs.ids, options);
    const { maxBatchTokens, maxBatchSize } = this.spec.batching;
    const rows: Float32Array[] = [];
    let hidden = 0;
    for (let start = 0; start < ids.length;) {
      let end = start;
      let longest = 0;
      while (end < ids.length && end - start < maxBatchSize) {
        const next = Math.max(longest, ids[end]?.length ?? 0);
        if (end > start && next * (end - start + 1) > maxBatchTokens) break;
        longest = next;
        end++;
      }
      options.signal?.throwIfAborted();
      const out = await run(ids.slice(start, end));
      hidden = out.hidden;
      rows.push(...out.rows);
      start = end;
    }
    return { hidden, rows, tokens: ids.map((seq) => seq.length) };
  }

  private async embedSequences(
    ids: readonly Int32Array[],
    options: EmbedOptions,
    tokenizationMs: number,
  ): Promise<EmbedResult> {
    const normalize = options.normalize ?? this.spec.normalize;
    const queuedAt = performance.now();
    const timing: RequestTiming = { tokenizationMs, queueMs: 0, inferenceMs: 0 };
    const sequences: BatchSequence<Payload>[] = ids.map((seq) => ({
      tokens: seq.length,
      payload: { ids: seq, queuedAt, timing },
    }));
    // A request larger than a quarter of the queue is split into parts that each fit, queued one after the
    // other: a big client batch is served, not refused, and does not crowd everyone else out of the queue.
    const part = Math.max(1, Math.floor(this.spec.batching.queueCapacity / 4));
    const vectors: Float32Array[] = [];
    for (let i = 0; i < sequences.length; i += part) {
      const got = await this.batcher.submit(sequences.slice(i, i + part), options.signal);
      for (const v of got) vectors.push(normalize ? l2Normalize(v) : v);
    }
    return { vectors, tokens: ids.map((seq) => seq.length), timing };
  }

  /** Stops the batcher (queued requests are rejected), the tokenizer threads and the model. */
  async close(): Promise<void> {
    await this.batcher.close();
    await this.tokenizer.close();
    await this.embedder.close();
  }

  private async runBatch(batch: readonly BatchSequence<Payload>[]): Promise<Float32Array[]> {
    const started = performance.now();
    let tokens = 0;
    let longest = 0;
    const requests = new Set<RequestTiming>();
    for (const s of batch) {
      const wait = started - s.payload.queuedAt;
      this.observer.queueWait?.(wait);
      const { timing } = s.payload;
      timing.queueMs = Math.max(timing.queueMs, wait);
      requests.add(timing);
      tokens += s.tokens;
      longest = Math.max(longest, s.tokens);
    }
    const out = await this.embedder.embed(batch.map((s) => s.payload.ids));
    const ms = performance.now() - started;
    this.observer.batch?.(batch.length, tokens, longest * batch.length, ms);
    for (const timing of requests) timing.inferenceMs += ms;
    return out;
  }
}
