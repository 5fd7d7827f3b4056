import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageReader, grpcTimeoutHeader, percentDecode } from './grpc-client.js';

/** A length-prefixed message (flag 0 unless given). */
function framed(body: Buffer, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(flag, 0);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

describe('gRPC client: reading length-prefixed messages', () => {
  test('messages split anywhere, their prefixes too, come out whole and in order', () => {
    const stream = Buffer.concat([
      framed(Buffer.from('hello')),
      framed(Buffer.alloc(0)),
      framed(Buffer.from('world!')),
    ]);
    for (let size = 1; size <= stream.length; size++) {
      const reader = new MessageReader(100);
      for (let at = 0; at < stream.length; at += size) {
        assert.equal(reader.push(stream.subarray(at, at + size)), null);
      }
      assert.equal(reader.pending, false, `chunks of ${size}`);
      assert.deepEqual(
        reader.messages.map((m) => m.toString()),
        ['hello', '', 'world!'],
        `chunks of ${size}`,
      );
    }
  });

  test('a message not finished, or its prefix, is pending', () => {
    const whole = framed(Buffer.from('abc'));
    for (const cut of [2, 5, 7]) {
      const reader = new MessageReader(100);
      reader.push(whole.subarray(0, cut));
      assert.equal(reader.pending, true, `cut at ${cut}`);
      assert.deepEqual(reader.messages, []);
    }
  });

  test('refused from the prefix: compressed, an unknown flag, over the limit', () => {
    assert.match(
      new MessageReader(100).push(framed(Buffer.from('x'), 1)) ?? '',
      /the message is compressed, and no compression was asked for/,
    );
    assert.match(new MessageReader(100).push(framed(Buffer.from('x'), 7)) ?? '', /flag byte is 7/);
    const big = Buffer.alloc(5);
    big.writeUInt32BE(0xffffffff, 1);
    assert.equal(
      new MessageReader(1 << 20).push(big),
      'the message is 4294967295 bytes, over the limit of 1048576 (maxReceiveBytes)',
    );
    assert.equal(new MessageReader(3).push(framed(Buffer.from('abc'))), null);
  });
});

describe('gRPC client: headers', () => {
  test('grpc-timeout: at most 8 digits, in the finest unit that fits', () => {
    assert.equal(grpcTimeoutHeader(60_000), '60000m');
    assert.equal(grpcTimeoutHeader(0.4), '1m');
    assert.equal(grpcTimeoutHeader(99_999_999), '99999999m');
    assert.equal(grpcTimeoutHeader(100_000_000), '100000S');
    assert.equal(grpcTimeoutHeader(1e12), '277778H');
  });

  test('grpc-message is percent-decoded as UTF-8; a stray % stays', () => {
    assert.equal(percentDecode('plain text'), 'plain text');
    assert.equal(percentDecode('a%20b%3A%20%E2%9C%93'), 'a b: ✓');
    assert.equal(percentDecode('100% sure %zz %4'), '100% sure %zz %4');
  });
});
