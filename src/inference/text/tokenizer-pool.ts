/**
 * TokenizerPool: tokenization off the event loop. N worker threads each hold the model's tokenizer; a request's
 * texts go to the least busy thread and come back as one transferred Int32Array. Small requests are tokenized
 * inline: posting them to a thread and back costs more than the work (`inlineBelowChars`; a 200-word paragraph
 * takes about 0.1 ms). The threads start with the first request that needs them: each costs about 50 MB of
 * memory (a V8 isolate and the tokenizer), which a server that only sees short texts should not pay. With 0
 * threads everything is inline. A thread that dies fails only the requests it held, and is replaced. The threads
 * are inference threads (backends/thread-host.ts) running `tokenizerThreadService`, defined here.
 */
import { toError } from '../../core/errors.js';
import { startThread, type ThreadHost } from '../backends/thread-host.js';
import type { ThreadServiceLoader } from '../backends/thread-protocol.js';
import type {
  TextTokenizer,
  TokenizedText,
  TokenizerSpec,
  TokenSpan,
  TruncationDirection,
} from './embedder.js';
import { createTokenizer } from './tokenizers.js';

/** What a tokenizer thread is asked: texts, each cut to `maxLength` tokens. */
interface TokenizeArgs {
  readonly texts: readonly string[];
  readonly maxLength: number;
  readonly direction: TruncationDirection;
}

/** A tokenizer thread's answer: ids of every text back to back, and each text's length. */
interface Tokenized {
  readonly ids: Int32Array;
  readonly lengths: Int32Array;
  readonly fullLengths: Int32Array;
}

export interface TokenizerPoolOptions {
  /** Worker threads (0: tokenize on the calling thread). */
  readonly threads: number;
  /** Requests with fewer characters in all are tokenized inline (default 16384: about 3000 words, 1-2 ms). */
  readonly inlineBelowChars?: number;
}

interface Slot {
  host: ThreadHost<true>;
  /** False from the thread's exit until its replacement is up. */
  alive: boolean;
}

export class TokenizerPool {
  private closed = false;
  private readonly slots: Slot[] = [];
  private starting: Promise<void> | null = null;
  /** Texts tokenized inline and on threads (for /metrics and tests). */
  readonly counts = { inline: 0, threaded: 0 };

  private constructor(
    private readonly spec: TokenizerSpec,
    private readonly local: TextTokenizer,
    /** Threads to start when the first large request comes. */
    readonly threads: number,
    private readonly inlineBelowChars: number,
  ) {}

  /** Loads the tokenizer on this thread; rejects (naming the file) when it cannot be loaded. */
  static async create(spec: TokenizerSpec, options: TokenizerPoolOptions): Promise<TokenizerPool> {
    const local = await createTokenizer(spec);
    return new TokenizerPool(spec, local, options.threads, options.inlineBelowChars ?? 16_384);
  }

  /** Threads running now (0 until a request needed them). */
  get started(): number {
    return this.slots.length;
  }

  /** Starts the threads now rather than on the first large request. */
  start(): Promise<void> {
    this.starting ??= Promise.all(
      Array.from({ length: this.threads }, async () => {
        const slot: Slot = { host: await startTokenizerThread(this.spec), alive: true };
        if (this.closed) {
          await slot.host.terminate();
          return;
        }
        this.slots.push(slot);
        this.watch(slot);
      }),
    ).then(() => undefined);
    return this.starting;
  }

  /**
   * Tokenizes texts, each cut to `maxLength` tokens (on the right unless `direction` is left); resolves with one
   * result per text, in order.
   */
  encode(
    texts: readonly string[],
    maxLength: number,
    direction: TruncationDirection = 'right',
  ): Promise<TokenizedText[]> {
    if (this.closed) return Promise.reject(new Error('the tokenizer pool is closed'));
    const args: TokenizeArgs = { texts, maxLength, direction };
    let chars = 0;
    for (const t of texts) chars += t.length;
    if (chars < this.inlineBelowChars) return this.encodeHere(args);
    if (this.threads > 0 && this.slots.length === 0) {
      // The first large requests start the threads and wait for them; if they cannot start, it is done here.
      return this.start().then(
        () => this.dispatch(args),
        () => this.encodeHere(args),
      );
    }
    return this.dispatch(args);
  }

  /** Sends texts to the least busy thread (here when none is alive). */
  private dispatch(args: TokenizeArgs): Promise<TokenizedText[]> {
    if (this.closed) return Promise.reject(new Error('the tokenizer pool is closed'));
    const slot = this.leastBusy();
    if (slot === undefined) return this.encodeHere(args);
    this.counts.threaded += args.texts.length;
    return slot.host.call<Tokenized>('encode', args).then(unpack);
  }

  private encodeHere({ texts, maxLength, direction }: TokenizeArgs): Promise<TokenizedText[]> {
    this.counts.inline += texts.length;
    try {
      return Promise.resolve(texts.map((t) => this.local.encode(t, maxLength, direction)));
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /**
   * The tokens of each text with their places (TEI's /tokenize), on this thread: /tokenize is not on the
   * embedding path. Null when the tokenizer cannot tell where its tokens come from.
   */
  tokens(texts: readonly string[], addSpecialTokens: boolean): TokenSpan[][] | null {
    const local = this.local;
    if (local.tokens === undefined) return null;
    return texts.map((t) => local.tokens?.(t, addSpecialTokens) ?? []);
  }

  /** Token ids back to text (TEI's /decode), on this thread; null when the tokenizer cannot decode. */
  decode(ids: readonly (readonly number[])[], skipSpecialTokens: boolean): string[] | null {
    const local = this.local;
    if (local.decode === undefined) return null;
    return ids.map((seq) => local.decode?.(seq, skipSpecialTokens) ?? '');
  }

  /** Whether `tokenText` can tell a token id the vocabulary has from one it has not. */
  get knowsIds(): boolean {
    return this.local.tokenText !== undefined;
  }

  /** The text of a token id, when the tokenizer knows it. */
  tokenText(id: number): string | undefined {
    return this.local.tokenText?.(id);
  }

  /** Stops the threads; pending requests are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await Promise.all(this.slots.map((s) => s.host.terminate()));
  }

  private leastBusy(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.alive && (best === undefined || s.host.pending < best.host.pending)) best = s;
    }
    return best;
  }

  private watch(slot: Slot): void {
    slot.host.onDeath(() => {
      slot.alive = false;
      if (this.closed) return;
      // Replace the thread; until it is up, requests go to the other threads or inline.
      startTokenizerThread(this.spec).then(
        (host) => {
          if (this.closed) {
            void host.terminate();
            return;
          }
          slot.host = host;
          slot.alive = true;
          this.watch(slot);
        },
        () => {
          const i = this.slots.indexOf(slot);
          if (i >= 0) this.slots.splice(i, 1);
        },
      );
    });
  }
}

/** Starts one tokenizer thread; resolves once its tokenizer is loaded, rejects with its load error. */
function startTokenizerThread(spec: TokenizerSpec): Promise<ThreadHost<true>> {
  return startThread<true>({
    service: 'tokenizer',
    init: spec,
    failed: (err) => new Error(`a tokenizer thread failed: ${err.message}`),
    exited: (code) => new Error(`a tokenizer thread exited (code ${code}) with this request`),
    callError: (message) => new Error(`tokenizer: ${message}`),
  });
}

/** One TokenizedText per text of a thread's answer (views of its one ids array). */
function unpack(reply: Tokenized): TokenizedText[] {
  const out: TokenizedText[] = [];
  let at = 0;
  for (let i = 0; i < reply.lengths.length; i++) {
    const n = reply.lengths[i] ?? 0;
    out.push({ ids: reply.ids.subarray(at, at + n), fullLength: reply.fullLengths[i] ?? n });
    at += n;
  }
  return out;
}

/**
 * The thread's half: builds the tokenizer its spec describes, then answers `encode` with every text's ids packed
 * into one transferred Int32Array (no copy back).
 */
export const tokenizerThreadService: ThreadServiceLoader = async (init) => {
  const tokenizer = await createTokenizer(init as TokenizerSpec);
  return {
    ready: true,
    handle: (_method, args) => {
      const { texts, maxLength, direction } = args as TokenizeArgs;
      const encoded = texts.map((t) => tokenizer.encode(t, maxLength, direction));
      let total = 0;
      for (const e of encoded) total += e.ids.length;
      const ids = new Int32Array(total);
      const lengths = new Int32Array(encoded.length);
      const fullLengths = new Int32Array(encoded.length);
      let at = 0;
      encoded.forEach((e, i) => {
        ids.set(e.ids, at);
        at += e.ids.length;
        lengths[i] = e.ids.length;
        fullLengths[i] = e.fullLength;
      });
      const value: Tokenized = { ids, lengths, fullLengths };
      return Promise.resolve({ value, transfer: [ids.buffer, lengths.buffer, fullLengths.buffer] });
    },
    close: () => Promise.resolve(),
  };
};
