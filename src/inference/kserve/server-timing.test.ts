import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatServerTiming, parseServerTiming } from './server-timing.js';

describe('Server-Timing', () => {
  test('the model server writes decode, the engine split and encode, in ms; it parses back', () => {
    const header = formatServerTiming(
      0.25,
      { queueMs: 1, inputMs: 0.125, inferMs: 9.5, outputMs: 0.0625 },
      2,
    );
    assert.equal(
      header,
      'decode;dur=0.250, queue;dur=1.000, input;dur=0.125, infer;dur=9.500, output;dur=0.063, encode;dur=2.000',
    );
    assert.deepEqual(parseServerTiming(header), {
      decode: 0.25,
      queue: 1,
      input: 0.125,
      infer: 9.5,
      output: 0.063,
      encode: 2,
    });
    assert.equal(formatServerTiming(1, undefined, 2), 'decode;dur=1.000, encode;dur=2.000');
  });

  test('W3C grammar: descriptions with commas, a metric named twice, several headers, what is malformed', () => {
    assert.deepEqual(
      parseServerTiming(
        'db;desc="a, b;c";dur=53, cache;desc="hit", db;dur=1, total;dur = 7.5 , bad name;dur=1, x;dur=abc',
      ),
      { db: 53, total: 7.5 },
    );
    assert.deepEqual(parseServerTiming(['a;dur=1', 'b;DUR="2"']), { a: 1, b: 2 });
    assert.deepEqual(parseServerTiming(undefined), {});
    assert.deepEqual(parseServerTiming(''), {});
  });
});
