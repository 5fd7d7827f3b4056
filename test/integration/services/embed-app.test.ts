import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { loadModelRepository, type ModelSpec } from '../../../dist/inference/tensor/model-repository.js';
import { buildMiniLmArchInTemp, cosine, type BuiltModelDir } from '../../../dist/inference/test-support.js';
import { EmbeddingService } from '../../../dist/inference/text/embedding-service.js';
import { InputTooLongError } from '../../../dist/core/errors.js';
import { buildEmbedApp, EMBED_LIMIT_DEFAULTS, type EmbedState } from '../../../dist/services/embed/app.js';
import { EmbedMetrics } from '../../../dist/services/embed/metrics.js';
import { post, serve, type Json, type Served } from './embed-server.js';

function norm(v: readonly number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

const LONG = Array.from({ length: 700 }, (_, i) => `word${i % 50}`).join(' ');

describe('embed service over HTTP (minilm-l6-arch on ONNX Runtime)', () => {
  let built: BuiltModelDir;
  let spec: ModelSpec;
  let server: Served;
  let yaml: string;

  before(async () => {
    built = buildMiniLmArchInTemp();
    // Placed like a model a user downloaded: a models.yaml beside the folder, relative paths.
    yaml = join(built.dir, '..', 'models.yaml');
    writeFileSync(
      yaml,
      [
        'models:',
        '  mini:',
        '    name: minilm-l6-arch (synthetic weights)',
        '    paths: { onnx: minilm-l6-arch/model.onnx, tokenizer: minilm-l6-arch/tokenizer.json }',
        '    dimension: 384',
        '    threads: { intra_op: 1 }',
        '    batching: { queue_capacity: 64, max_batch_size: 16 }',
      ].join('\n'),
    );
    [spec] = (await loadModelRepository(yaml)) as [ModelSpec];
    // Up to 256 inputs, so that a client batch can be larger than the queue (64 sequences).
    server = await serve(spec, 1 << 20, { maxClientBatchSize: 256 }, dirname(yaml));
  });
  after(async () => {
    await server.close();
    built.remove();
  });

  test('/health is 503 until the models are loaded, then 200', async () => {
    const metrics = new EmbedMetrics();
    const state: EmbedState = { services: new Map(), ready: false };
    const app = buildEmbedApp(state, { defaultModel: 'x', bodyLimitBytes: 1000, version: 't', metrics });
    const loading = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(loading.statusCode, 503);
    const early = await app.inject({ method: 'POST', url: '/embed', payload: { inputs: 'hi' } });
    assert.equal(early.statusCode, 503);
    assert.match(early.body, /still loading/);
    const ready = await fetch(`${server.url}/health`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ok', models: ['mini'] });
  });

  test('the official openai client: embeddings.create (base64 by default) and float agree', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused' });
    const texts = ['The cat sits on the mat.', 'Quarterly revenue rose by four percent.'];
    const res = await client.embeddings.create({ model: 'mini', input: texts });
    assert.equal(res.object, 'list');
    assert.equal(res.model, 'mini');
    assert.equal(res.data.length, 2);
    const floats = await client.embeddings.create({ model: 'mini', input: texts, encoding_format: 'float' });
    for (const [i, d] of res.data.entries()) {
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, 384);
      assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-5, 'unit length');
      const f = floats.data[i]?.embedding ?? [];
      for (let k = 0; k < 384; k++) assert.ok(Math.abs(d.embedding[k]! - f[k]!) < 1e-7);
    }
    // [CLS] + words + [SEP] per text, counted by the server's tokenizer.
    const tok = (await post(`${server.url}/tokenize`, { inputs: texts })).json as unknown[][];
    const expected = tok.reduce((n, t) => n + t.length, 0);
    assert.equal(res.usage.prompt_tokens, expected);
    assert.equal(res.usage.total_tokens, expected);
  });

  test('token-id inputs, as LangChain sends them (number[] and number[][]): the vectors of the texts they encode', async () => {
    const texts = ['The cat sits on the mat.', 'Quarterly revenue rose by four percent.'];
    const tok = (await post(`${server.url}/tokenize`, { inputs: texts })).json as { id: number }[][];
    const ids = tok.map((t) => t.map((x) => x.id));
    const byText = (await post(`${server.url}/v1/embeddings`, { input: texts })).json as Json;
    const vectors = (j: Json): number[][] => (j.data as Json[]).map((d) => d.embedding as number[]);
    const several = (await post(`${server.url}/v1/embeddings`, { input: ids })).json as Json;
    const one = (await post(`${server.url}/v1/embeddings`, { input: ids[1] })).json as Json;
    assert.equal(vectors(several).length, 2);
    for (const [i, v] of vectors(several).entries()) assert.ok(cosine(v, vectors(byText)[i]!) > 0.99999);
    assert.ok(cosine(vectors(one)[0]!, vectors(byText)[1]!) > 0.99999);
    assert.deepEqual(several.usage, byText.usage, 'the same tokens are counted');
    const tei = (await post(`${server.url}/embed`, { inputs: ids })).json as number[][];
    assert.ok(cosine(tei[0]!, vectors(byText)[0]!) > 0.99999);
    // Over the model's limit (512): refused naming the input, or cut with truncate.
    const long = [101, ...Array.from({ length: 600 }, () => 1000), 102];
    const refused = await post(`${server.url}/v1/embeddings`, { input: [long] });
    assert.equal(refused.status, 413);
    assert.match(
      ((refused.json as Json).error as Json).message as string,
      /input\[0\] has 602 tokens; the model's limit is 512/,
    );
    const cut = await post(`${server.url}/v1/embeddings`, { input: [long], truncate: true });
    assert.equal(cut.status, 200);
    assert.equal(((cut.json as Json).usage as Json).prompt_tokens, 512);
    // The official client sends token ids as they are.
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused' });
    const res = await client.embeddings.create({ model: 'mini', input: ids, encoding_format: 'float' });
    assert.ok(cosine(res.data[0]!.embedding, vectors(byText)[0]!) > 0.99999);
  });

  test('/v1/models and /v1/models/{id} in OpenAI’s shape; unknown routes answer in their API’s error shape', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused' });
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => [m.id, m.object, m.owned_by, typeof m.created]),
      [['mini', 'model', 'pitlane', 'number']],
    );
    assert.equal((await client.models.retrieve('mini')).id, 'mini');
    await assert.rejects(client.models.retrieve('gpt-4'), (err: unknown) => {
      const e = err as { status?: number; code?: string; message?: string };
      assert.equal(e.status, 404);
      assert.equal(e.code, 'model_not_found');
      assert.match(e.message ?? '', /The model 'gpt-4' does not exist; models: mini/);
      return true;
    });
    const unknown = await post(`${server.url}/v1/completions`, { prompt: 'hi' });
    assert.equal(unknown.status, 404);
    const error = (unknown.json as Json).error as Json;
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.code, 'unknown_url');
    assert.match(error.message as string, /Invalid URL \(POST \/v1\/completions\)/);
    const tei = await post(`${server.url}/similarity`, {
      inputs: { source_sentence: 'a', sentences: ['b'] },
    });
    assert.equal(tei.status, 404);
    assert.equal((tei.json as Json).error_type, 'Validation');
    assert.match((tei.json as Json).error as string, /no route POST \/similarity/);
  });

  test('TEI /embed honours dimensions and every spelling of truncation_direction, and refuses what it cannot do', async () => {
    const oai = (await post(`${server.url}/v1/embeddings`, { input: 'shrink me', dimensions: 32 }))
      .json as Json;
    const want = ((oai.data as Json[])[0]?.embedding ?? []) as number[];
    const [tei] = (await post(`${server.url}/embed`, { inputs: 'shrink me', dimensions: 32 }))
      .json as number[][];
    assert.equal(tei!.length, 32);
    tei!.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-6));
    const cutAt: Record<string, number[]> = {};
    for (const direction of ['Right', 'right', 'Left', 'left', null]) {
      const r = await post(`${server.url}/embed`, {
        inputs: LONG,
        truncate: true,
        truncation_direction: direction,
      });
      assert.equal(r.status, 200, String(direction));
      cutAt[String(direction)] = (r.json as number[][])[0]!;
    }
    // Each spelling means its side; null is the default (right); the two sides keep different tokens.
    assert.ok(cosine(cutAt.Right!, cutAt.right!) > 0.99999);
    assert.ok(cosine(cutAt.Right!, cutAt.null!) > 0.99999);
    assert.ok(cosine(cutAt.Left!, cutAt.left!) > 0.99999);
    assert.ok(cosine(cutAt.Left!, cutAt.Right!) < 0.9999);
    const cases: [Json, RegExp][] = [
      [
        { truncation_direction: 'up' },
        /truncation_direction must be "Right" or "Left" \(or "right", "left"\), got "up"/,
      ],
      [{ truncation_direction: 1 }, /truncation_direction must be "Right" or "Left" .*got 1/],
      [{ dimensions: 385 }, /dimensions must be an integer from 1 to 384/],
    ];
    for (const [extra, message] of cases) {
      const r = await post(`${server.url}/embed`, { inputs: 'a', ...extra });
      assert.equal(r.status, 422, JSON.stringify(extra));
      assert.match((r.json as Json).error as string, message);
      assert.equal((r.json as Json).error_type, 'Validation');
    }
  });

  test('dimensions: the first d values, renormalised', async () => {
    const full = (await post(`${server.url}/v1/embeddings`, { input: 'shrink me' })).json as Json;
    const cut = (await post(`${server.url}/v1/embeddings`, { input: 'shrink me', dimensions: 32 }))
      .json as Json;
    const f = ((full.data as Json[])[0]?.embedding ?? []) as number[];
    const c = ((cut.data as Json[])[0]?.embedding ?? []) as number[];
    assert.equal(c.length, 32);
    assert.ok(Math.abs(norm(c) - 1) < 1e-5);
    const n = norm(f.slice(0, 32));
    c.forEach((x, i) => assert.ok(Math.abs(x - f[i]! / n) < 1e-6));
  });

  test('TEI /embed: a list of vectors; normalize false keeps the raw mean; the same text gives the same vector', async () => {
    const a = await post(`${server.url}/embed`, { inputs: ['alpha beta', 'alpha beta'] });
    assert.equal(a.status, 200);
    const [v1, v2] = a.json as number[][];
    assert.deepEqual(v1, v2);
    assert.ok(Math.abs(norm(v1!) - 1) < 1e-5);
    const raw = (await post(`${server.url}/embed`, { inputs: 'alpha beta', normalize: false }))
      .json as number[][];
    assert.ok(Math.abs(norm(raw[0]!) - 1) > 1e-3, 'not unit length');
    assert.ok(cosine(raw[0]!, v1!) > 0.99999);
  });

  test("a sequence's vector does not depend on what it is batched with", async () => {
    const alone = ((await post(`${server.url}/embed`, { inputs: 'short text' })).json as number[][])[0]!;
    const long = Array.from({ length: 120 }, (_, i) => `token${i}`).join(' ');
    // In one request (one batch, padded to the long one) and from concurrent requests.
    const together = (
      (await post(`${server.url}/embed`, { inputs: [long, 'short text', long] })).json as number[][]
    )[1]!;
    assert.ok(cosine(alone, together) > 0.99999, `cosine ${cosine(alone, together)}`);
    const concurrent = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        post(`${server.url}/embed`, { inputs: i % 2 === 0 ? long : 'short text' }),
      ),
    );
    for (const [i, r] of concurrent.entries()) {
      assert.equal(r.status, 200);
      if (i % 2 === 1) assert.ok(cosine(alone, (r.json as number[][])[0]!) > 0.99999);
    }
  });

  test('too long: 413 naming the input and the limit, unless truncate is asked', async () => {
    const tei = await post(`${server.url}/embed`, { inputs: ['ok', LONG] });
    assert.equal(tei.status, 413);
    assert.match((tei.json as Json).error as string, /inputs\[1\] has \d+ tokens; the model's limit is 512/);
    const oai = await post(`${server.url}/v1/embeddings`, { input: ['ok', LONG] });
    assert.equal(oai.status, 413);
    assert.equal(((oai.json as Json).error as Json).param, 'input[1]');
    const cut = await post(`${server.url}/embed`, { inputs: ['ok', LONG], truncate: true });
    assert.equal(cut.status, 200);
    assert.equal((cut.json as unknown[]).length, 2);
  });

  test('bad input: a 4xx naming the field, in the API’s error shape; the server goes on', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/embed', {}, 422, /inputs is required/],
      ['/embed', { inputs: [] }, 422, /inputs is an empty array/],
      ['/embed', { inputs: '' }, 422, /inputs is an empty string/],
      ['/embed', { inputs: ['a', 7] }, 422, /inputs\[1\] must be a string, got 7/],
      ['/embed', { inputs: 'a', normalize: 'yes' }, 422, /normalize must be true or false/],
      ['/embed', [1, 2], 422, /the body must be a JSON object/],
      ['/embed', '{"inputs": ["a"', 400, /not valid JSON/],
      ['/v1/embeddings', { input: ['a', ''] }, 400, /input\[1\] is an empty string/],
      [
        '/v1/embeddings',
        { input: 'a', model: 'gpt-4' },
        404,
        /model "gpt-4" is not served here; models: mini/,
      ],
      ['/v1/embeddings', { input: 'a', dimensions: 0 }, 400, /dimensions must be an integer from 1 to 384/],
      ['/v1/embeddings', { input: 'a', encoding_format: 'hex' }, 400, /encoding_format/],
      ['/v1/embeddings', { input: ['a', [1, 2]] }, 400, /input\[1\] must be a string, got \[1,2\]/],
      [
        '/v1/embeddings',
        { input: [[101, 102], 'a'] },
        400,
        /input\[1\] must be an array of token ids, got "a"/,
      ],
      [
        '/v1/embeddings',
        { input: [101, 2.5, 102] },
        400,
        /input\[1\] must be a token id \(an integer ≥ 0\), got 2.5/,
      ],
      ['/v1/embeddings', { input: [[101, -1]] }, 400, /input\[0\]\[1\] must be a token id/],
      ['/v1/embeddings', { input: [[]] }, 400, /input\[0\] is an empty array of token ids/],
      [
        '/v1/embeddings',
        { input: [101, 99_999_999] },
        400,
        /input\[1\]: token id 99999999 is not in the vocabulary of model "mini"/,
      ],
      [
        '/embed',
        { inputs: [[101, 99_999_999]] },
        422,
        /inputs\[0\]\[1\]: token id 99999999 is not in the vocabulary/,
      ],
      ['/tokenize', { inputs: [101, 102] }, 422, /\/tokenize takes text, not token ids/],
    ];
    for (const [path, body, status, message] of cases) {
      const r = await post(`${server.url}${path}`, body);
      assert.equal(r.status, status, `${path} ${JSON.stringify(body)}`);
      const error = (r.json as Json).error;
      const text = typeof error === 'string' ? error : ((error as Json).message as string);
      assert.match(text, message);
      if (path.startsWith('/v1/')) assert.equal((error as Json).type, 'invalid_request_error');
      else assert.equal((r.json as Json).error_type, 'Validation');
    }
    assert.equal((await post(`${server.url}/embed`, { inputs: 'still fine' })).status, 200);
  });

  test('a client batch larger than the queue is split, not refused', async () => {
    const inputs = Array.from({ length: 150 }, (_, i) => `sentence number ${i}`);
    const r = await post(`${server.url}/v1/embeddings`, { input: inputs });
    assert.equal(r.status, 200);
    const data = (r.json as Json).data as Json[];
    assert.deepEqual(
      data.map((d) => d.index),
      inputs.map((_, i) => i),
    );
  });

  test('a request whose client went away is dropped before inference', async () => {
    const service = server.state.services.get('mini')!;
    const before = service.stats.abandoned;
    const busy = Array.from({ length: 16 }, (_, i) => `${LONG.slice(0, 2000)} ${i}`);
    const first = post(`${server.url}/embed`, { inputs: busy, truncate: true });
    const controller = new AbortController();
    const second = fetch(`${server.url}/embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: busy, truncate: true }),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    // The second request is queued behind the first (one batch at a time); abort it while it waits.
    await new Promise((r) => setTimeout(r, 60));
    controller.abort();
    assert.ok((await second) instanceof Error);
    assert.equal((await first).status, 200);
    for (let i = 0; i < 50 && service.stats.abandoned === before; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(service.stats.abandoned, before + 1);
  });

  test('a full queue answers 429 with Retry-After', async () => {
    const burst = await Promise.all(
      Array.from({ length: 12 }, () =>
        post(`${server.url}/embed`, { inputs: Array(15).fill(LONG), truncate: true }),
      ),
    );
    const refused = burst.filter((r) => r.status === 429);
    assert.ok(refused.length > 0, 'some requests are refused');
    assert.ok(
      burst.some((r) => r.status === 200),
      'some are served',
    );
    for (const r of refused) {
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.equal((r.json as Json).error_type, 'Overloaded');
    }
  });

  test('/metrics: Prometheus text with request, queue, tokenization, inference and batch metrics', async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    for (const name of [
      'pitlane_embed_requests_total{route="/embed",status="200"}',
      'pitlane_embed_request_duration_seconds_count{route="/v1/embeddings"}',
      'pitlane_embed_queue_size{model="mini"}',
      'pitlane_embed_queue_wait_seconds_count{model="mini"}',
      'pitlane_embed_tokenization_seconds_count{model="mini"}',
      'pitlane_embed_inference_seconds_count{model="mini"}',
      'pitlane_embed_batch_size_count{model="mini"}',
      'pitlane_embed_batch_tokens_sum{model="mini"}',
      'pitlane_embed_abandoned_requests{model="mini"}',
    ]) {
      assert.ok(text.includes(name), name);
    }
  });

  test('/info describes the model and the limits, with the model path relative to the repository', async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as Json;
    assert.equal(info.model_id, 'mini');
    assert.equal(info.dimension, 384);
    assert.equal(info.max_input_length, 512);
    assert.equal(info.tokenization_workers, 1);
    assert.equal(info.model_path, 'minilm-l6-arch/model.onnx');
    assert.equal(info.max_client_batch_size, 256);
    assert.equal(info.max_request_tokens, EMBED_LIMIT_DEFAULTS.maxRequestTokens);
    assert.equal(info.max_concurrent_requests, EMBED_LIMIT_DEFAULTS.maxConcurrentRequests);
    assert.equal(info.max_body_bytes, 1 << 20);
    // Without a repository folder, only the file name: never the server's absolute path.
    const bare = await serve(spec, 2048);
    try {
      const bareInfo = (await (await fetch(`${bare.url}/info`)).json()) as Json;
      assert.equal(bareInfo.model_path, 'model.onnx');
      assert.equal(bareInfo.max_client_batch_size, EMBED_LIMIT_DEFAULTS.maxClientBatchSize);
    } finally {
      await bare.close();
    }
  });

  test('a body over the limit is 413 naming the limit and its flag; the server goes on', async () => {
    const small = await serve(spec, 2048);
    try {
      const r = await post(`${small.url}/v1/embeddings`, { input: 'x'.repeat(5000) });
      assert.equal(r.status, 413);
      assert.equal(
        ((r.json as Json).error as Json).message,
        'the request body is over the limit of 2 KiB (--max-body-mb)',
      );
      const tei = await post(`${small.url}/embed`, { inputs: 'x'.repeat(5000) });
      assert.equal(tei.status, 413);
      assert.equal((tei.json as Json).error_type, 'Validation');
      assert.equal((await post(`${small.url}/embed`, { inputs: 'still served' })).status, 200);
    } finally {
      await small.close();
    }
  });

  test('too many inputs: 422 (TEI) / 400 (OpenAI) in TEI’s words, naming the flag; the server goes on', async () => {
    const tight = await serve(spec, 1 << 20, { maxClientBatchSize: 4 });
    try {
      const five = ['a', 'b', 'c', 'd', 'e'];
      const tei = await post(`${tight.url}/embed`, { inputs: five });
      assert.equal(tei.status, 422);
      assert.deepEqual(tei.json, {
        error:
          'batch size 5 > maximum allowed batch size 4: send at most 4 inputs per request (--max-client-batch-size)',
        error_type: 'Validation',
      });
      const tokenize = await post(`${tight.url}/tokenize`, { inputs: five });
      assert.equal(tokenize.status, 422);
      const oai = await post(`${tight.url}/v1/embeddings`, { input: five });
      assert.equal(oai.status, 400);
      const error = (oai.json as Json).error as Json;
      assert.match(error.message as string, /maximum allowed batch size 4: .*\(--max-client-batch-size\)$/);
      assert.equal(error.param, 'input');
      // A body of 200,000 values is refused before it is parsed, naming the limit too.
      const many = `{"inputs":[${'"a",'.repeat(199_999)}"a"]}`;
      const refused = await post(`${tight.url}/embed`, many);
      assert.equal(refused.status, 422);
      assert.equal(
        (refused.json as Json).error,
        'the body holds 200,002 JSON values; a request takes at most 4 inputs (--max-client-batch-size) of at most ' +
          '16,384 tokens in all (--max-request-tokens)',
      );
      const objects = await post(`${tight.url}/v1/embeddings`, `{"input":[${'{},'.repeat(99_999)}{}]}`);
      assert.equal(objects.status, 400);
      assert.match(((objects.json as Json).error as Json).message as string, /--max-client-batch-size/);
      assert.equal(tight.state.services.get('mini')!.tokenizer.counts.threaded, 0, 'nothing was tokenized');
      assert.equal((await post(`${tight.url}/embed`, { inputs: five.slice(0, 4) })).status, 200);
    } finally {
      await tight.close();
    }
  });

  test('too many tokens: 422 / 400 naming the limit and its flag, counted as they are tokenized', async () => {
    const tight = await serve(spec, 1 << 20, { maxRequestTokens: 40 });
    try {
      // Each input is 3 words + [CLS] and [SEP]: 5 tokens; 9 of them are 45 tokens.
      const inputs = Array.from({ length: 9 }, () => 'one two three');
      const tei = await post(`${tight.url}/embed`, { inputs });
      assert.equal(tei.status, 422);
      assert.equal(
        (tei.json as Json).error,
        'the inputs hold at least 45 tokens; the limit is 40 tokens per request (--max-request-tokens)',
      );
      const oai = await post(`${tight.url}/v1/embeddings`, { input: inputs });
      assert.equal(oai.status, 400);
      assert.match(((oai.json as Json).error as Json).message as string, /--max-request-tokens/);
      const tok = await post(`${tight.url}/tokenize`, { inputs });
      assert.equal(tok.status, 422);
      // Truncated inputs count as cut: 9 inputs of 700 words cut to 512 tokens are far over.
      const long = await post(`${tight.url}/embed`, { inputs: [LONG], truncate: true });
      assert.equal(long.status, 422);
      assert.match((long.json as Json).error as string, /at least 512 tokens/);
      assert.equal((await post(`${tight.url}/embed`, { inputs: inputs.slice(0, 8) })).status, 200);
    } finally {
      await tight.close();
    }
  });

  test('requests in flight over the limit: 429 + Retry-After before the body is read; then served', async () => {
    const tight = await serve(spec, 1 << 20, { maxConcurrentRequests: 1 });
    const port = new URL(tight.url).port;
    try {
      // The first request sends half its body and waits: it is in flight.
      const body = JSON.stringify({ inputs: ['held open'] });
      const first = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/embed',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      const answered = new Promise<number>((resolve, reject) => {
        first.once('response', (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        });
        first.once('error', reject);
      });
      first.write(body.slice(0, 5));
      // Wait until the server has it (its count is taken on arrival).
      let second = await post(`${tight.url}/embed`, { inputs: 'second' });
      for (let i = 0; i < 50 && second.status !== 429; i++) {
        await new Promise((r) => setTimeout(r, 20));
        second = await post(`${tight.url}/embed`, { inputs: 'second' });
      }
      assert.equal(second.status, 429);
      assert.equal(second.headers.get('retry-after'), '1');
      assert.equal((second.json as Json).error_type, 'Overloaded');
      assert.match(
        (second.json as Json).error as string,
        /the limit is 1 requests \(--max-concurrent-requests\)/,
      );
      const oai = await post(`${tight.url}/v1/embeddings`, { input: 'second' });
      assert.equal(oai.status, 429);
      assert.equal(((oai.json as Json).error as Json).code, 'rate_limit_exceeded');
      // GETs are not counted.
      assert.equal((await fetch(`${tight.url}/health`)).status, 200);
      first.end(body.slice(5));
      assert.equal(await answered, 200);
      assert.equal((await post(`${tight.url}/embed`, { inputs: 'now served' })).status, 200);
    } finally {
      await tight.close();
    }
  });
  test("a model on the server's own thread (instance_kind inline) answers as on a thread of its own", async () => {
    const onThread = server.state.services.get(spec.id) as EmbeddingService;
    const inline = await EmbeddingService.load(spec, { tokenizerThreads: 0, placement: 'inline' });
    try {
      const texts = [
        'a short query',
        'The quick brown fox jumps over the lazy dog. '.repeat(8),
        'ünïcödé — ✓',
        '',
      ];
      // One at a time and as one batch (padded to the longest): the same vectors and token counts either way.
      for (const batch of [...texts.map((t) => [t]), texts]) {
        const a = await onThread.embed(batch);
        const b = await inline.embed(batch);
        assert.deepEqual(b.tokens, a.tokens);
        a.vectors.forEach((v, i) =>
          assert.ok(cosine(v, b.vectors[i] as Float32Array) > 0.99999, `text ${i}`),
        );
      }
      // Refusals are the same too: the text and the limit named.
      await assert.rejects(
        inline.embed(['x', LONG]),
        (e: unknown) => e instanceof InputTooLongError && e.index === 1,
      );
    } finally {
      await inline.close();
    }
  });
});
