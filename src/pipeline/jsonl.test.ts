import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { JsonlWriter, MAX_JSON_DEPTH, jsonDepthExceeds, readJsonl } from './jsonl.js';
import { InputParseFailure } from './node.js';

test('readJsonl: values, blank lines skipped, CRLF, bad lines reported with their line number, no final newline', async () => {
  const stream = Readable.from(['1\n\n{"a":', '[2]}\r\n  \nnope\r\n"x"\nNaN\n3']);
  const out: unknown[] = [];
  for await (const v of readJsonl(stream)) out.push(v);
  assert.deepEqual(out, [
    1,
    { a: [2] },
    new InputParseFailure(5, 'nope'),
    'x',
    new InputParseFailure(7, 'NaN'),
    3,
  ]);
});

test('readJsonl stops when the signal aborts, even while waiting for input', async () => {
  const stream = new PassThrough();
  const controller = new AbortController();
  stream.write('1\n');
  const out: unknown[] = [];
  const done = (async () => {
    for await (const v of readJsonl(stream, controller.signal)) out.push(v);
  })();
  setTimeout(() => controller.abort(), 20);
  await done;
  assert.deepEqual(out, [1]);
});

test('JsonlWriter batches writes into the sink and ends with what is pending', () => {
  const writes: string[] = [];
  const writer = new JsonlWriter({ write: (t) => void writes.push(t) }, undefined, 8);
  writer.write({ a: 1 });
  assert.deepEqual(writes, ['{"a":1}\n'], 'a batch of 8 bytes or more is written at once');
  writer.write(2);
  assert.equal(writes.length, 1, 'a short line waits for the batch');
  writer.end();
  assert.equal(writes.join(''), '{"a":1}\n2\n');
  assert.equal(writer.count, 2);
});

test('JsonlWriter: a failed write is reported once, later values are dropped, end() throws it', () => {
  const failures: unknown[] = [];
  const disk = new Error('ENOSPC');
  let calls = 0;
  const writer = new JsonlWriter(
    {
      write: () => {
        calls++;
        throw disk;
      },
    },
    (e) => failures.push(e),
    1,
  );
  assert.equal(writer.write(1), null);
  assert.equal(writer.write(2), null);
  assert.deepEqual(failures, [disk]);
  assert.equal(calls, 1, 'nothing more is written after a failure');
  assert.equal(writer.failed, disk);
  assert.throws(() => writer.end(), /ENOSPC/);
});

test('JsonlWriter: a value that is not JSON-writable throws an error that says so (the item error of its node)', () => {
  const writer = new JsonlWriter({ write: () => {} });
  assert.throws(() => writer.write({ n: 1n }), /the output cannot be written as JSON/);
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.throws(() => writer.write(deep), /the output cannot be written as JSON/);
  assert.equal(writer.failed, null, 'a bad value is not a failure of the output');
});

test('readJsonl: a line split across many chunks and a line spanning chunks with others around it', async () => {
  const big = JSON.stringify({ s: 'x'.repeat(100_000) });
  const text = `1\n${big}\n2\n${big}`;
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 777) chunks.push(text.slice(i, i + 777));
  const out: unknown[] = [];
  for await (const v of readJsonl(Readable.from(chunks))) out.push(v);
  assert.deepEqual(out, [1, JSON.parse(big), 2, JSON.parse(big)]);
});

test('readJsonl: multi-byte characters split between chunks are decoded whole', async () => {
  const bytes = Buffer.from('"é😀"\n"ü"\n');
  const chunks = [...bytes].map((b) => Buffer.from([b]));
  const out: unknown[] = [];
  for await (const v of readJsonl(Readable.from(chunks))) out.push(v);
  assert.deepEqual(out, ['é😀', 'ü']);
});

test('readJsonl: a line over the length limit is one failure with its line number; the next lines go on', async () => {
  const long = '"' + 'y'.repeat(5000) + '"';
  for (const chunkSize of [100, 1000, 100_000]) {
    const text = `1\n${long}\n2\n${long}`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += chunkSize) chunks.push(text.slice(i, i + chunkSize));
    const out: unknown[] = [];
    for await (const v of readJsonl(Readable.from(chunks), {
      maxLineBytes: 1000,
      maxLineFlag: '--max-line-mb',
    })) {
      out.push(v);
    }
    assert.equal(out.length, 4, `chunks of ${chunkSize}`);
    assert.equal(out[0], 1);
    assert.equal(out[2], 2);
    for (const [i, line] of [
      [1, 2],
      [3, 4],
    ] as const) {
      const f = out[i] as InputParseFailure;
      assert.ok(f instanceof InputParseFailure, `chunks of ${chunkSize}: line ${line} fails`);
      assert.equal(f.line, line);
      assert.match(f.reason ?? '', /longer than the limit of 1000 bytes \(--max-line-mb\)/);
      assert.ok(f.text.length <= 201 && f.text.startsWith('"yyy'), 'only the start of the line is kept');
    }
  }
});

test('readJsonl: a line nested deeper than MAX_JSON_DEPTH is a failure; the same depth minus one is a value', async () => {
  const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
  const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
  const strings = '["' + '['.repeat(5000) + '"]'; // brackets inside a string do not nest
  const out: unknown[] = [];
  for await (const v of readJsonl(Readable.from([`1\n${deep}\n${ok}\n${strings}\n3\n`]))) out.push(v);
  assert.equal(out.length, 5);
  assert.ok(out[1] instanceof InputParseFailure);
  assert.equal(out[1].line, 2);
  assert.match(out[1].reason ?? '', /nested deeper than 256 levels/);
  assert.ok(Array.isArray(out[2]));
  assert.deepEqual(out[3], ['['.repeat(5000)]);
  assert.equal(out[4], 3);
});

test('jsonDepthExceeds counts only brackets outside strings, escapes included', () => {
  assert.equal(jsonDepthExceeds('[[[]]]', 3), false);
  assert.equal(jsonDepthExceeds('[[[[]]]]', 3), true);
  assert.equal(jsonDepthExceeds('["\\"", [[[]]]]', 3), true);
  assert.equal(jsonDepthExceeds('["\\"[[[[", []]', 3), false);
});

test('readJsonl: a last line of only blanks without a newline is skipped (found by the fuzz suite)', async () => {
  const out: unknown[] = [];
  for await (const v of readJsonl(Readable.from(['1\n', '\t']))) out.push(v);
  assert.deepEqual(out, [1]);
});
