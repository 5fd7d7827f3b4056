// TEI's and OpenAI's request fields and routes on the embed service, each honoured or refused naming why: a
// real server on a real port, the real minilm-l6-arch of models.yaml, the official openai client where it applies.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import OpenAI, { APIError } from 'openai';
import { loadModelRepository, type ModelSpec } from '../../../dist/inference/tensor/model-repository.js';
import { parseServerTiming } from '../../../dist/inference/kserve/server-timing.js';
import { cosine } from '../../../dist/inference/test-support.js';
import { post, serve, type Json, type Served } from './embed-server.js';

const MODELS_YAML = fileURLToPath(new URL('../../../models.yaml', import.meta.url));
const LONG = Array.from({ length: 700 }, (_, i) => `word${i % 50}`).join(' ');
const PROMPTS = { query: 'query: ', passage: 'passage: ' };

type Token = { id: number; text: string; special: boolean; start: number | null; stop: number | null };

function l2(v: readonly number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

describe('TEI fidelity of the embed service (minilm-l6-arch)', () => {
  let server: Served;
  let base: ModelSpec;

  before(async () => {
    const all = await loadModelRepository(MODELS_YAML);
    base = all.find((s) => s.id === 'minilm-l6-arch')!;
    // The same files three times: with prompts (e5-style, a stand-in), with a default prompt, without prompts.
    const mini = { ...base, id: 'mini', prompts: PROMPTS };
    const e5 = { ...base, id: 'e5-standin', prompts: PROMPTS, defaultPromptName: 'query' };
    const plain = { ...base, id: 'plain', prompts: {}, defaultPromptName: null };
    server = await serve(mini, 1 << 20, {}, undefined, [e5, plain]);
  });
  after(async () => {
    await server.close();
  });

  const embed = async (body: Json, path = '/embed'): Promise<number[][]> => {
    const r = await post(`${server.url}${path}`, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json as number[][];
  };
  const tokenize = async (body: Json): Promise<Token[][]> => {
    const r = await post(`${server.url}/tokenize`, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json as Token[][];
  };

  test("every inference answer says where its time went: TEI's x-* headers (whole ms) and Server-Timing", async () => {
    const timingOf = (h: Headers): Record<string, number> =>
      parseServerTiming(h.get('server-timing') ?? undefined);
    const wholeMs = (h: Headers, name: string): number => {
      const v = h.get(name);
      assert.match(v ?? '', /^\d+$/, name);
      return Number(v);
    };
    // "héllo 😀" is 7 code points (the emoji is two UTF-16 units), "abc" 3: TEI counts characters as code points.
    const tei = await post(`${server.url}/embed`, { inputs: ['héllo 😀', 'abc'], model: 'plain' });
    assert.equal(tei.status, 200);
    assert.equal(tei.headers.get('x-compute-characters'), '10');
    assert.equal(tei.headers.get('x-compute-type'), 'cpu');
    const tokenized = (await post(`${server.url}/tokenize`, { inputs: ['héllo 😀', 'abc'], model: 'plain' }))
      .json as Token[][];
    assert.equal(Number(tei.headers.get('x-compute-tokens')), tokenized[0]!.length + tokenized[1]!.length);
    const t = timingOf(tei.headers);
    assert.deepEqual(Object.keys(t), ['tokenize', 'queue', 'inference', 'total']);
    assert.ok(t.inference! > 0 && t.total! >= t.inference! + t.tokenize!, JSON.stringify(t));
    assert.equal(wholeMs(tei.headers, 'x-inference-time'), Math.floor(t.inference!));
    assert.equal(wholeMs(tei.headers, 'x-total-time'), Math.floor(t.total!));
    assert.equal(wholeMs(tei.headers, 'x-compute-time'), Math.floor(t.total!));
    assert.ok(wholeMs(tei.headers, 'x-tokenization-time') >= 0 && wholeMs(tei.headers, 'x-queue-time') >= 0);
    // OpenAI's route too, its tokens those of `usage`; token ids count no characters and take no tokenizing.
    const openai = await post(`${server.url}/v1/embeddings`, { input: [[101, 7592, 102]], model: 'plain' });
    assert.equal(openai.status, 200);
    assert.equal(openai.headers.get('x-compute-characters'), '0');
    assert.equal(
      openai.headers.get('x-compute-tokens'),
      String((openai.json as Json & { usage: { total_tokens: number } }).usage.total_tokens),
    );
    assert.equal(timingOf(openai.headers).tokenize, 0);
    // A refused request has none of them.
    const refused = await post(`${server.url}/embed`, { inputs: 7 });
    assert.equal(refused.status, 422);
    assert.equal(refused.headers.get('server-timing'), null);
    assert.equal(refused.headers.get('x-compute-time'), null);
  });
  test('prompt_name puts the prompt before the text; the default prompt when a request names none', async () => {
    const text = 'What is the capital of France?';
    const [prompted] = await embed({ inputs: text, prompt_name: 'query' });
    const [byHand] = await embed({ inputs: `query: ${text}` });
    const [bare] = await embed({ inputs: text });
    assert.ok(cosine(prompted!, byHand!) > 0.99999);
    assert.ok(cosine(prompted!, bare!) < 0.9999, 'no prompt unless asked (mini has no default)');
    // e5-standin's default prompt is "query": used when the request names none, replaced when it names one.
    const [byDefault] = await embed({ model: 'e5-standin', inputs: text });
    assert.ok(cosine(byDefault!, byHand!) > 0.99999);
    const [passage] = await embed({ model: 'e5-standin', inputs: text, prompt_name: 'passage' });
    const [passageByHand] = await embed({ inputs: `passage: ${text}` });
    assert.ok(cosine(passage!, passageByHand!) > 0.99999);
    // The prompt's tokens are the text's: /tokenize shows them, /embed_all embeds them.
    const [tokens] = await tokenize({ inputs: text, prompt_name: 'query' });
    const [tokensByHand] = await tokenize({ inputs: `query: ${text}` });
    assert.deepEqual(tokens, tokensByHand);
    assert.equal(tokens![1]!.start, 0, 'offsets are in the prompted text');
    const [all] = await embed({ inputs: text, prompt_name: 'query' }, '/embed_all');
    assert.equal(all!.length, tokens!.length);
  });

  test('prompt_name refusals: an unknown name, a model without prompts, token ids, not a string', async () => {
    const cases: [Json, RegExp][] = [
      [
        { prompt_name: 'document' },
        /prompt_name "document" is not a prompt of model "mini"; its prompts: query, passage/,
      ],
      [{ model: 'plain', prompt_name: 'query' }, /prompt_name "query": model "plain" defines no prompts/],
      [{ inputs: [101, 2054, 102], prompt_name: 'query' }, /prompt_name applies to text inputs/],
      [{ prompt_name: 7 }, /prompt_name must be a string/],
    ];
    for (const path of ['/embed', '/embed_all', '/tokenize']) {
      for (const [extra, message] of cases) {
        if (path === '/tokenize' && Array.isArray(extra.inputs)) continue;
        const r = await post(`${server.url}${path}`, { inputs: 'a text', ...extra });
        assert.equal(r.status, 422, `${path} ${JSON.stringify(extra)}`);
        assert.equal((r.json as Json).error_type, 'Validation');
        assert.match((r.json as Json).error as string, message);
      }
    }
  });

  test("bodies are validated by their documented schemas: TEI's 422 Validation naming the JSON path, no coercion", async () => {
    const cases: [string, unknown, RegExp][] = [
      ['/embed', { inputs: 5 }, /^inputs must be a string, an array of strings or token ids, got 5$/],
      ['/embed', { inputs: 'a', normalize: 'true' }, /^normalize must be true or false, got "true"$/],
      ['/embed', { inputs: 'a', truncate: 1 }, /^truncate must be true or false \(or null\), got 1$/],
      ['/embed', { inputs: 'a', dimensions: '8' }, /^dimensions must be an integer \(or null\), got "8"$/],
      [
        '/embed_all',
        { inputs: [[101, 'x']] },
        /^inputs\[0\]\[1\] must be a token id \(an integer ≥ 0\), got "x"$/,
      ],
      ['/embed_all', { inputs: ['a'], model: 7 }, /^model must be a string, got 7$/],
      ['/tokenize', { inputs: ['a', ''] }, /^inputs\[1\] is an empty string$/],
      [
        '/tokenize',
        { inputs: 'a', add_special_tokens: 'no' },
        /^add_special_tokens must be true or false, got "no"$/,
      ],
      ['/decode', { ids: [[101], []] }, /^ids\[1\] is an empty array of token ids$/],
      [
        '/decode',
        { ids: [[101, 2 ** 31]] },
        /^ids\[0\]\[1\] must be a token id \(an integer ≥ 0\), got 2147483648$/,
      ],
      ['/decode', 'null', /^the body must be a JSON object, got null$/],
    ];
    for (const [path, body, message] of cases) {
      const r = await post(`${server.url}${path}`, body);
      assert.equal(r.status, 422, `${path} ${JSON.stringify(body)}`);
      assert.deepEqual(Object.keys(r.json as Json).sort(), ['error', 'error_type']);
      assert.equal((r.json as Json).error_type, 'Validation');
      assert.match((r.json as Json).error as string, message);
    }
    // Fields TEI does not know are ignored, as TEI's serde does; the server goes on.
    assert.equal((await post(`${server.url}/embed`, { inputs: 'a', extra: 1 })).status, 200);
  });

  test('truncation_direction Left keeps the end of the text, with [CLS] first and [SEP] last', async () => {
    const [full] = await tokenize({ inputs: LONG });
    const ids = full!.map((t) => t.id);
    assert.ok(ids.length > 512);
    const limit = base.maxSequenceLength;
    const leftIds = [ids[0]!, ...ids.slice(ids.length - (limit - 1), -1), ids.at(-1)!];
    const rightIds = [...ids.slice(0, limit - 1), ids.at(-1)!];
    assert.equal(leftIds.length, limit);
    const [left] = await embed({ inputs: LONG, truncate: true, truncation_direction: 'Left' });
    const [right] = await embed({ inputs: LONG, truncate: true, truncation_direction: 'right' });
    const [fromLeftIds, fromRightIds] = await embed({ inputs: [leftIds, rightIds] });
    assert.ok(cosine(left!, fromLeftIds!) > 0.99999);
    assert.ok(cosine(right!, fromRightIds!) > 0.99999);
    // Token ids are cut on the side asked too.
    const [idsLeft] = await embed({ inputs: [ids], truncate: true, truncation_direction: 'left' });
    const [idsCutByHand] = await embed({ inputs: [ids.slice(ids.length - limit)] });
    assert.ok(cosine(idsLeft!, idsCutByHand!) > 0.99999);
    // The same on /v1/embeddings' truncate and /embed_all.
    const all = await embed({ inputs: LONG, truncate: true, truncation_direction: 'left' }, '/embed_all');
    assert.equal(all[0]!.length, limit);
  });

  test('/tokenize: tokens with id, text, special and UTF-8 byte offsets; add_special_tokens', async () => {
    const text = 'Café ☕ naïve!';
    const [tokens] = await tokenize({ inputs: text });
    const bytes = Buffer.from(text, 'utf8');
    assert.deepEqual(tokens![0], { id: 101, text: '[CLS]', special: true, start: null, stop: null });
    assert.deepEqual(tokens!.at(-1), { id: 102, text: '[SEP]', special: true, start: null, stop: null });
    for (const t of tokens!.slice(1, -1)) {
      assert.equal(t.special, false);
      assert.equal(bytes.subarray(t.start!, t.stop!).toString('utf8'), t.text, JSON.stringify(t));
    }
    assert.deepEqual(tokens![1], { id: tokens![1]!.id, text: 'Café', special: false, start: 0, stop: 5 });
    const [plain] = await tokenize({ inputs: text, add_special_tokens: false });
    assert.deepEqual(plain, tokens!.slice(1, -1));
    // The same ids as the embedding path: the tokens' ids embed to the text's vector.
    const [byIds] = await embed({ inputs: tokens!.map((t) => t.id) });
    const [byText] = await embed({ inputs: text });
    assert.ok(cosine(byIds!, byText!) > 0.99999);
    const batch = await tokenize({ inputs: ['one', text] });
    assert.equal(batch.length, 2);
    assert.deepEqual(batch[1], tokens);
    const huge = await post(`${server.url}/tokenize`, { inputs: ['x', 'y'.repeat(512 * 250 + 1)] });
    assert.equal(huge.status, 422);
    assert.match(
      (huge.json as Json).error as string,
      /inputs\[1\] has 128,001 characters; \/tokenize takes at most 128,000/,
    );
    const bad = await post(`${server.url}/tokenize`, { inputs: 'x', add_special_tokens: 'no' });
    assert.equal(bad.status, 422);
    assert.match((bad.json as Json).error as string, /add_special_tokens must be true or false/);
  });

  test('/decode: ids back to text, skip_special_tokens (default true); bad ids named', async () => {
    const [tokens] = await tokenize({ inputs: "Hello, world! It's fine." });
    const ids = tokens!.map((t) => t.id);
    const decoded = await post(`${server.url}/decode`, { ids });
    assert.equal(decoded.status, 200);
    // As TEI decodes (the tokenizers crate's WordPiece decoder cleans up token by token: " ' " needs spaces on
    // both sides within one token, so "it ' s" stays).
    assert.deepEqual(decoded.json, ["hello, world! it ' s fine."]);
    const kept = await post(`${server.url}/decode`, {
      ids: [ids, ids.slice(0, 3)],
      skip_special_tokens: false,
    });
    assert.deepEqual(kept.json, ["[CLS] hello, world! it ' s fine. [SEP]", '[CLS] hello,']);
    const cases: [Json, RegExp][] = [
      [{}, /ids is required/],
      [{ ids: 'hello' }, /ids must be token ids/],
      [{ ids: [1, -2] }, /ids\[1\] must be a token id/],
      [{ ids: [101, 99999999] }, /ids\[0\]\[1\]: token id 99999999 is not in the vocabulary/],
      [{ ids: [101], skip_special_tokens: 1 }, /skip_special_tokens must be true or false/],
    ];
    for (const [body, message] of cases) {
      const r = await post(`${server.url}/decode`, body);
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.match((r.json as Json).error as string, message);
    }
  });

  test('/embed_all: every token vector; their mean is the pooled vector of /embed', async () => {
    const texts = ['The cat sits on the mat.', 'Short.'];
    const all = (await post(`${server.url}/embed_all`, { inputs: texts })).json as number[][][];
    const pooled = await embed({ inputs: texts });
    const tokens = await tokenize({ inputs: texts });
    assert.equal(all.length, 2);
    for (const [i, rows] of all.entries()) {
      assert.equal(rows.length, tokens[i]!.length);
      for (const row of rows) assert.equal(row.length, 384);
      const mean = rows[0]!.map((_, k) => rows.reduce((s, r) => s + r[k]!, 0) / rows.length);
      assert.ok(cosine(l2(mean), pooled[i]!) > 0.99999);
    }
    const byIds = (await post(`${server.url}/embed_all`, { inputs: tokens[1]!.map((t) => t.id) }))
      .json as number[][][];
    assert.equal(byIds[0]!.length, tokens[1]!.length);
    const tooLong = await post(`${server.url}/embed_all`, { inputs: LONG });
    assert.equal(tooLong.status, 413);
  });

  test("/rerank, /predict, /embed_sparse: 424 (TEI's answer for a model of another kind), saying why", async () => {
    const routes: [string, Json, RegExp][] = [
      [
        '/rerank',
        { query: 'q', texts: ['a'] },
        /\/rerank needs a re-ranker \(cross-encoder\) model; pitlane serves embedding models only/,
      ],
      ['/predict', { inputs: 'a' }, /\/predict needs a sequence-classification model/],
      ['/embed_sparse', { inputs: 'a' }, /\/embed_sparse needs an embedding model with SPLADE pooling/],
    ];
    for (const [path, body, message] of routes) {
      const r = await post(`${server.url}${path}`, body);
      assert.equal(r.status, 424, path);
      assert.equal((r.json as Json).error_type, 'Backend');
      assert.match((r.json as Json).error as string, message);
    }
  });

  test("/info in TEI's shape, pitlane's fields beside", async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as Json;
    assert.equal(info.model_id, 'mini');
    assert.equal(info.model_sha, null);
    assert.equal(info.model_dtype, 'float32');
    assert.deepEqual(info.model_type, { embedding: { pooling: 'mean' } });
    assert.deepEqual(info.prompts, PROMPTS);
    assert.equal(info.max_input_length, base.maxSequenceLength);
    assert.equal(info.max_batch_tokens, base.batching.maxBatchTokens);
    assert.equal(info.max_batch_requests, base.batching.maxBatchSize);
    assert.equal(info.max_client_batch_size, 32);
    assert.equal(info.max_concurrent_requests, 64);
    assert.equal(info.auto_truncate, false);
    assert.equal(info.tokenization_workers, 1);
    assert.equal(info.version, 'test');
    for (const key of ['sha', 'docker_label']) assert.ok(key in info && info[key] === null, key);
    assert.equal(info.dimension, 384);
    assert.equal((info.models as unknown[]).length, 3);
  });
});

describe('auto_truncate and the te_* metrics', () => {
  test('--auto-truncate: truncate when the request does not say; te_* series count what happened', async () => {
    const [spec] = (await loadModelRepository(MODELS_YAML)).filter((s) => s.id === 'minilm-l6-arch');
    const server = await serve(spec!, 1 << 20, {}, undefined, [], { autoTruncate: true });
    try {
      const info = (await (await fetch(`${server.url}/info`)).json()) as Json;
      assert.equal(info.auto_truncate, true);
      assert.equal((await post(`${server.url}/embed`, { inputs: LONG })).status, 200);
      assert.equal((await post(`${server.url}/embed`, { inputs: ['a', 'b'] })).status, 200);
      assert.equal((await post(`${server.url}/embed`, { inputs: LONG, truncate: false })).status, 413);
      assert.equal((await post(`${server.url}/embed`, { inputs: Array(33).fill('x') })).status, 422);
      assert.equal((await post(`${server.url}/rerank`, { query: 'q', texts: ['a'] })).status, 424);
      assert.equal((await post(`${server.url}/v1/embeddings`, { input: 'c' })).status, 200);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (series: string): number => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        assert.ok(line !== undefined, `no ${series} in /metrics`);
        return Number(line.slice(series.length + 1));
      };
      assert.equal(value('te_request_count{method="single"}'), 3); // LONG twice, "c"
      assert.equal(value('te_request_count{method="batch"}'), 3); // ['a','b'], 33 inputs, /rerank
      assert.equal(value('te_request_success{method="single"}'), 2);
      assert.equal(value('te_request_success{method="batch"}'), 1);
      assert.equal(value('te_request_failure{err="tokenization"}'), 1);
      assert.equal(value('te_request_failure{err="batch_size"}'), 1);
      assert.equal(value('te_request_failure{err="model_type"}'), 1);
      assert.equal(value('te_embed_count'), 5); // 1 + 2 + 1 (the refused LONG) + 1
      assert.equal(value('te_embed_success'), 4);
      for (const h of [
        'te_request_duration',
        'te_request_tokenization_duration',
        'te_request_queue_duration',
        'te_request_inference_duration',
      ]) {
        assert.equal(value(`${h}_count`), 3, h);
      }
      assert.equal(value('te_request_input_length_count'), 4);
      assert.ok(value('te_batch_next_size_count') >= 3);
      assert.ok(value('te_batch_next_tokens_sum') >= 512 + 6);
      assert.equal(value('te_queue_size'), 0);
      assert.match(text, /# TYPE te_request_duration histogram/);
      assert.match(text, /# TYPE te_request_count counter/);
    } finally {
      await server.close();
    }
  });
});

describe("OpenAI's error shape on every /v1 4xx", () => {
  let server: Served;
  before(async () => {
    const [spec] = (await loadModelRepository(MODELS_YAML)).filter((s) => s.id === 'minilm-l6-arch');
    server = await serve(spec!, 64 * 1024);
  });
  after(async () => {
    await server.close();
  });

  const shape = (status: number, error: unknown, param: string | null, code: string | null): void => {
    const e = error as Json;
    assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(typeof e.message, 'string');
    assert.equal(
      e.type,
      status >= 500 ? 'server_error' : status === 429 ? 'requests' : 'invalid_request_error',
    );
    assert.equal(e.param, param);
    assert.equal(e.code, code);
  };

  test('through the official openai client: typed errors carrying status, param and code', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const cases: [
      Parameters<typeof client.embeddings.create>[0],
      number,
      string | null,
      string | null,
      RegExp,
    ][] = [
      [{ model: 'minilm-l6-arch', input: [] }, 400, 'input', null, /input is an empty array/],
      [
        { model: 'minilm-l6-arch', input: 'x', dimensions: 0 },
        400,
        'dimensions',
        null,
        /dimensions must be an integer/,
      ],
      [{ model: 'minilm-l6-arch', input: [1, 99999999] }, 400, 'input[1]', null, /not in the vocabulary/],
      [{ model: 'nope', input: 'x' }, 404, 'model', 'model_not_found', /model "nope" is not served here/],
      [{ model: 'minilm-l6-arch', input: LONG }, 413, 'input[0]', null, /the model's limit is 512/],
      [
        { model: 'minilm-l6-arch', input: 'x', encoding_format: 'int8' as 'float' },
        400,
        'encoding_format',
        null,
        /encoding_format must be "float" or "base64"/,
      ],
    ];
    for (const [body, status, param, code, message] of cases) {
      await assert.rejects(client.embeddings.create(body), (err: unknown) => {
        assert.ok(err instanceof APIError, String(err));
        assert.equal(err.status, status, JSON.stringify(body).slice(0, 80));
        shape(status, err.error, param, code);
        assert.equal(err.param, param);
        assert.equal(err.code, code);
        assert.match(err.message, message);
        return true;
      });
    }
    // `user` is taken and not used, as OpenAI uses it (abuse monitoring).
    const ok = await client.embeddings.create({ model: 'minilm-l6-arch', input: 'x', user: 'u-1' });
    assert.equal(ok.data.length, 1);
    await assert.rejects(client.models.retrieve('nope'), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      shape(404, err.error, 'model', 'model_not_found');
      return true;
    });
  });

  test('raw requests the client cannot make: bad JSON, not an object, wrong media type, body too large, unknown route', async () => {
    const url = `${server.url}/v1/embeddings`;
    const cases: [
      () => Promise<{ status: number; json: unknown }>,
      number,
      string | null,
      string | null,
      RegExp,
    ][] = [
      [() => post(url, '{"input": '), 400, null, null, /the body is not valid JSON/],
      [() => post(url, '[1, 2]'), 400, null, null, /the body must be a JSON object/],
      [() => post(url, { input: 'x', model: 3 }), 400, 'model', null, /model must be a string/],
      // Validated by the documented schema: `param` is the field's JSON path; nothing is coerced.
      [
        () => post(url, { input: 5 }),
        400,
        'input',
        null,
        /^input must be a string, an array of strings or token ids, got 5$/,
      ],
      [
        () =>
          post(url, {
            input: [
              [1, 2],
              [3, 'x'],
            ],
          }),
        400,
        'input[1][1]',
        null,
        /^input\[1\]\[1\] must be a token id/,
      ],
      [
        () => post(url, { input: 'x', truncate: null }),
        400,
        'truncate',
        null,
        /^truncate must be true or false, got null$/,
      ],
      [() => post(url, { input: 'x', user: 5 }), 400, 'user', null, /^user must be a string, got 5$/],
      [
        () => post(url, 'input=x', 'application/x-www-form-urlencoded'),
        415,
        null,
        null,
        /send the body as application\/json/,
      ],
      [() => post(url, { input: 'x'.repeat(70 * 1024) }), 413, null, null, /request body/],
      [
        async () => {
          const r = await fetch(`${server.url}/v1/completions`, { method: 'POST' });
          return { status: r.status, json: await r.json() };
        },
        404,
        null,
        'unknown_url',
        /Invalid URL \(POST \/v1\/completions\)/,
      ],
    ];
    for (const [send, status, param, code, message] of cases) {
      const r = await send();
      assert.equal(r.status, status, String(message));
      const error = (r.json as Json).error as Json;
      shape(status, error, param, code);
      assert.match(error.message as string, message);
    }
  });

  test('429 when the requests in flight are at the limit: RateLimitError through the client', async () => {
    const [spec] = (await loadModelRepository(MODELS_YAML)).filter((s) => s.id === 'minilm-l6-arch');
    const tight = await serve(spec!, 1 << 20, { maxConcurrentRequests: 1 });
    const held = httpRequest({
      host: '127.0.0.1',
      port: new URL(tight.url).port,
      method: 'POST',
      path: '/v1/embeddings',
      headers: { 'content-type': 'application/json', 'content-length': 100 },
    });
    held.on('error', () => undefined);
    try {
      held.write('{"input": ');
      const client = new OpenAI({ baseURL: `${tight.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      let refused: unknown;
      // The held request is counted when it arrives; ask until the server has it.
      for (let i = 0; i < 50 && refused === undefined; i++) {
        refused = await client.embeddings.create({ model: 'minilm-l6-arch', input: 'x' }).then(
          () => new Promise((r) => setTimeout(r, 20)).then(() => undefined),
          (err: unknown) => err,
        );
      }
      assert.ok(refused instanceof OpenAI.RateLimitError, String(refused));
      shape(429, refused.error, null, 'rate_limit_exceeded');
      assert.match(refused.message, /the limit is 1 requests \(--max-concurrent-requests\)/);
    } finally {
      held.destroy();
      await tight.close();
    }
  });
});
