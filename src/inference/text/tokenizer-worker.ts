/**
 * A tokenizer thread of the TokenizerPool: builds the tokenizer its `workerData` describes, then answers
 * `{id, texts, maxLength}` with every text's ids packed into one transferred Int32Array (no copy back).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TokenizerSpec } from './embedder.js';
import { createTokenizer } from './tokenizers.js';
import type { TokenizeReply, TokenizeRequest } from './tokenizer-pool.js';

const port = parentPort;
if (port === null) throw new Error('tokenizer-worker.js runs on a worker thread');

const tokenizer = await createTokenizer(workerData as TokenizerSpec);
port.on('message', (req: TokenizeRequest) => {
  try {
    const encoded = req.texts.map((t) => tokenizer.encode(t, req.maxLength));
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
    const reply: TokenizeReply = { id: req.id, ids, lengths, fullLengths };
    port.postMessage(reply, [ids.buffer, lengths.buffer, fullLengths.buffer]);
  } catch (err) {
    const reply: TokenizeReply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
port.postMessage({ ready: true });
