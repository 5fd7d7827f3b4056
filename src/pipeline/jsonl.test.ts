import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { JsonlWriter, readJsonl } from './jsonl.js';
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

test('JsonlWriter batches writes and reports backpressure until the stream drains', async () => {
  const chunks: string[] = [];
  let release: (() => void) | null = null;
  const slow = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      release = cb;
    },
  });
  const writer = new JsonlWriter(slow, 8);
  assert.equal(writer.write({ a: 1 }), writer, 'the first batch fills the stream buffer');
  assert.equal(writer.write(2), writer, 'still blocked');
  const ready = writer.whenReady();
  (release as unknown as () => void)();
  await ready;
  const end = writer.end();
  setImmediate(() => (release as unknown as () => void)());
  await end;
  assert.equal(chunks.join(''), '{"a":1}\n2\n');
  assert.equal(writer.count, 2);
});
